"""Tiled detection of one frame: ROI tiles -> detector per tile -> cross-tile merge.

``detect_frame(image_bgr, detector, plan, roi_polygons_px)`` is the core every stage calls (the
pipeline, ``patrol detect``, ``patrol eval``, verification); the helpers around it read images, project
zones into a frame (ROI) and put detections on the ground for the CLI.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from patrol.config import DetectSettings, Settings
from patrol.detect.base import CLASSES, Detection, Detector
from patrol.detect.tiling import (
    TilePlan,
    clip_detections,
    cut_flags,
    merge_detections,
    pass_polygons,
    scale_passes,
    scale_polygons,
    select_tiles,
    shift_detections,
    tile_grid,
)
from patrol.errors import GeometryError, InputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")
ROI_ZONE_KINDS = ("no_parking", "no_vending", "road", "sidewalk")  # grid cells cover the whole city


def read_image(path: str | Path, max_image_px: int | None = None) -> np.ndarray:
    """Decode an image file to BGR uint8 (H, W, 3), proven whole (patrol.ingest.pixels.decode_image:
    truncated, corrupt or oversized images are a BadImage). EXIF orientation is NOT applied, so pixel
    coordinates match the camera model (which uses the stored pixel grid).
    """
    from patrol.ingest.pixels import DEFAULT_MAX_IMAGE_PX, decode_image

    return decode_image(path, DEFAULT_MAX_IMAGE_PX if max_image_px is None else max_image_px)


MIN_USEFUL_SCALE_GAP = 0.8  # a class scale above this runs with the native pass (not worth a pass)


def class_scales_for(settings: DetectSettings, gsd_m: float | None) -> dict[str, float]:
    """Per-class scale: ``class_scales`` as given, plus for each ``class_gsd_m`` class (not already
    in ``class_scales``) the scale that brings a frame of ``gsd_m`` m/px to about that GSD, when that
    is a real reduction (below 0.8). No GSD (frame not geotagged) = ``class_scales`` only."""
    scales = dict(settings.class_scales)
    if gsd_m is not None and gsd_m > 0:
        for name, target in settings.class_gsd_m.items():
            if name in scales or target <= 0:
                continue
            s = gsd_m / target
            if s < MIN_USEFUL_SCALE_GAP:
                scales[name] = round(max(s, 0.05), 3)
    return scales


def plan_from_settings(settings: DetectSettings, detector: Any, gsd_m: float | None = None) -> TilePlan:
    """TilePlan from the detect settings; tile_px 0 = the tile size the model was trained on
    (``patrol_tile_px`` metadata), else its input size (native pixels). The overlap is capped at half
    a tile (beyond that every pixel is run more than 4 times). ``gsd_m``: the frame's ground sample
    distance, for GSD-adaptive class scales (``class_gsd_m``); call once per frame when it varies."""
    tile = settings.tile_px or int(getattr(detector, "tile_px", 0) or getattr(detector, "input_wh", (640, 640))[0])
    overlap = min(settings.overlap_px, tile // 2)
    classes = tuple(getattr(detector, "class_names", ()) or CLASSES)
    passes = scale_passes(class_scales_for(settings, gsd_m), classes)
    return TilePlan(tile, overlap, settings.iou, settings.ios, passes)


@dataclass(frozen=True)
class TiledResult:
    """Detections of one frame (native pixels) and how many tiles ran out of how many."""

    detections: tuple[Detection, ...]
    tiles_total: int
    tiles_run: int


def run_tiles(
    image_bgr: np.ndarray,
    detector: Detector,
    plan: TilePlan,
    roi_polygons_px: Sequence[Any] | Mapping[str, Sequence[Any] | None] | None = None,
) -> TiledResult:
    """Run ``detector`` on the plan's tiles of the frame and merge across tiles.

    ``roi_polygons_px``: zones projected into the frame (native pixels); only tiles touching one run.
    None = no zones: every tile runs. A list applies to every pass; a mapping class -> polygons (None =
    the class counts anywhere) gives each ScalePass the union of its classes' zones
    (``tiling.pass_polygons``): a vehicle-only pass looks in no-parking zones and sidewalks while a pass
    with garbage runs every tile. Each ScalePass resizes the frame, tiles it, and keeps only its
    classes; boxes come back in native pixels.
    """
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise ValueError(f"expected a BGR image HxWx3, got shape {image_bgr.shape}")
    h, w = image_bgr.shape[:2]
    found: list[Detection] = []
    cut: list[bool] = []
    total = run = 0
    for sp in plan.passes:
        if sp.scale == 1.0:
            img = image_bgr
        else:
            size = (max(1, round(w * sp.scale)), max(1, round(h * sp.scale)))
            img = cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA)
        sx = img.shape[1] / w  # the exact scale after rounding
        tiles = tile_grid((img.shape[1], img.shape[0]), plan.tile_px, plan.overlap_px)
        chosen = select_tiles(tiles, scale_polygons(pass_polygons(roi_polygons_px, sp.classes), sx))
        total += len(tiles)
        run += len(chosen)
        keep = set(sp.classes) if sp.classes is not None else None
        for t in chosen:
            x1, y1, x2, y2 = t.bbox_xyxy_px
            dets = detector.detect(img[y1:y2, x1:x2])
            if keep is not None:
                dets = [d for d in dets if d.class_name in keep]
            cut.extend(cut_flags(dets, t, (img.shape[1], img.shape[0])))
            found.extend(shift_detections(dets, t, sx))
    merged = merge_detections(found, plan.iou, plan.ios, cut)
    merged = clip_detections(merged, (w, h))
    return TiledResult(tuple(merged), total, run)


def detect_frame(
    image_bgr: np.ndarray,
    detector: Detector,
    plan: TilePlan | None = None,
    roi_polygons_px: Sequence[Any] | None = None,
) -> list[Detection]:
    """Tiled inference on one frame -> merged detections in native pixels, highest score first.
    ``plan`` None = the defaults for this detector (native tiles of its input size, 64 px overlap).
    """
    plan = plan or plan_from_settings(DetectSettings(), detector)
    return list(run_tiles(image_bgr, detector, plan, roi_polygons_px).detections)


# --- zones into the frame (ROI) -------------------------------------------------------------------


@dataclass(frozen=True)
class RoiSetup:
    """What ROI tiling does for a flight: ``roi`` (None = every tile runs, ``reason`` says why) and,
    per class, the zone kinds where it can be a violation (``patrol.zones.roi_kinds_by_class``)."""

    roi: RoiZones | None
    class_kinds: dict[str, tuple[str, ...] | None]
    reason: str | None = None


def roi_setup(zones: Any, rules: Mapping[str, Mapping[str, str]], enabled: bool = True) -> RoiSetup:
    """Decide ROI tiling once for a flight from its zones (``patrol.zones.Zones``) and the rules.

    No skipping when ``enabled`` is off, when the zones are grid cells only (they count as no zones,
    like the rules' ``"no_zones"`` fallback) or when every class counts anywhere (``"*"``); otherwise
    each scale pass runs the tiles touching zones where one of its classes can be a violation.
    """
    from patrol.zones import roi_kinds_by_class

    class_kinds = roi_kinds_by_class(rules)
    if not enabled:
        return RoiSetup(None, class_kinds, "use_zones_roi is off in the config")
    if not zones.has_areas:
        return RoiSetup(None, class_kinds, "no zone other than grid cells")
    if all(k is None for k in class_kinds.values()):
        return RoiSetup(None, class_kinds, 'the rules count every class anywhere ("*")')
    return RoiSetup(RoiZones.from_zones(zones), class_kinds)


class RoiZones:
    """Zones of interest (WGS84 polygons, each with its zone kind) indexed once, projected into each
    frame on demand. A geometry given without a kind counts for every kind."""

    def __init__(self, geometries_lonlat: Sequence[Any], kinds: Sequence[str | None] | None = None) -> None:
        from shapely import STRtree

        self.geometries = tuple(geometries_lonlat)
        self.kinds: tuple[str | None, ...] = tuple(kinds) if kinds is not None else (None,) * len(self.geometries)
        if len(self.kinds) != len(self.geometries):
            raise ValueError(f"{len(self.kinds)} kinds for {len(self.geometries)} geometries")
        self._tree = STRtree(self.geometries) if self.geometries else None

    @classmethod
    def from_zones(cls, zones: Iterable[Any], kinds: Sequence[str] = ROI_ZONE_KINDS) -> RoiZones:
        """From ``patrol.zones.Zones`` (or any iterable of objects with ``kind`` and ``geometry``)."""
        picked = [z for z in zones if z.kind in kinds]
        return cls([z.geometry for z in picked], [z.kind for z in picked])

    def _project(self, camera: Any, frame: Any, margin_m: float, max_range_m: float,
                 kinds: set[str] | None = None) -> list[tuple[str | None, np.ndarray]]:
        """(kind, pixel polygon) of each zone of ``kinds`` (None = all) in view."""
        import shapely

        if self._tree is None:
            return []
        fp = camera.footprint(max_range_m).polygon_en
        fp_ll = shapely.transform(fp, lambda en: np.column_stack(frame.to_wgs84(en[:, 0], en[:, 1])[::-1]))
        lat0 = fp_ll.centroid.y
        pad_deg = margin_m / (111_000.0 * max(0.05, math.cos(math.radians(lat0))))
        hits = self._tree.query(fp_ll.buffer(pad_deg))
        out: list[tuple[str | None, np.ndarray]] = []
        for i in sorted(int(j) for j in hits):
            kind = self.kinds[i]
            if kinds is not None and kind is not None and kind not in kinds:
                continue
            g = shapely.transform(
                self.geometries[i], lambda ll: np.column_stack(frame.to_local(ll[:, 1], ll[:, 0]))
            )
            g = g.buffer(margin_m).intersection(fp) if margin_m > 0 else g.intersection(fp)
            for part in getattr(g, "geoms", [g]):
                if part.is_empty or part.geom_type != "Polygon":
                    continue
                en = np.asarray(part.exterior.coords)
                u, v = camera.ground_to_pixel(en[:, 0], en[:, 1])
                uv = np.column_stack([u, v])
                uv = uv[np.isfinite(uv).all(axis=1)]
                if len(uv) >= 3:
                    out.append((kind, uv))
        return out

    def polygons_px(self, camera: Any, frame: Any, margin_m: float, max_range_m: float) -> list[np.ndarray]:
        """Zones (grown by ``margin_m``) cut to the frame's ground footprint, as pixel polygons.

        Cutting to the footprint first keeps every vertex in front of the camera, so projection is
        finite; a straight ground edge stays straight in the image (flat ground: a homography).
        """
        return [uv for _, uv in self._project(camera, frame, margin_m, max_range_m)]

    def class_polygons_px(
        self,
        camera: Any,
        frame: Any,
        margin_m: float,
        max_range_m: float,
        class_kinds: Mapping[str, Sequence[str] | None],
    ) -> dict[str, list[np.ndarray] | None]:
        """Per class, the pixel polygons of the zones where it can be a violation (``class_kinds``:
        class -> zone kinds, None = anywhere; ``patrol.zones.roi_kinds_by_class``). The mapping
        ``run_tiles`` takes for per-pass ROI. Each zone is projected once."""
        wanted = {k for ks in class_kinds.values() if ks is not None for k in ks}
        projected = self._project(camera, frame, margin_m, max_range_m, wanted) if wanted else []
        out: dict[str, list[np.ndarray] | None] = {}
        for name, ks in class_kinds.items():
            if ks is None:
                out[name] = None
            else:
                out[name] = [uv for kind, uv in projected if kind is None or kind in ks]
        return out


# --- one file, for the CLI ------------------------------------------------------------------------


@dataclass(frozen=True)
class GroundPoint:
    lat_deg: float
    lon_deg: float


@dataclass(frozen=True)
class FrameDetections:
    """What ``patrol detect`` reports for one image file."""

    path: str
    size_wh: tuple[int, int]
    detections: tuple[Detection, ...]
    tiles_total: int
    tiles_run: int
    ground: tuple[GroundPoint | None, ...] = ()  # one per detection when the frame is geotagged
    note: str | None = None  # why there are no ground positions / no ROI
    gsd_m: float | None = None  # ground sample distance at the image centre (geotagged frames)


def ground_anchor_px(bbox_xyxy_px: tuple[float, float, float, float]) -> tuple[float, float]:
    """The pixel that stands for an object's ground position: the box centre (for tall objects seen
    obliquely the centre sits a little beyond the ground contact; findings refines this)."""
    x1, y1, x2, y2 = bbox_xyxy_px
    return ((x1 + x2) / 2.0, (y1 + y2) / 2.0)


def _frame_camera(path: Path, settings: Settings):
    """(meta, LocalFrame, Camera) for a geotagged photo, or a note saying why not."""
    try:
        from patrol.geo.camera import camera_from_frame
        from patrol.geo.crs import LocalFrame
        from patrol.ingest import read_frame
    except ImportError as e:  # a stage not installed yet: detection still works
        return None, f"no geotag reader available ({e.name})"
    try:
        meta = read_frame(path)
    except InputError as e:
        return None, f"not geotagged: {e.reason}"
    if not meta.has_pose:
        return None, "not geotagged (no position, height, gimbal pitch or intrinsics)"
    try:
        frame = LocalFrame(meta.lat_deg, meta.lon_deg)
        cam = camera_from_frame(meta, frame, settings.geo.ground_elevation_m)
    except (GeometryError, ValueError) as e:
        return None, f"cannot place the camera: {e}"
    return (meta, frame, cam), None


def gsd_or_none(camera: Any) -> float | None:
    """GSD (m/px) at the image centre, None when it has no finite value (centre ray above the horizon)."""
    try:
        g = float(camera.gsd_m())
    except GeometryError:
        return None
    return g if math.isfinite(g) and g > 0 else None


def frame_gsd_m(path: str | Path, settings: Settings) -> float | None:
    """Ground sample distance (m/px) at the centre of a geotagged photo; None when not geotagged."""
    placed, _ = _frame_camera(Path(path), settings)
    return gsd_or_none(placed[2]) if placed is not None else None


def detect_file(
    path: str | Path,
    detector: Detector,
    settings: Settings,
    roi: RoiZones | None = None,
    class_kinds: Mapping[str, Sequence[str] | None] | None = None,
) -> FrameDetections:
    """Detect on one image file; with a geotag, put each detection on the ground and (with ``roi``)
    run only the tiles that touch a zone. ``class_kinds`` (class -> zone kinds, None = anywhere;
    ``patrol.zones.roi_kinds_by_class``) makes the ROI per pass: each pass looks only in the zones
    where its classes can be a violation; None = every zone of ``roi`` for every pass. BadImage when
    the file cannot be decoded."""
    p = Path(path)
    image = read_image(p)
    h, w = image.shape[:2]
    plan = plan_from_settings(settings.detect, detector)
    placed, note = _frame_camera(p, settings)
    roi_px = None
    if placed is not None and (w, h) != tuple(placed[2].size_wh):
        placed, note = None, f"pixel size {w}x{h} differs from the metadata's {placed[2].size_wh}"
    if roi is not None and settings.detect.use_zones_roi:
        if placed is None:
            note = (note + "; " if note else "") + "all tiles run (no pose to project zones)"
        else:
            try:
                args = (placed[2], placed[1], settings.detect.roi_margin_m, settings.geo.max_range_m)
                roi_px = roi.polygons_px(*args) if class_kinds is None else roi.class_polygons_px(*args, class_kinds)
            except GeometryError as e:
                note = f"all tiles run: {e}"
    gsd = gsd_or_none(placed[2]) if placed is not None else None
    if gsd is not None:
        plan = plan_from_settings(settings.detect, detector, gsd)
    result = run_tiles(image, detector, plan, roi_px)
    ground: tuple[GroundPoint | None, ...] = ()
    if placed is not None:
        _, frame, cam = placed
        pts = []
        for d in result.detections:
            u, v = ground_anchor_px(d.bbox_xyxy_px)
            e, n = cam.pixel_to_ground(u, v)
            if np.isfinite(e) and np.isfinite(n):
                lat, lon = frame.to_wgs84(float(e), float(n))
                pts.append(GroundPoint(float(lat), float(lon)))
            else:
                pts.append(None)
        ground = tuple(pts)
    return FrameDetections(str(p), (w, h), result.detections, result.tiles_total, result.tiles_run, ground, note, gsd)


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path | InputError]:
    """Files as given; folders -> their image files (sorted, recursive). A missing path or a folder
    with no images yields an InputError in its place (the caller reports it and goes on)."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                yield InputError(p, "folder has no images")
            yield from files
        elif p.is_file():
            yield p
        else:
            yield InputError(p, "no such file or folder")
