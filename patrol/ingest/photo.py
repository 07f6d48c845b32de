"""One photo -> FrameMeta: JPEG (EXIF + XMP + SOF pixel size), HEIC (EXIF + ispe size) or TIFF (EXIF +
XMP tag 700 + IFD0 size).

``build_frame`` is the pure core that merges the sources (EXIF first, XMP fallbacks, DJI pose
fields from XMP); ``read_frame`` is the file edge.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
import os
from pathlib import Path

from patrol.errors import BadImage, MissingGeotag
from patrol.ingest.cameras import frame_intrinsics
from patrol.ingest.exif import (
    ExifFields,
    exif_fields,
    flir_datetime,
    parse_exif_datetime,
    qvci_datetime,
    read_exif,
    read_exif_tags,
)
from patrol.ingest.frame import FrameMeta
from patrol.ingest.heic import is_heif, read_heif_size
from patrol.ingest.jpeg import is_jpeg, read_jpeg_header
from patrol.ingest.pixels import DEFAULT_MAX_IMAGE_PX, ImageHeader, check_pixel_limit, decode_image, jpeg_end_problem
from patrol.ingest.tiff import is_tiff, read_tiff_header
from patrol.ingest.xmp import parse_xmp, xmp_float

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".heic", ".heif", ".tif", ".tiff"})


def _first_float(xmp: dict[str, str], *keys: str) -> float | None:
    for k in keys:
        v = xmp_float(xmp, k)
        if v is not None:
            return v
    return None


def _xmp_time(xmp: dict[str, str]) -> datetime | None:
    v = xmp.get("exif:DateTimeOriginal")
    return parse_exif_datetime(v) if v else None


def build_frame(
    path: str,
    size_wh: tuple[int, int] | None,
    exif: ExifFields,
    xmp: dict[str, str],
    extra_time: datetime | None = None,
) -> FrameMeta:
    """Merge EXIF and XMP fields into a FrameMeta (pure). EXIF wins where both carry a value."""
    lat, lon = exif.lat_deg, exif.lon_deg
    if lat is None or lon is None:
        xlat = _first_float(xmp, "drone-dji:GpsLatitude", "drone-dji:Latitude", "sensefly:Latitude")
        xlon = _first_float(
            xmp, "drone-dji:GpsLongitude", "drone-dji:GpsLongtitude", "drone-dji:Longitude", "sensefly:Longitude"
        )
        if xlat is not None and xlon is not None and -90 <= xlat <= 90 and -180 <= xlon <= 180:
            lat, lon = xlat, xlon
    abs_alt = exif.alt_m
    if abs_alt is None:
        abs_alt = _first_float(xmp, "drone-dji:AbsoluteAltitude", "sensefly:AltitudeWGS84")
    rel_alt = _first_float(xmp, "drone-dji:RelativeAltitude", "sensefly:Height")
    focal_mm = exif.focal_mm if exif.focal_mm is not None else _first_float(xmp, "exif:FocalLength")
    focal35 = exif.focal35_mm
    if focal35 is None:
        f35 = _first_float(xmp, "exif:FocalLengthIn35mmFilm")
        focal35 = f35 if f35 else None
    make = exif.make or (xmp.get("tiff:Make") or "").strip() or None
    model = exif.model or (xmp.get("tiff:Model") or "").strip() or None
    time = exif.time or _xmp_time(xmp) or extra_time
    intrinsics, why = frame_intrinsics(
        size_wh,
        model=model,
        focal_mm=focal_mm,
        focal35_mm=focal35,
        calibrated_focal_px=_first_float(xmp, "drone-dji:CalibratedFocalLength"),
        calibrated_cx_px=_first_float(xmp, "drone-dji:CalibratedOpticalCenterX"),
        calibrated_cy_px=_first_float(xmp, "drone-dji:CalibratedOpticalCenterY"),
        capture_wh=exif.pixel_wh,
    )
    rtk_flag_f = _first_float(xmp, "drone-dji:RtkFlag")
    stds = [_first_float(xmp, f"drone-dji:RtkStd{k}") for k in ("Lon", "Lat", "Hgt")]
    rtk_std = (stds[0], stds[1], stds[2]) if all(s is not None for s in stds) else None
    flight_yaw = _first_float(xmp, "drone-dji:FlightYawDegree", "sensefly:Heading")
    return FrameMeta(
        path=path,
        size_wh=size_wh,
        lat_deg=lat,
        lon_deg=lon,
        abs_alt_m=abs_alt,
        rel_alt_m=rel_alt,
        gimbal_yaw_deg=_first_float(xmp, "drone-dji:GimbalYawDegree"),
        gimbal_pitch_deg=_first_float(xmp, "drone-dji:GimbalPitchDegree"),
        gimbal_roll_deg=_first_float(xmp, "drone-dji:GimbalRollDegree"),
        flight_yaw_deg=flight_yaw,
        flight_pitch_deg=_first_float(xmp, "drone-dji:FlightPitchDegree", "sensefly:PitchAngle"),
        flight_roll_deg=_first_float(xmp, "drone-dji:FlightRollDegree", "sensefly:RollAngle"),
        focal_mm=focal_mm,
        focal35_mm=focal35,
        time=time,
        make=make,
        model=model,
        orientation=exif.orientation,
        intrinsics=intrinsics,
        intrinsics_error=why,
        rtk_flag=int(rtk_flag_f) if rtk_flag_f is not None else None,
        rtk_std_m=rtk_std,  # type: ignore[arg-type]
    )


def _merged_xmp(main: bytes | None, extended: dict[str, bytes], path: str) -> dict[str, str]:
    fields = parse_xmp(main, path) if main else {}
    if extended:
        guid = fields.get("xmpNote:HasExtendedXMP")
        for g, data in extended.items():
            if guid is None or g == guid:
                for k, v in parse_xmp(data, path).items():
                    fields.setdefault(k, v)
    return fields


def _jpeg_tail_problem(path: str) -> str | None:
    """Why a JPEG file is incomplete (no end-of-image marker), or None. Cheap for a whole file: its
    last bytes are FF D9 (a DJI MPF preview ends so too); only a file that does not end so is read
    through (a vendor trailer after the EOI, or a truncated copy)."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 512))
        tail = fh.read().rstrip(b"\x00")  # some writers pad the end with zeros
        if tail.endswith(b"\xff\xd9"):
            return None
        fh.seek(0)
        return jpeg_end_problem(fh.read())


