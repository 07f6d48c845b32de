"""Camera sensor table and pinhole intrinsics for a frame.

Priority (``frame_intrinsics``): DJI calibrated XMP intrinsics > focal length (mm) + sensor size from
the table below > FocalLengthIn35mmFilm. Intrinsics are always for the DECODED pixel size: calibrated
values (given for the full-resolution capture) are scaled when the file was resized, and
table/35 mm values are computed from the decoded width. Pixels are assumed square.

Sensor sizes: the nominal active-area size of the sensor's optical format as published by DJI's
product specification pages (format, resolution, focal length / 35 mm equivalent); the ``source``
string of each entry says which. Optical-format conventions: 1/2.3" = 6.17 x 4.55 mm, 1/2" = 6.4 x
4.8 mm, 1/1.7" = 7.6 x 5.7 mm, 1/1.3" = 9.6 x 7.2 mm, 1" = 13.2 x 8.8 mm, 4/3 = 17.3 x 13.0 mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from patrol.ingest.frame import Intrinsics


@dataclass(frozen=True)
class Lens:
    sensor_w_mm: float
    sensor_h_mm: float
    focal_mm: float  # nominal focal length
    focal_range_mm: tuple[float, float] | None = None  # zoom lenses: the EXIF focal length picks the lens

    def __post_init__(self) -> None:
        if not (self.sensor_w_mm > 0 and self.sensor_h_mm > 0 and self.focal_mm > 0):
            raise ValueError(f"sensor size and focal length must be positive: {self}")

    def covers(self, focal_mm: float) -> bool:
        lo, hi = self.focal_range_mm or (self.focal_mm, self.focal_mm)
        return lo * 0.95 <= focal_mm <= hi * 1.05


@dataclass(frozen=True)
class CameraSpec:
    model: str  # EXIF Model as DJI writes it
    name: str
    lenses: tuple[Lens, ...]
    source: str

    def lens_for(self, focal_mm: float | None) -> Lens:
        if focal_mm is None or len(self.lenses) == 1:
            return self.lenses[0]
        for lens in self.lenses:
            if lens.covers(focal_mm):
                return lens
        return min(self.lenses, key=lambda lens: abs(lens.focal_mm - focal_mm))


_ONE_2_3 = (6.17, 4.55)
_ONE_2 = (6.4, 4.8)
_ONE_1_7 = (7.6, 5.7)
_ONE_1_3 = (9.6, 7.2)
_ONE_INCH = (13.2, 8.8)
_FOUR_THIRDS = (17.3, 13.0)


def _lens(size: tuple[float, float], focal: float, rng: tuple[float, float] | None = None) -> Lens:
    return Lens(size[0], size[1], focal, rng)


CAMERAS: tuple[CameraSpec, ...] = (
    CameraSpec("FC220", "DJI Mavic Pro", (_lens(_ONE_2_3, 4.73),),
               "DJI Mavic Pro specs: 1/2.3in CMOS, 12.35 MP, 26 mm equivalent; EXIF FocalLength 4.73 mm"),
    CameraSpec("FC6310", "DJI Phantom 4 Pro / Advanced", (_lens(_ONE_INCH, 8.8),),
               "DJI Phantom 4 Pro specs: 1in CMOS 20 MP, 8.8 mm (24 mm equivalent)"),
    CameraSpec("FC6310R", "DJI Phantom 4 RTK", (_lens(_ONE_INCH, 8.8),),
               "DJI Phantom 4 RTK specs: 1in CMOS 20 MP, 8.8 mm (24 mm equivalent)"),
    CameraSpec("FC6310S", "DJI Phantom 4 Pro V2.0", (_lens(_ONE_INCH, 8.8),),
               "DJI Phantom 4 Pro V2.0 specs: 1in CMOS 20 MP, 8.8 mm (24 mm equivalent)"),
    CameraSpec("FC330", "DJI Phantom 4", (_lens(_ONE_2_3, 3.61),),
               "DJI Phantom 4 specs: 1/2.3in CMOS 12.4 MP, 20 mm equivalent (3.61 mm)"),
    CameraSpec("FC7303", "DJI Mini 2", (_lens(_ONE_2_3, 4.49),),
               "DJI Mini 2 specs: 1/2.3in CMOS 12 MP, 24 mm equivalent (4.49 mm)"),
    CameraSpec("FC6360", "DJI P4 Multispectral (RGB)", (Lens(4.87, 3.96, 5.74),),
               "DJI P4 Multispectral specs: 1/2.9in CMOS, 1600x1300, 5.74 mm (40 mm equivalent); "
               "size from the 40 mm equivalent (crop 6.97) at 5:4, as the sheet gives no mm size"),
    CameraSpec("L1D-20c", "DJI Mavic 2 Pro (Hasselblad)", (_lens(_ONE_INCH, 10.26),),
               "DJI Mavic 2 Pro specs: 1in CMOS 20 MP, 28 mm equivalent (10.26 mm)"),
    CameraSpec("FC2204", "DJI Mavic 2 Zoom", (_lens(_ONE_2_3, 4.3, (4.3, 8.6)),),
               "DJI Mavic 2 Zoom specs: 1/2.3in CMOS 12 MP, 24-48 mm equivalent (4.3-8.6 mm)"),
    CameraSpec("FC3411", "DJI Air 2S", (_lens(_ONE_INCH, 8.38),),
               "DJI Air 2S specs: 1in CMOS 20 MP, 22 mm equivalent (8.38 mm)"),
    CameraSpec("FC3170", "DJI Mavic Air 2", (_lens(_ONE_2, 4.49),),
               "DJI Mavic Air 2 specs: 1/2in CMOS 48 MP, 24 mm equivalent (4.49 mm)"),
    CameraSpec("FC3582", "DJI Mini 3 Pro", (_lens(_ONE_1_3, 6.72),),
               "DJI Mini 3 Pro specs: 1/1.3in CMOS 48 MP, 24 mm equivalent (6.72 mm)"),
    CameraSpec("L2D-20c", "DJI Mavic 3 / Classic / Pro (Hasselblad)", (_lens(_FOUR_THIRDS, 12.29),),
               "DJI Mavic 3 specs: 4/3 CMOS 20 MP, 24 mm equivalent (12.29 mm)"),
    CameraSpec("M3E", "DJI Mavic 3 Enterprise (wide)", (_lens(_FOUR_THIRDS, 12.29),),
               "DJI Mavic 3 Enterprise specs: wide 4/3 CMOS 20 MP, 24 mm equivalent (12.29 mm)"),
    CameraSpec("M3M", "DJI Mavic 3 Multispectral (RGB)", (_lens(_FOUR_THIRDS, 12.29),),
               "DJI Mavic 3M specs: RGB 4/3 CMOS 20 MP, 24 mm equivalent (12.29 mm)"),
    CameraSpec("M3T", "DJI Mavic 3 Thermal (wide)", (_lens(_ONE_2, 4.44),),
               "DJI Mavic 3T specs: wide 1/2in CMOS 48 MP, 24 mm equivalent (4.44 mm)"),
    CameraSpec("M30", "DJI Matrice 30 (wide / zoom)", (_lens(_ONE_2, 4.5), _lens(_ONE_2, 21.0, (21.0, 75.0))),
               "DJI M30 specs: wide 1/2in CMOS 48 MP, 24 mm equivalent (4.5 mm); zoom 1/2in CMOS 48 MP, 21-75 mm"),
    CameraSpec("M30T", "DJI Matrice 30T (wide / zoom)", (_lens(_ONE_2, 4.5), _lens(_ONE_2, 21.0, (21.0, 75.0))),
               "DJI M30T specs: wide 1/2in CMOS 48 MP, 24 mm equivalent (4.5 mm); zoom 1/2in CMOS 48 MP, 21-75 mm"),
    CameraSpec("ZH20", "DJI Zenmuse H20 (wide / zoom)",
               (_lens(_ONE_2_3, 4.5), _lens(_ONE_1_7, 6.83, (6.83, 119.9))),
               "DJI Zenmuse H20 specs: wide 1/2.3in CMOS 12 MP, 4.5 mm; zoom 1/1.7in CMOS 20 MP, 6.83-119.9 mm"),
    CameraSpec("ZH20T", "DJI Zenmuse H20T (wide / zoom)",
               (_lens(_ONE_2_3, 4.5), _lens(_ONE_1_7, 6.83, (6.83, 119.9))),
               "DJI Zenmuse H20T specs: wide 1/2.3in CMOS 12 MP, 4.5 mm; zoom 1/1.7in CMOS 20 MP, 6.83-119.9 mm"),
)

_BY_MODEL = {c.model.upper(): c for c in CAMERAS}


def find_camera(model: str | None) -> CameraSpec | None:
    """The table entry for an EXIF Model string (case and padding ignored), or None."""
    if not model:
        return None
    return _BY_MODEL.get(model.strip().upper())


FULL_FRAME_DIAG_MM = math.hypot(36.0, 24.0)


def _reference_diag_px(w: int, h: int) -> float:
    # The 35 mm equivalent is quoted for the sensor's native format (4:3 or 3:2). A frame wider
    # than 3:2 (DJI and phone 16:9 modes) is a height crop of the 4:3 frame: use that diagonal.
    if w / h > 1.5 + 1e-6:
        return math.hypot(w, w * 3 / 4)
    if h / w > 1.5 + 1e-6:
        return math.hypot(h * 3 / 4, h)
    return math.hypot(w, h)


def frame_intrinsics(
    size_wh: tuple[int, int] | None,
    *,
    model: str | None = None,
    focal_mm: float | None = None,
    focal35_mm: float | None = None,
    calibrated_focal_px: float | None = None,
    calibrated_cx_px: float | None = None,
    calibrated_cy_px: float | None = None,
    capture_wh: tuple[int, int] | None = None,
) -> tuple[Intrinsics | None, str | None]:
    """Pinhole intrinsics for the decoded image, or (None, reason).

    ``capture_wh`` is the size the camera wrote (EXIF ExifImageWidth/Length); when it differs from
    ``size_wh`` the file was resized and calibrated pixel values are scaled by the width ratio.
    """
    if size_wh is None:
        return None, "no decoded pixel size (image header unreadable)"
    w, h = size_wh
    cx, cy = w / 2.0, h / 2.0
    if calibrated_focal_px is not None and calibrated_focal_px > 0:
        scale = 1.0
        if capture_wh and capture_wh[0] > 0 and capture_wh != size_wh:
            scale = w / capture_wh[0]
        f = calibrated_focal_px * scale
        ccx = calibrated_cx_px * scale if calibrated_cx_px is not None else None
        ccy = calibrated_cy_px * scale if calibrated_cy_px is not None else None
        # DJI writes the optical centre in pixels of the full image; ignore it when implausible.
        if ccx is None or ccy is None or not (0 < ccx < w and 0 < ccy < h):
            ccx, ccy = cx, cy
        return Intrinsics(f, f, ccx, ccy, (w, h), "xmp-calibrated"), None
    spec = find_camera(model)
    if spec is not None and focal_mm is not None and focal_mm > 0:
        lens = spec.lens_for(focal_mm)
        f = focal_mm * w / lens.sensor_w_mm
        return Intrinsics(f, f, cx, cy, (w, h), "camera-table"), None
    if focal35_mm is not None and focal35_mm > 0:
        f = focal35_mm * _reference_diag_px(w, h) / FULL_FRAME_DIAG_MM
        return Intrinsics(f, f, cx, cy, (w, h), "focal35"), None
    if spec is not None:
        return None, f"camera {spec.model} is in the table but the photo has no usable FocalLength"
    what = f"camera model {model!r} not in the sensor table" if model else "no camera model"
    return None, f"no intrinsics: {what} and no FocalLengthIn35mmFilm or calibrated XMP focal length"
