"""Findings: detections placed on the ground and merged across overlapping frames.

A ``GroundDetection`` is one detection in one frame, projected to the ground. A ``Finding`` is one
physical object, possibly seen in several frames, with its best view as evidence, its zone, grid cell
and responsible unit, and its violation category (None = counted, not a violation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def _check_latlon(lat_deg: float, lon_deg: float) -> None:
    if not (math.isfinite(lat_deg) and -90.0 <= lat_deg <= 90.0):
        raise ValueError(f"lat_deg must be in [-90, 90], got {lat_deg}")
    if not (math.isfinite(lon_deg) and -180.0 <= lon_deg <= 180.0):
        raise ValueError(f"lon_deg must be in [-180, 180], got {lon_deg}")


def _check_bbox(bbox: tuple[float, float, float, float]) -> None:
    if len(bbox) != 4:
        raise ValueError(f"bbox_xyxy_px must have 4 numbers, got {bbox}")
    x1, y1, x2, y2 = bbox
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"bbox_xyxy_px must have x2>x1 and y2>y1, got {bbox}")


def _check_polygon(poly: tuple[tuple[float, float], ...]) -> None:
    if len(poly) < 3:
        raise ValueError(f"polygon_wgs84 needs at least 3 (lon, lat) points, got {len(poly)}")
    for p in poly:
        if len(p) != 2:
            raise ValueError(f"polygon_wgs84 points must be (lon_deg, lat_deg), got {p}")
        _check_latlon(p[1], p[0])


@dataclass(frozen=True)
class GroundDetection:
    """One detection of one frame, projected to the ground.

    ``east_m``/``north_m`` are in the flight's LocalFrame; ``lat_deg``/``lon_deg`` the same point in
    WGS84. ``polygon_en`` is the box's ground footprint in local metres, ``polygon_wgs84`` the same as
    (lon_deg, lat_deg) pairs (GeoJSON order). ``obliquity_deg`` is the angle of the viewing ray at the
    contact point from nadir, ``gsd_m`` the ground sample distance there, ``sharpness`` a focus
    measure of the box crop (None when not measured).
    """

    frame: str
    class_name: str
    score: float
    bbox_xyxy_px: tuple[float, float, float, float]
    east_m: float
    north_m: float
    lat_deg: float
    lon_deg: float
    uncertainty_m: float
    gsd_m: float
    obliquity_deg: float
    polygon_en: tuple[tuple[float, float], ...]
    polygon_wgs84: tuple[tuple[float, float], ...]
    sharpness: float | None = None

    def __post_init__(self) -> None:
        if not self.frame:
            raise ValueError("frame must not be empty")
        if not self.class_name:
            raise ValueError("class_name must not be empty")
        if not (0.0 <= self.score <= 1.0):
            raise ValueError(f"score must be in [0, 1], got {self.score}")
        _check_bbox(self.bbox_xyxy_px)
        _check_latlon(self.lat_deg, self.lon_deg)
        for name in ("east_m", "north_m"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)}")
        if not (math.isfinite(self.uncertainty_m) and self.uncertainty_m >= 0.0):
            raise ValueError(f"uncertainty_m must be >= 0, got {self.uncertainty_m}")
        if not (math.isfinite(self.gsd_m) and self.gsd_m > 0.0):
            raise ValueError(f"gsd_m must be > 0, got {self.gsd_m}")
        if not (0.0 <= self.obliquity_deg <= 90.0):
            raise ValueError(f"obliquity_deg must be in [0, 90], got {self.obliquity_deg}")
        _check_polygon(self.polygon_wgs84)


@dataclass(frozen=True)
class Finding:
    """One physical object on the ground, merged over the frames it was seen in.

    ``finding_id`` is deterministic (same flight, same detections -> same id). ``category`` is the
    violation category (``illegal_parking``, ``street_vending``, ``road_damage``,
    ``exposed_garbage``) or None for an object that is only counted (a vehicle outside no-parking
    zones and sidewalks). ``zone_name``/``zone_kind`` name the zone that set the category (or the most
    specific zone at the point), ``grid_cell``/``unit`` the grid cell and its responsible unit (None
    outside every grid cell). ``uncertainty_m`` is a radius in metres around (lat_deg, lon_deg).
    ``frames`` lists every frame it was seen in (sorted); ``best_frame``/``best_bbox_xyxy_px`` are the
    evidence view. ``polygon_wgs84`` is the ground outline as (lon_deg, lat_deg) pairs, GeoJSON order.
    """

    finding_id: str
    class_name: str
    category: str | None
    lat_deg: float
    lon_deg: float
    uncertainty_m: float
    score: float
    zone_name: str | None
    zone_kind: str | None
    grid_cell: str | None
    unit: str | None
    frames: tuple[str, ...]
    best_frame: str
    best_bbox_xyxy_px: tuple[float, float, float, float]
    polygon_wgs84: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.finding_id:
            raise ValueError("finding_id must not be empty")
        if not self.class_name:
            raise ValueError("class_name must not be empty")
        if self.category is not None and not self.category:
            raise ValueError("category must be None or a non-empty string")
        _check_latlon(self.lat_deg, self.lon_deg)
        if not (math.isfinite(self.uncertainty_m) and self.uncertainty_m >= 0.0):
            raise ValueError(f"uncertainty_m must be >= 0, got {self.uncertainty_m}")
        if not (0.0 <= self.score <= 1.0):
            raise ValueError(f"score must be in [0, 1], got {self.score}")
        if not self.frames:
            raise ValueError("frames must not be empty")
        if self.best_frame not in self.frames:
            raise ValueError(f"best_frame {self.best_frame!r} is not in frames")
        _check_bbox(self.best_bbox_xyxy_px)
        _check_polygon(self.polygon_wgs84)

    @property
    def is_violation(self) -> bool:
        """True when the finding has a violation category (it becomes or joins a case)."""
        return self.category is not None

    @property
    def __geo_interface__(self) -> dict[str, Any]:
        return {"type": "Point", "coordinates": (self.lon_deg, self.lat_deg)}