def read_frame(path: str | Path, max_image_px: int = DEFAULT_MAX_IMAGE_PX) -> FrameMeta:
    """Read a photo's metadata. Raises BadImage (not a JPEG/HEIC/TIFF, unreadable, truncated, more
    than ``max_image_px`` pixels) or BadMetadata.

    A photo without a GPS position still gives a FrameMeta (``has_position`` False); call
    ``require_position`` where a position is needed.
    """
    p = str(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(16)
    except OSError as e:
        raise BadImage(p, f"cannot read file: {e.strerror or e}") from e
    if not head:
        raise BadImage(p, "empty file")
    if is_jpeg(head):
        hdr = read_jpeg_header(p)
        if hdr.size_wh is None:
            raise BadImage(p, "truncated or corrupt JPEG: no frame header (SOF) before the image data")
        check_pixel_limit(ImageHeader("jpeg", hdr.size_wh), max_image_px, p)
        try:
            problem = _jpeg_tail_problem(p)
        except OSError as e:
            raise BadImage(p, f"cannot read file: {e.strerror or e}") from e
        if problem:
            raise BadImage(p, problem)
        exif = read_exif(hdr.exif_tiff, p) if hdr.exif_tiff else ExifFields()
        xmp = _merged_xmp(hdr.xmp, hdr.extended_xmp, p)
        qtime = qvci_datetime(hdr.qvci) if hdr.qvci else None
        ftime = flir_datetime(hdr.flir) if hdr.flir else None
        if ftime is not None:
            # FLIR's record has the same local time as EXIF plus milliseconds and the zone.
            exif = replace(exif, time=ftime)
        return build_frame(p, hdr.size_wh, exif, xmp, qtime)
    if is_heif(head):
        size = read_heif_size(p)
        if size is not None:
            check_pixel_limit(ImageHeader("heif", size), max_image_px, p)
        with open(p, "rb") as fh:
            exif = exif_fields(read_exif_tags(fh, p))
        return build_frame(p, size, exif, {})
    if is_tiff(head):
        thdr, data = read_tiff_header(p)
        check_pixel_limit(ImageHeader("tiff", thdr.size_wh), max_image_px, p)
        if thdr.problem:
            raise BadImage(p, thdr.problem)
        return build_frame(p, thdr.size_wh, read_exif(data, p), _merged_xmp(thdr.xmp, {}, p))
    raise BadImage(p, "not a JPEG, HEIC or TIFF photo")


def require_position(meta: FrameMeta) -> FrameMeta:
    """``meta`` unchanged, or MissingGeotag when it has no GPS position."""
    if not meta.has_position:
        if meta.frame_index is not None:
            at = f" at {meta.video_time_s:.2f} s" if meta.video_time_s is not None else ""
            raise MissingGeotag(meta.path, "latitude/longitude", f"no GPS position in the SRT telemetry{at} (frame {meta.frame_index})")
        raise MissingGeotag(meta.path, "GPSLatitude/GPSLongitude", "no GPS position in EXIF or XMP")
    return meta


def load_image(meta: FrameMeta, max_image_px: int = DEFAULT_MAX_IMAGE_PX):
    """Decoded BGR pixels of a frame (photo or sampled video frame), proven whole; BadImage on failure
    (truncated, corrupt data, over ``max_image_px`` pixels: see patrol.ingest.pixels.decode_image)."""
    if meta.frame_index is not None:
        from patrol.ingest.video import read_video_frame

        return read_video_frame(meta.path, meta.frame_index)
    return decode_image(meta.path, max_image_px)
