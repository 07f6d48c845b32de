"""What `patrol ingest` reports per frame: metadata plus GSD and ground footprint, as typed rows.

``summarize(meta, geo)`` is pure (FrameMeta + GeoSettings in, FrameSummary out); ``ingest(paths,
settings)`` iterates inputs; ``write_geojson`` writes camera points and footprints for QGIS.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patrol.config import DetectSettings, GeoSettings, Settings
from patrol.errors import GeometryError, InputError
from patrol.ingest.frame import FrameMeta

JSON_KEYS = (
    "path", "lat_deg", "lon_deg", "abs_alt_m", "rel_alt_m", "gimbal_yaw_deg", "gimbal_pitch_deg",
    "gimbal_roll_deg", "flight_yaw_deg", "focal_mm", "focal35_mm", "size_wh", "time", "make", "model",
    "gsd_m", "footprint", "error",
)


@dataclass(frozen=True)
class FrameSummary:
    """One output row. ``failed`` rows (unreadable file, no position) count toward exit code 1;
    ``note`` says why GSD/footprint are missing or that the footprint was clipped."""

    path: str
    meta: FrameMeta | None
    gsd_m: float | None = None
    footprint_lonlat: list[list[float]] | None = None  # exterior ring, (lon, lat), closed
    footprint_area_m2: float | None = None
    error: str | None = None  # one line: why the frame failed
    note: str | None = None  # one line: why GSD/footprint is unavailable, or a clip notice

    @property
    def failed(self) -> bool:
        return self.error is not None

    def to_json(self) -> dict[str, Any]:
        m = self.meta
        get = (lambda name: getattr(m, name)) if m is not None else (lambda name: None)
        t = get("time")
        size = get("size_wh")
        return {
            "path": self.path,
            "lat_deg": get("lat_deg"),
            "lon_deg": get("lon_deg"),
            "abs_alt_m": get("abs_alt_m"),
            "rel_alt_m": get("rel_alt_m"),
            "gimbal_yaw_deg": get("gimbal_yaw_deg"),
            "gimbal_pitch_deg": get("gimbal_pitch_deg"),
            "gimbal_roll_deg": get("gimbal_roll_deg"),
            "flight_yaw_deg": get("flight_yaw_deg"),
            "focal_mm": get("focal_mm"),
            "focal35_mm": get("focal35_mm"),
            "size_wh": list(size) if size else None,
            "time": t.isoformat() if t is not None else None,
            "make": get("make"),
            "model": get("model"),
            "gsd_m": self.gsd_m,
            "footprint": {"type": "Polygon", "coordinates": [self.footprint_lonlat]} if self.footprint_lonlat else None,
            "error": self.error if self.error is not None else self.note,
        }


ORIGIN_GRID_DEG = 0.05  # frames share a local tangent plane per ~5 km cell (see _local_frame)


def _local_frame(lat: float, lon: float, cache: dict | None):
    """A LocalFrame near (lat, lon). Building one costs ~30-60 ms (pyproj transformers), so frames
    of a flight share the one of their 0.05-degree cell: within ~5 km of the origin the tangent plane's
    north differs from true north by < 0.05 degree, far below gimbal yaw accuracy."""
    from patrol.geo.crs import LocalFrame

    if cache is None:
        return LocalFrame(lat, lon)
    key = (round(lat / ORIGIN_GRID_DEG), round(lon / ORIGIN_GRID_DEG))
    frame = cache.get(key)
    if frame is None:
        frame = cache[key] = LocalFrame(key[0] * ORIGIN_GRID_DEG, key[1] * ORIGIN_GRID_DEG)
    return frame


def summarize(meta: FrameMeta, geo: GeoSettings, frames: dict | None = None, detect: DetectSettings | None = None) -> FrameSummary:
    """GSD at the image centre and the footprint polygon of one frame (or a note why not).

    ``frames`` is an optional cache of local frames shared across calls (see _local_frame).
    """
    if not meta.has_position:
        return FrameSummary(meta.path, meta, error="no GPS position in EXIF or XMP" if meta.frame_index is None
                            else f"no GPS position in the SRT telemetry at {meta.video_time_s or 0:.2f} s")
    try:
        from patrol.geo.camera import camera_from_frame
    except ImportError as e:
        return FrameSummary(meta.path, meta, note=f"footprint unavailable: geometry module missing ({e.name})")
    try:
        frame = _local_frame(meta.lat_deg, meta.lon_deg, frames)  # type: ignore[arg-type]
        cam = camera_from_frame(meta, frame, geo.ground_elevation_m)
    except (GeometryError, ValueError) as e:
        reason = str(e)
        prefix = f"{meta.path}: "
        if reason.startswith(prefix):
            reason = reason[len(prefix):]
        return FrameSummary(meta.path, meta, note=f"footprint unavailable: {reason}")
    gsd: float | None
    note = None
    from patrol.geo.usable import not_usable_reason

    unusable = not_usable_reason(cam, detect.min_below_horizon_deg, detect.max_frame_gsd_m) if detect is not None else None
    try:
        gsd = cam.gsd_m()
        if not math.isfinite(gsd):
            gsd = None
    except GeometryError as e:
        gsd, note = None, f"GSD unavailable: {e}"
    try:
        fp = cam.footprint(geo.max_range_m)
        from shapely.geometry.polygon import orient

        poly = orient(fp.to_wgs84(frame), 1.0)  # RFC 7946: exterior ring counter-clockwise
        ring = [[float(x), float(y)] for x, y in poly.exterior.coords] if not poly.is_empty else None
        area = fp.area_m2
        if fp.clipped:
            note = f"footprint clipped: {fp.reason}"
    except GeometryError as e:
        ring, area, note = None, None, f"footprint unavailable: {e}"
    if unusable is not None:
        note = unusable + (f"; {note}" if note else "")
    return FrameSummary(meta.path, meta, gsd_m=gsd, footprint_lonlat=ring, footprint_area_m2=area, note=note)


def ingest(paths: Iterable[str | Path], settings: Settings) -> Iterator[FrameSummary]:
    """A FrameSummary for every input frame or failed input, in input order."""
    from patrol.errors import ConfigError
    from patrol.ingest import iter_inputs

    if not settings.ingest.video_interval_s > 0:
        raise ConfigError(f"ingest.video_interval_s must be positive, got {settings.ingest.video_interval_s}")
    if settings.ingest.workers < 0:
        raise ConfigError(f"ingest.workers must be 0 (one per CPU) or more, got {settings.ingest.workers}")
    frames: dict = {}
    for item in iter_inputs(paths, video_interval_s=settings.ingest.video_interval_s,
                            workers=settings.ingest.workers, require_gps=False,
                            max_image_px=settings.ingest.max_image_px):
        if isinstance(item, InputError):
            yield FrameSummary(item.path, None, error=item.reason)
        else:
            yield summarize(item, settings.geo, frames, settings.detect)


def geojson_collection(rows: Iterable[FrameSummary]) -> dict[str, Any]:
    """FeatureCollection: a Point per camera position and a Polygon per footprint (RFC 7946)."""
    feats: list[dict[str, Any]] = []
    for r in rows:
        if r.meta is None or not r.meta.has_position:
            continue
        props = {k: v for k, v in r.to_json().items() if k not in ("footprint", "size_wh")}
        props["frame_index"] = r.meta.frame_index
        props["footprint_area_m2"] = r.footprint_area_m2
        point = [r.meta.lon_deg, r.meta.lat_deg]
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": point},
                      "properties": {**props, "kind": "camera"}})
        if r.footprint_lonlat:
            feats.append({"type": "Feature",
                          "geometry": {"type": "Polygon", "coordinates": [r.footprint_lonlat]},
                          "properties": {**props, "kind": "footprint"}})
    return {"type": "FeatureCollection", "features": feats}


def write_geojson(rows: Iterable[FrameSummary], path: str | Path) -> None:
    Path(path).write_text(json.dumps(geojson_collection(rows), indent=1) + "\n", encoding="utf-8")
