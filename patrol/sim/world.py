"""The simulated world: layout + objects + sun -> an orthographic raster with exact object outlines.

Entry points:
    build_world(seed, scenario="before"|"after", size_m=300, res_m=0.03, origin_lat_deg, origin_lon_deg) -> World
    world.image            BGR uint8 (H, W, 3), north up, pixel (0, 0) at the north-west corner
    world.objects          SimObject list (exact outlines in local east-north metres; ``present`` False
                           for problems fixed before the after flight)
    world.boxes_px()       [(SimObject, (x1, y1, x2, y2))] axis-aligned boxes in raster pixels
    world.en_to_px / px_to_en, world.frame (LocalFrame at the origin), zones_geojson(world)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from patrol.geo.crs import LocalFrame
from patrol.sim.layout import Layout, generate_layout
from patrol.sim.objects import SimObject
from patrol.sim.render import paint_world
from patrol.sim.scenario import Sun, after_world, populate, sun_for

DEFAULT_ORIGIN = (37.739, 115.670)
SCENARIOS = ("before", "after")
MAX_SIDE_PX = 20000  # 1.2 GB of raster


@dataclass
class World:
    seed: int
    scenario: str
    layout: Layout
    objects: list[SimObject]
    sun: Sun
    res_m: float
    image: np.ndarray
    frame: LocalFrame
    _pyramid: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def size_m(self) -> float:
        return self.layout.size_m

    @property
    def bounds_en(self) -> tuple[float, float, float, float]:
        """(east_min, north_min, east_max, north_max) in metres."""
        h = self.size_m / 2
        return (-h, -h, h, h)

    def en_to_px(self, east_m, north_m) -> tuple[np.ndarray, np.ndarray]:
        """Local metres -> raster pixel coordinates (pixel centres are integers)."""
        h = self.size_m / 2
        return (np.asarray(east_m) + h) / self.res_m - 0.5, (h - np.asarray(north_m)) / self.res_m - 0.5

    def px_to_en(self, x_px, y_px) -> tuple[np.ndarray, np.ndarray]:
        h = self.size_m / 2
        return (np.asarray(x_px) + 0.5) * self.res_m - h, h - (np.asarray(y_px) + 0.5) * self.res_m

    def px_to_en_matrix(self, level: int = 0) -> np.ndarray:
        """3x3 affine from pixel coordinates of pyramid ``level`` to [east_m, north_m, 1]."""
        r = self.res_m * (2**level)
        h = self.size_m / 2
        return np.array([[r, 0.0, -h + 0.5 * r], [0.0, -r, h - 0.5 * r], [0.0, 0.0, 1.0]])

    def level(self, k: int) -> np.ndarray:
        """The raster halved ``k`` times (anti-aliased source for coarse views); built lazily."""
        if not self._pyramid:
            self._pyramid.append(self.image)
        while len(self._pyramid) <= k:
            self._pyramid.append(cv2.pyrDown(self._pyramid[-1]))
        return self._pyramid[k]

    @property
    def present_objects(self) -> list[SimObject]:
        return [o for o in self.objects if o.present]

    def boxes_px(self, classes_only: bool = True) -> list[tuple[SimObject, tuple[float, float, float, float]]]:
        """Axis-aligned raster-pixel boxes (x1, y1, x2, y2) of the objects drawn in the image."""
        out = []
        for o in self.present_objects:
            if classes_only and o.class_name is None:
                continue
            p = np.array(o.outline_en)
            x, y = self.en_to_px(p[:, 0], p[:, 1])
            out.append((o, (float(x.min() - 0.5), float(y.min() - 0.5), float(x.max() + 0.5), float(y.max() + 0.5))))
        return out


def check_world_size(size_m: float, res_m: float) -> None:
    """ValueError unless the world fits: 20..2000 m, 0.005..0.5 m/px, at most MAX_SIDE_PX pixels a side."""
    if not (20.0 <= size_m <= 2000.0):
        raise ValueError(f"size_m must be within 20..2000 m, got {size_m}")
    if not (0.005 <= res_m <= 0.5):
        raise ValueError(f"res_m must be within 0.005..0.5 m/px, got {res_m}")
    if size_m / res_m > MAX_SIDE_PX:
        raise ValueError(f"a {size_m:g} m world at {res_m:g} m/px is {size_m / res_m:.0f} px square, more than "
                         f"{MAX_SIDE_PX} px ({MAX_SIDE_PX**2 * 3 / 1e9:.1f} GB): use a coarser res_m or a smaller size_m")


def build_world(seed: int = 0, scenario: str = "before", size_m: float = 300.0, res_m: float = 0.03,
                origin_lat_deg: float = DEFAULT_ORIGIN[0], origin_lon_deg: float = DEFAULT_ORIGIN[1]) -> World:
    """Generate (deterministically for a seed) the world at T0 ("before") or T1 ("after").

    The same seed gives the same city in both; "after" derives its objects from "before" (fixed,
    remaining, new problems; moved parked cars; new traffic) and has a different sun.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
    check_world_size(size_m, res_m)
    lay = generate_layout(seed, size_m)
    objects = populate(lay, seed)
    if scenario == "after":
        objects = after_world(lay, objects, seed)
    sun = sun_for(seed, scenario)
    img = paint_world(lay, objects, sun, res_m, seed + (0 if scenario == "before" else 1000003))
    return World(seed=seed, scenario=scenario, layout=lay, objects=objects, sun=sun, res_m=res_m, image=img,
                 frame=LocalFrame(origin_lat_deg, origin_lon_deg))


def zones_geojson(world: World) -> dict:
    """The world's zones as a GeoJSON FeatureCollection (WGS84, lon/lat), per DESIGN.md."""
    feats = []
    for z in world.layout.zones:
        p = np.array(z.outline_en + (z.outline_en[0],))
        lat, lon = world.frame.to_wgs84(p[:, 0], p[:, 1])
        props = {"kind": z.kind, "name": z.name}
        if z.unit:
            props["unit"] = z.unit
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": "Polygon", "coordinates": [[[round(float(a), 9), round(float(b), 9)] for a, b in zip(lon, lat)]]}})
    return {"type": "FeatureCollection", "features": feats}
