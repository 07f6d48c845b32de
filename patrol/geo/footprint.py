"""Frame footprint: the ground polygon a frame sees, clipped at a maximum range."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from shapely.geometry import Polygon, mapping
import shapely

from patrol.errors import GeometryError

if TYPE_CHECKING:
    from patrol.geo.camera import Camera
    from patrol.geo.crs import LocalFrame

SAMPLES_PER_SIDE = 16


@dataclass(frozen=True)
class Footprint:
    """Ground polygon in local metres (east, north). ``clipped`` with a ``reason`` when some border
    rays looked above the horizon or beyond the maximum range and were cut at that range."""

    polygon_en: Polygon
    clipped: bool
    reason: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.polygon_en, Polygon):
            raise ValueError(f"polygon_en must be a shapely Polygon, got {type(self.polygon_en).__name__}")
        if self.clipped and not self.reason:
            raise ValueError("a clipped footprint needs a reason")

    @property
    def area_m2(self) -> float:
        return float(self.polygon_en.area)

    def to_wgs84(self, frame: LocalFrame) -> Polygon:
        """The polygon with (lon, lat) coordinates, GeoJSON axis order."""

        def fn(en: np.ndarray) -> np.ndarray:
            lat, lon = frame.to_wgs84(en[:, 0], en[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(self.polygon_en, fn)

    @property
    def __geo_interface__(self) -> dict:
        return mapping(self.polygon_en)


def border_pixels(size_wh: tuple[int, int], per_side: int = SAMPLES_PER_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates around the image border, clockwise from the top-left corner (no repeats)."""
    w, h = size_wh
    x0, y0, x1, y1 = -0.5, -0.5, w - 0.5, h - 0.5  # outer pixel edges
    t = np.linspace(0.0, 1.0, per_side, endpoint=False)
    us = np.concatenate([x0 + t * (x1 - x0), np.full(per_side, x1), x1 - t * (x1 - x0), np.full(per_side, x0)])
    vs = np.concatenate([np.full(per_side, y0), y0 + t * (y1 - y0), np.full(per_side, y1), y1 - t * (y1 - y0)])
    return us, vs


def footprint_of(camera: Camera, max_range_m: float) -> Footprint:
    """Sample the image border, intersect each ray with the ground, cut rays that miss the ground or land
    farther than ``max_range_m`` (horizontal distance from the camera) at that range along their
    azimuth. GeometryError when no part of the image sees the ground."""
    if not (max_range_m > 0 and math.isfinite(max_range_m)):
        raise ValueError(f"max_range_m must be a positive number, got {max_range_m}")
    us, vs = border_pixels(camera.size_wh)
    e, n = camera.pixel_to_ground(us, vs)
    p = camera.pose
    de, dn = e - p.east_m, n - p.north_m
    dist = np.hypot(de, dn)
    hits = np.isfinite(e)
    if not hits.any():
        raise GeometryError("the frame looks entirely above the horizon: no ground footprint")
    far = ~hits | (dist > max_range_m)
    if far.any():
        d = camera.ray_enu(us[far], vs[far])
        az = np.arctan2(d[:, 0], d[:, 1])  # azimuth from north of the ray's horizontal direction
        e = e.copy()
        n = n.copy()
        e[far] = p.east_m + max_range_m * np.sin(az)
        n[far] = p.north_m + max_range_m * np.cos(az)
    poly = Polygon(np.column_stack([e, n]))
    if not poly.is_valid:
        poly = poly.buffer(0)
        if not isinstance(poly, Polygon):  # keep the largest piece
            poly = max(poly.geoms, key=lambda g: g.area)
    reason = None
    if far.any():
        above = int((~hits).sum())
        beyond = int(far.sum()) - above
        parts = []
        if above:
            parts.append(f"{above} of {len(us)} border rays above the horizon")
        if beyond:
            parts.append(f"{beyond} of {len(us)} beyond {max_range_m:g} m")
        reason = "; ".join(parts) + f": clipped at max_range_m={max_range_m:g}"
    return Footprint(polygon_en=poly, clipped=bool(far.any()), reason=reason)
