"""City layout: a seeded grid of roads (main and local), sidewalks, blocks (buildings, parks, parking
lots, plazas), trees, and the zones that the rules use.

Everything is generated in a "city frame" (x along one street direction) and rotated by a random grid
angle into local east-north metres, so streets are not always axis-aligned in the world.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from shapely.geometry import Polygon, box

LANE_M = 3.3


@dataclass(frozen=True)
class Road:
    name: str
    axis: str  # "x": runs along city x (its position is a y value); "y": runs along city y
    pos_m: float  # city coordinate across the road (centre line)
    lanes: int  # total, half in each direction
    kind: str  # "main" | "local"
    strips: tuple[str, str]  # kerb strip on the low / high side: "parking" | "no_parking"
    strip_m: float
    sidewalk_m: float
    shade: float  # asphalt brightness
    segments: tuple[tuple[float, float], ...] = ()  # along-road intervals between crossings (surface edges)

    @property
    def half_m(self) -> float:
        """Half width of the carriageway (kerb to centre)."""
        return self.lanes * LANE_M / 2 + self.strip_m

    @property
    def outer_m(self) -> float:
        return self.half_m + self.sidewalk_m

    def band(self, lo: float, hi: float, s0: float, s1: float) -> np.ndarray:
        """City-frame polygon of the band [lo, hi] across the road (relative to its centre) over [s0, s1] along it."""
        if self.axis == "x":
            return np.array([[s0, self.pos_m + lo], [s1, self.pos_m + lo], [s1, self.pos_m + hi], [s0, self.pos_m + hi]])
        return np.array([[self.pos_m + lo, s0], [self.pos_m + hi, s0], [self.pos_m + hi, s1], [self.pos_m + lo, s1]])

    def point(self, across: float, along: float) -> tuple[float, float]:
        return (along, self.pos_m + across) if self.axis == "x" else (self.pos_m + across, along)

    @property
    def heading_city_deg(self) -> float:
        """Heading (from city x, counter-clockwise) of traffic on the high side."""
        return 0.0 if self.axis == "x" else 90.0


@dataclass(frozen=True)
class Block:
    kind: str  # "buildings" | "park" | "parking_lot" | "plaza"
    rect: tuple[float, float, float, float]  # city x0, y0, x1, y1


@dataclass(frozen=True)
class Building:
    outline_city: tuple[tuple[float, float], ...]
    height_m: float
    roof: str  # "flat" | "pitched" | "metal"
    colour: tuple[int, int, int]
    look_seed: int


@dataclass(frozen=True)
class Tree:
    center_city: tuple[float, float]
    radius_m: float
    height_m: float
    look_seed: int


@dataclass(frozen=True)
class Zone:
    kind: str
    name: str
    outline_en: tuple[tuple[float, float], ...]
    unit: str | None = None


@dataclass
class Layout:
    seed: int
    size_m: float
    grid_angle_deg: float
    extent_m: float  # city frame covers [-extent, extent]^2
    roads: list[Road] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    trees: list[Tree] = field(default_factory=list)
    zones: list[Zone] = field(default_factory=list)

    def to_en(self, pts_city) -> np.ndarray:
        a = math.radians(self.grid_angle_deg)
        c, s = math.cos(a), math.sin(a)
        p = np.asarray(pts_city, dtype=float).reshape(-1, 2)
        return np.column_stack([c * p[:, 0] - s * p[:, 1], s * p[:, 0] + c * p[:, 1]])

    def to_city(self, pts_en) -> np.ndarray:
        a = math.radians(-self.grid_angle_deg)
        c, s = math.cos(a), math.sin(a)
        p = np.asarray(pts_en, dtype=float).reshape(-1, 2)
        return np.column_stack([c * p[:, 0] - s * p[:, 1], s * p[:, 0] + c * p[:, 1]])

    @property
    def world_box(self) -> Polygon:
        h = self.size_m / 2
        return box(-h, -h, h, h)

    def inside(self, outline_en: np.ndarray, margin_m: float = 0.5) -> bool:
        h = self.size_m / 2 - margin_m
        p = np.asarray(outline_en)
        return bool(np.all(np.abs(p) <= h))


def _road_positions(rng: np.random.Generator, extent: float) -> list[float]:
    out = []
    p = -extent + rng.uniform(10, 50)
    while p < extent:
        out.append(float(p))
        p += rng.uniform(80, 115)
    return out


def generate_layout(seed: int, size_m: float = 300.0) -> Layout:
    """A seeded city layout covering a size_m x size_m world centred on the origin."""
    rng = np.random.default_rng([seed, 101])
    extent = size_m / 2 * 1.45 + 20
    lay = Layout(seed=seed, size_m=size_m, grid_angle_deg=float(rng.uniform(-28, 28)), extent_m=extent)
    raw: list[Road] = []
    n = 0
    for axis in ("x", "y"):
        positions = _road_positions(rng, extent)
        # the road closest to the centre is a main road on one axis and local on the other: both kinds show
        centre_i = int(np.argmin(np.abs(positions)))
        for i, pos in enumerate(positions):
            if i == centre_i:
                main = axis == "x"
            else:
                main = rng.random() < 0.35
            n += 1
            if main:
                lanes, strips, strip_m, side = 4, ("no_parking", "no_parking"), 2.5, rng.uniform(4.0, 6.0)
                if rng.random() < 0.3:
                    strips = ("parking", "no_parking")
            else:
                lanes, strip_m, side = 2, 2.4, rng.uniform(2.8, 4.2)
                strips = tuple(str(v) for v in rng.choice(["parking", "parking", "no_parking"], 2))
            names = ["Jianshe", "Renmin", "Heping", "Xinhua", "Zhongshan", "Changjiang", "Yingbin", "Wenhua", "Guangming", "Minzhu"]
            kind = "main" if main else "local"
            name = f"{names[(n - 1) % len(names)]} {'Road' if main else 'Street'}"
            raw.append(Road(name=name, axis=axis, pos_m=pos, lanes=lanes, kind=kind, strips=strips,
                            strip_m=strip_m, sidewalk_m=float(side), shade=float(rng.uniform(0.8, 1.15))))
    # segments: along-road intervals between the surfaces of the crossing roads
    roads = []
    for r in raw:
        cross = sorted((c for c in raw if c.axis != r.axis), key=lambda c: c.pos_m)
        edges = [-extent] + [v for c in cross for v in (c.pos_m - c.half_m, c.pos_m + c.half_m)] + [extent]
        segs = tuple((edges[i], edges[i + 1]) for i in range(0, len(edges), 2) if edges[i + 1] > edges[i] + 5)
        roads.append(Road(**{**r.__dict__, "segments": segs}))
    lay.roads = roads
    _blocks(lay, rng)
    _street_trees(lay, rng)
    _zones(lay, rng)
    return lay


def _blocks(lay: Layout, rng: np.random.Generator) -> None:
    xs = sorted((r for r in lay.roads if r.axis == "y"), key=lambda r: r.pos_m)
    ys = sorted((r for r in lay.roads if r.axis == "x"), key=lambda r: r.pos_m)
    e = lay.extent_m
    xb = [(-e, None)] + [(r.pos_m, r) for r in xs] + [(e, None)]
    yb = [(-e, None)] + [(r.pos_m, r) for r in ys] + [(e, None)]
    for i in range(len(xb) - 1):
        for j in range(len(yb) - 1):
            x0 = xb[i][0] + (xb[i][1].outer_m if xb[i][1] else 0)
            x1 = xb[i + 1][0] - (xb[i + 1][1].outer_m if xb[i + 1][1] else 0)
            y0 = yb[j][0] + (yb[j][1].outer_m if yb[j][1] else 0)
            y1 = yb[j + 1][0] - (yb[j + 1][1].outer_m if yb[j + 1][1] else 0)
            if x1 - x0 < 15 or y1 - y0 < 15:
                continue
            kind = str(rng.choice(["buildings", "park", "parking_lot", "plaza"], p=[0.62, 0.14, 0.14, 0.10]))
            b = Block(kind=kind, rect=(x0, y0, x1, y1))
            lay.blocks.append(b)
            if kind == "buildings":
                _buildings(lay, rng, b)
            elif kind in ("park", "plaza"):
                k = int((x1 - x0) * (y1 - y0) / (300 if kind == "park" else 900))
                for _ in range(k):
                    c = (rng.uniform(x0 + 3, x1 - 3), rng.uniform(y0 + 3, y1 - 3))
                    lay.trees.append(Tree(c, float(rng.uniform(2.0, 4.5)), float(rng.uniform(5, 12)), int(rng.integers(1 << 30))))


ROOF_COLOURS = [((150, 150, 148), 3), ((120, 118, 115), 2), ((175, 90, 70), 1.5), ((80, 100, 130), 1), ((190, 185, 175), 2),
                ((95, 120, 95), 0.7), ((60, 62, 66), 1), ((200, 200, 205), 1)]


def _buildings(lay: Layout, rng: np.random.Generator, b: Block) -> None:
    x0, y0, x1, y1 = b.rect
    nx = 2 if x1 - x0 > 45 else 1
    ny = 2 if y1 - y0 > 45 else 1
    for i in range(nx):
        for j in range(ny):
            cx0 = x0 + (x1 - x0) * i / nx
            cx1 = x0 + (x1 - x0) * (i + 1) / nx
            cy0 = y0 + (y1 - y0) * j / ny
            cy1 = y0 + (y1 - y0) * (j + 1) / ny
            if rng.random() < 0.12:
                continue  # an open courtyard / vacant lot
            ins = rng.uniform(2.5, 7.0, size=4)
            bx0, by0, bx1, by1 = cx0 + ins[0], cy0 + ins[1], cx1 - ins[2], cy1 - ins[3]
            if bx1 - bx0 < 8 or by1 - by0 < 8:
                continue
            poly = box(bx0, by0, bx1, by1)
            if rng.random() < 0.35:  # L-shape
                cw, ch = (bx1 - bx0) * rng.uniform(0.3, 0.6), (by1 - by0) * rng.uniform(0.3, 0.6)
                cx = bx0 if rng.random() < 0.5 else bx1 - cw
                cy = by0 if rng.random() < 0.5 else by1 - ch
                poly = poly.difference(box(cx, cy, cx + cw, cy + ch))
            roof = str(rng.choice(["flat", "flat", "pitched", "metal"]))
            cols = [c for c, _ in ROOF_COLOURS]
            w = np.array([w for _, w in ROOF_COLOURS])
            col = cols[int(rng.choice(len(cols), p=w / w.sum()))]
            lay.buildings.append(Building(tuple(map(tuple, np.array(poly.exterior.coords)[:-1])), float(rng.uniform(6, 24)), roof, col, int(rng.integers(1 << 30))))


def _street_trees(lay: Layout, rng: np.random.Generator) -> None:
    for r in lay.roads:
        for side in (-1, 1):
            if rng.random() < 0.45:
                continue
            across = side * (r.half_m + r.sidewalk_m - 0.9)
            spacing = rng.uniform(8, 13)
            for s0, s1 in r.segments:
                s = s0 + rng.uniform(3, spacing)
                while s < s1 - 3:
                    lay.trees.append(Tree(r.point(across, s), float(rng.uniform(1.8, 3.2)), float(rng.uniform(5, 10)), int(rng.integers(1 << 30))))
                    s += spacing * rng.uniform(0.85, 1.15)


UNITS = ["Dongguan Street Office", "Xiguan Street Office", "Nanmen Street Office", "Beimen Street Office",
         "Xinhua Street Office", "Zhongxin Street Office", "Chengjian Team 1", "Chengjian Team 2", "Huanwei Team 3"]


def _zones(lay: Layout, rng: np.random.Generator) -> None:
    world = lay.world_box

    def add(kind: str, name: str, city_poly: np.ndarray, unit: str | None = None) -> None:
        g = Polygon(lay.to_en(city_poly)).intersection(world)
        if g.is_empty or g.area < 1.0 or g.geom_type != "Polygon":
            return
        lay.zones.append(Zone(kind, name, tuple((round(x, 3), round(y, 3)) for x, y in np.array(g.exterior.coords)[:-1]), unit))

    e = lay.extent_m
    for r in lay.roads:
        add("road", r.name, r.band(-r.half_m, r.half_m, -e, e))
        for s0, s1 in r.segments:
            for side, strip in zip((-1, 1), r.strips):
                lo, hi = sorted((side * r.half_m, side * r.outer_m))
                add("sidewalk", f"{r.name} sidewalk", r.band(lo, hi, s0, s1))
                if strip == "no_parking":
                    lo, hi = sorted((side * (r.half_m - r.strip_m), side * r.half_m))
                    add("no_parking", f"{r.name} kerb (no parking)", r.band(lo, hi, s0, s1))
                if r.kind == "main":
                    lo, hi = sorted((side * r.half_m, side * r.outer_m))
                    add("no_vending", f"{r.name} sidewalk (no vending)", r.band(lo, hi, s0, s1))
    for i, b in enumerate(lay.blocks):
        if b.kind == "plaza":
            x0, y0, x1, y1 = b.rect
            pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
            add("no_parking", f"Plaza {i} (no parking)", pts)
            add("no_vending", f"Plaza {i} (no vending)", pts)
    # grid cells: an axis-aligned 3 x 3 grid over the world, each with its responsible unit
    h = lay.size_m / 2
    step = lay.size_m / 3
    units = list(UNITS)
    rng.shuffle(units)
    for i in range(3):
        for j in range(3):
            e0, n0 = -h + i * step, -h + j * step
            g = box(e0, n0, e0 + step, n0 + step)
            lay.zones.append(Zone("grid_cell", f"Grid {chr(65 + j)}{i + 1}", tuple(map(tuple, np.round(np.array(g.exterior.coords)[:-1], 3))), units[(3 * i + j) % len(units)]))
