"""What stands in the world at T0 (before) and T1 (after): vehicles, stalls, road damage, garbage,
distractors; which problems were fixed, remain, or are new; and the nuisance changes between the two
(parked cars that moved, traffic, sun).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Polygon
from shapely.strtree import STRtree

from patrol.sim.layout import LANE_M, Layout
from patrol.sim.objects import VEHICLE_WEIGHTS, SimObject, make_object


@dataclass(frozen=True)
class Sun:
    azimuth_deg: float  # from north, clockwise
    elevation_deg: float
    gain: float  # overall brightness
    tint_rgb: tuple[float, float, float]

    def shadow_en(self) -> tuple[float, float]:
        """Ground offset of the shadow of a 1 m tall point (away from the sun)."""
        a = math.radians(self.azimuth_deg)
        k = 1.0 / math.tan(math.radians(self.elevation_deg))
        return (-math.sin(a) * k, -math.cos(a) * k)


SUN_BEFORE = Sun(azimuth_deg=135.0, elevation_deg=42.0, gain=1.0, tint_rgb=(1.0, 0.99, 0.96))
SUN_AFTER = Sun(azimuth_deg=215.0, elevation_deg=55.0, gain=1.08, tint_rgb=(0.97, 0.99, 1.03))


def sun_for(seed: int, scenario: str) -> Sun:
    """A seeded sun (morning to afternoon, hazy to clear); the after flight's sun differs by 40-140 deg."""
    rng = np.random.default_rng([seed, 606])
    az0 = float(rng.uniform(100, 250))
    el0 = float(rng.uniform(30, 65))
    if scenario == "after":
        az0 = (az0 + float(rng.choice([-1, 1])) * float(rng.uniform(40, 140)) - 100) % 180 + 100
        el0 = float(np.clip(el0 + rng.uniform(-20, 20), 28, 68))
        rng = np.random.default_rng([seed, 607])
    gain = float(rng.uniform(0.9, 1.12))
    warm = float(rng.uniform(-0.04, 0.04))
    return Sun(round(az0, 2), round(el0, 2), round(gain, 3), (round(1 + warm, 3), 1.0, round(1 - warm, 3)))


class _Placer:
    """Places objects without overlap (against each other, tree crowns and roofs)."""

    def __init__(self, lay: Layout, rng: np.random.Generator, start_id: int = 0) -> None:
        self.lay, self.rng = lay, rng
        self.objects: list[SimObject] = []
        self.n = start_id
        blockers = [Polygon(lay.to_en(b.outline_city)) for b in lay.buildings]
        blockers += [Polygon(lay.to_en(np.array([t.center_city]))[0] + t.radius_m * np.column_stack(
            [np.cos(np.linspace(0, 6.28, 12)), np.sin(np.linspace(0, 6.28, 12))])) for t in lay.trees]
        self.blockers = STRtree(blockers)
        self.blocker_geoms = blockers
        self.placed: list[Polygon] = []

    def try_add(self, kind: str, center_city: tuple[float, float], heading_city: float, placement: str,
                violation: str | None = None, pad_m: float = 0.3, allowed_city: np.ndarray | None = None) -> SimObject | None:
        c_en = tuple(self.lay.to_en(np.array([center_city]))[0])
        oid = f"{kind}-{self.n:04d}"
        obj = make_object(oid, kind, c_en, heading_city + self.lay.grid_angle_deg, int(self.rng.integers(1 << 31)), placement, violation)
        poly = obj.polygon
        if not self.lay.inside(np.array(obj.outline_en)):
            return None
        if allowed_city is not None and not Polygon(self.lay.to_en(allowed_city)).buffer(0.05).contains(poly):
            return None
        grown = poly.buffer(pad_m)
        if len(self.blockers.query(grown, predicate="intersects")):
            return None
        if any(grown.intersects(p) for p in self.placed):
            return None
        self.placed.append(poly)
        self.objects.append(obj)
        self.n += 1
        return obj


def _vehicle_kind(rng: np.random.Generator, big: bool = True) -> str:
    kinds = [k for k in VEHICLE_WEIGHTS if big or k not in ("truck", "bus")]
    w = np.array([VEHICLE_WEIGHTS[k] for k in kinds])
    return str(rng.choice(kinds, p=w / w.sum()))


def _scale(lay: Layout, n: float) -> int:
    return max(1, int(round(n * (lay.size_m / 300.0) ** 2)))


def populate(lay: Layout, seed: int, problems: bool = True) -> list[SimObject]:
    """All objects of the T0 world."""
    rng = np.random.default_rng([seed, 202])
    pl = _Placer(lay, rng)
    _distractors(pl)
    if problems:
        _road_damage(pl, _scale(lay, 14))
    _legal_parking(pl, occupancy=0.55)
    _traffic(pl)
    if problems:
        _illegal_parking(pl, _scale(lay, 12))
        _stalls(pl, _scale(lay, 16))
        _garbage(pl, _scale(lay, 10))
    return pl.objects + _pedestrians(lay, pl.objects, np.random.default_rng([seed, 808, 0]))


def _pedestrians(lay: Layout, objects: list[SimObject], rng: np.random.Generator) -> list[SimObject]:
    """People on sidewalks, in plazas and around stalls: distractors, drawn after everything else is
    placed (their own random stream, so adding them leaves every other object as it was)."""
    pl = _Placer(lay, rng, start_id=90000)
    pl.placed.extend(o.polygon for o in objects)
    for o in objects:  # vendors' customers
        if o.class_name == "vendor_stall":
            for _ in range(int(rng.integers(0, 4))):
                a, d = rng.uniform(0, 2 * math.pi), rng.uniform(1.2, 2.8)
                c = lay.to_city(np.array([[o.center_en[0] + d * math.cos(a), o.center_en[1] + d * math.sin(a)]]))[0]
                pl.try_add("pedestrian", (float(c[0]), float(c[1])), rng.uniform(0, 360), "crowd", pad_m=0.1)
    for r in lay.roads:
        for s0, s1 in r.segments:
            for side in (-1, 1):
                for _ in range(int(max(0.0, s1 - s0) / 25)):
                    a = side * (r.half_m + rng.uniform(0.4, max(0.5, r.sidewalk_m - 0.4)))
                    pl.try_add("pedestrian", r.point(a, _along(rng, s0, s1)), r.heading_city_deg + rng.choice([0, 180]) + rng.normal(0, 10), "crowd", pad_m=0.1)
    for b in lay.blocks:
        if b.kind in ("plaza", "park"):
            x0, y0, x1, y1 = b.rect
            for _ in range(int((x1 - x0) * (y1 - y0) / 400)):
                pl.try_add("pedestrian", (rng.uniform(x0, x1), rng.uniform(y0, y1)), rng.uniform(0, 360), "crowd", pad_m=0.1)
    return pl.objects


def after_world(lay: Layout, before: list[SimObject], seed: int, p_fixed: float = 0.4, new_frac: float = 0.35) -> list[SimObject]:
    """The T1 world: problems fixed (absent, status fixed; repaired road damage leaves an asphalt patch),
    remaining or new; legally parked cars partly moved; traffic all new."""
    rng = np.random.default_rng([seed, 303])
    keep: list[SimObject] = []
    fixed: list[SimObject] = []
    n_problems = 0
    for o in before:
        if o.is_problem:
            n_problems += 1
            if rng.random() < p_fixed:
                fixed.append(o.moved(status="fixed", present=False))
            else:
                keep.append(o.moved(status="remaining"))
        elif o.placement in ("bay", "lot"):
            if rng.random() < 0.6:
                keep.append(o)
        elif o.placement not in ("lane", "crowd"):
            keep.append(o)
    ids = [int(o.id.rsplit("-", 1)[1]) for o in before if o.kind != "pedestrian"]
    start = max(ids) + 1 if ids else 0
    pl = _Placer(lay, rng, start_id=start)
    for o in keep:
        pl.placed.append(o.polygon)
    for o in fixed:
        if o.class_name == "road_damage":  # repaired: fresh asphalt over the spot
            pb = o.polygon.minimum_rotated_rectangle.buffer(0.25, join_style="mitre")
            c = pb.centroid
            patch = make_object(f"patch-{pl.n:04d}", "patch", (c.x, c.y), o.heading_deg, int(rng.integers(1 << 31)), "road")
            patch = patch.moved(outline_en=tuple((round(x, 4), round(y, 4)) for x, y in np.array(pb.exterior.coords)[:-1]))
            pl.n += 1
            pl.objects.append(patch)
    _legal_parking(pl, occupancy=0.3)
    _traffic(pl)
    n_new = max(1, int(round(new_frac * n_problems)))
    k = [max(1, n_new // 4)] * 4
    _road_damage(pl, k[0])
    _illegal_parking(pl, k[1])
    _stalls(pl, k[2])
    _garbage(pl, k[3])
    new = [o.moved(status="new") if o.is_problem else o for o in pl.objects]
    people = _pedestrians(lay, keep + new, np.random.default_rng([seed, 808, 1]))
    return keep + new + fixed + people


def _along(rng, s0, s1, margin=1.0):
    if s1 - s0 <= 2 * margin:
        return (s0 + s1) / 2
    return float(rng.uniform(s0 + margin, s1 - margin))


def _segment(pl: _Placer, r) -> tuple[float, float]:
    """A random segment of road ``r``, cut to the part that can lie inside the world."""
    lim = pl.lay.size_m / 2 * 1.42
    segs = [(max(a, -lim), min(b, lim)) for a, b in r.segments if b > -lim and a < lim]
    if not segs:
        return r.segments[0]
    return segs[int(pl.rng.integers(len(segs)))]


def _distractors(pl: _Placer) -> None:
    rng, lay = pl.rng, pl.lay
    for r in lay.roads:
        inner = r.lanes * LANE_M / 2
        for s0, s1 in r.segments:
            for _ in range(int((s1 - s0) / 35)):
                pl.try_add("manhole", r.point(rng.uniform(-inner, inner), _along(rng, s0, s1)), 0, "road")
            for _ in range(int((s1 - s0) / 45)):
                pl.try_add("patch", r.point(rng.uniform(-inner, inner), _along(rng, s0, s1)), r.heading_city_deg, "road")
            for _ in range(int((s1 - s0) / 30)):
                pl.try_add("oil_stain", r.point(rng.uniform(-r.half_m, r.half_m), _along(rng, s0, s1)), 0, "road")
            for side in (-1, 1):
                for _ in range(int((s1 - s0) / 40)):
                    a = side * (r.half_m + rng.uniform(0.5, r.sidewalk_m - 0.5))
                    kind = str(rng.choice(["bin", "bin", "bicycle", "bench"]))
                    pl.try_add(kind, r.point(a, _along(rng, s0, s1)), r.heading_city_deg + rng.choice([0, 180]), "sidewalk")
    for b in lay.blocks:
        if b.kind in ("park", "plaza"):
            x0, y0, x1, y1 = b.rect
            for _ in range(int((x1 - x0) * (y1 - y0) / 600)):
                pl.try_add("bench", (rng.uniform(x0, x1), rng.uniform(y0, y1)), float(rng.choice([0, 90])), b.kind)


def _bays(lay: Layout):
    """(centre_city, heading_city, placement) of every parking bay: kerb lanes and parking lots."""
    out = []
    for r in lay.roads:
        for side, strip in zip((-1, 1), r.strips):
            if strip != "parking":
                continue
            a = side * (r.half_m - r.strip_m / 2)
            for s0, s1 in r.segments:
                s = s0 + 6.0
                while s + 6.0 < s1 - 6.0:
                    out.append((r.point(a, s + 3.0), r.heading_city_deg + (0 if side > 0 else 180), "bay"))
                    s += 6.0
    for b in lay.blocks:
        if b.kind != "parking_lot":
            continue
        x0, y0, x1, y1 = b.rect
        y = y0 + 2.0
        while y + 5.0 <= y1 - 2.0:
            x = x0 + 2.0
            while x + 2.6 <= x1 - 2.0:
                out.append(((x + 1.3, y + 2.5), 90.0, "lot"))
                x += 2.6
            y += 5.0 + (6.0 if int((y - y0) // 5) % 2 == 0 else 0.0)  # aisle after every second row
    return out


def _legal_parking(pl: _Placer, occupancy: float) -> None:
    rng = pl.rng
    for c, hd, where in _bays(pl.lay):
        if rng.random() < occupancy:
            c2 = (c[0] + rng.normal(0, 0.12), c[1] + rng.normal(0, 0.12))
            flip = 180 if where == "lot" and rng.random() < 0.5 else 0
            pl.try_add(_vehicle_kind(rng, big=False), c2, hd + flip + rng.normal(0, 1.5), where, pad_m=0.15)


def _traffic(pl: _Placer) -> None:
    rng, lay = pl.rng, pl.lay
    for r in lay.roads:
        per_side = r.lanes // 2
        for side in (-1, 1):
            for lane in range(per_side):
                a = side * (LANE_M * (lane + 0.5))
                s = -lay.extent_m + rng.uniform(0, 40)
                while s < lay.extent_m:
                    hd = r.heading_city_deg + (0 if side > 0 else 180) + rng.normal(0, 1.0)
                    pl.try_add(_vehicle_kind(rng), r.point(a + rng.normal(0, 0.2), s), hd, "lane", pad_m=1.0)
                    s += rng.uniform(12, 70)


def _illegal_parking(pl: _Placer, n: int) -> None:
    rng, lay = pl.rng, pl.lay
    plazas = [b for b in lay.blocks if b.kind == "plaza"]
    for _ in range(n * 30):
        if sum(o.violation == "illegal_parking" for o in pl.objects) >= n and n > 0:
            break
        where = rng.choice(["sidewalk", "no_parking", "plaza"], p=[0.5, 0.35, 0.15])
        if where == "plaza" and plazas:
            b = plazas[int(rng.integers(len(plazas)))]
            x0, y0, x1, y1 = b.rect
            pl.try_add(_vehicle_kind(rng, big=False), (rng.uniform(x0 + 3, x1 - 3), rng.uniform(y0 + 3, y1 - 3)), rng.uniform(0, 360), "plaza", "illegal_parking")
            continue
        r = lay.roads[int(rng.integers(len(lay.roads)))]
        side = int(rng.choice([-1, 1]))
        si = 0 if side < 0 else 1
        s0, s1 = _segment(pl, r)
        hd = r.heading_city_deg + (0 if side > 0 else 180) + rng.normal(0, 3)
        if where == "sidewalk":
            if r.sidewalk_m < 2.5:
                continue
            a = side * (r.half_m + r.sidewalk_m * rng.uniform(0.4, 0.6))
            pl.try_add(_vehicle_kind(rng, big=False), r.point(a, _along(rng, s0, s1, 5)), hd + rng.normal(0, 4), "sidewalk", "illegal_parking")
        elif r.strips[si] == "no_parking":
            a = side * (r.half_m - r.strip_m / 2)
            pl.try_add(_vehicle_kind(rng), r.point(a, _along(rng, s0, s1, 5)), hd, "no_parking", "illegal_parking", pad_m=0.2)


def _stalls(pl: _Placer, n: int) -> None:
    rng, lay = pl.rng, pl.lay
    plazas = [b for b in lay.blocks if b.kind == "plaza"]
    placed = 0
    for _ in range(n * 20):
        if placed >= n:
            break
        if plazas and rng.random() < 0.15:
            b = plazas[int(rng.integers(len(plazas)))]
            x0, y0, x1, y1 = b.rect
            if pl.try_add(str(rng.choice(["umbrella", "tarp", "cart", "table"])), (rng.uniform(x0 + 3, x1 - 3), rng.uniform(y0 + 3, y1 - 3)), float(rng.choice([0, 90])), "plaza", "street_vending"):
                placed += 1
            continue
        r = lay.roads[int(rng.integers(len(lay.roads)))]
        if r.sidewalk_m < 2.8:
            continue
        side = int(rng.choice([-1, 1]))
        s0, s1 = _segment(pl, r)
        s = _along(rng, s0, s1, 4)
        for _ in range(int(rng.integers(1, 5))):  # vendors cluster along a stretch of sidewalk
            kind = str(rng.choice(["umbrella", "tarp", "cart", "table"], p=[0.3, 0.25, 0.2, 0.25]))
            a = side * (r.half_m + rng.uniform(1.4, r.sidewalk_m - 1.4))
            lo, hi = sorted((side * r.half_m, side * r.outer_m))
            if pl.try_add(kind, r.point(a, s), r.heading_city_deg + rng.choice([0, 180]) + rng.normal(0, 5), "sidewalk",
                          "street_vending", pad_m=0.4, allowed_city=r.band(lo, hi, s0, s1)):
                placed += 1
            s += rng.uniform(3.5, 7.0)


def _road_damage(pl: _Placer, n: int) -> None:
    rng, lay = pl.rng, pl.lay
    placed = 0
    for _ in range(n * 20):
        if placed >= n:
            break
        r = lay.roads[int(rng.integers(len(lay.roads)))]
        s0, s1 = _segment(pl, r)
        inner = r.lanes * LANE_M / 2
        kind = str(rng.choice(["pothole", "cracks", "subsidence"], p=[0.45, 0.3, 0.25]))
        if pl.try_add(kind, r.point(rng.uniform(-inner + 1, inner - 1), _along(rng, s0, s1, 6)), r.heading_city_deg + rng.normal(0, 20),
                      "road", "road_damage", pad_m=0.5, allowed_city=r.band(-inner, inner, s0, s1)):
            placed += 1


def _garbage(pl: _Placer, n: int) -> None:
    rng, lay = pl.rng, pl.lay
    placed = 0
    for _ in range(n * 20):
        if placed >= n:
            break
        if rng.random() < 0.35 and lay.blocks:
            b = lay.blocks[int(rng.integers(len(lay.blocks)))]
            x0, y0, x1, y1 = b.rect
            c = (rng.uniform(x0 + 1.5, x0 + 5) if rng.random() < 0.5 else rng.uniform(x1 - 5, x1 - 1.5), rng.uniform(y0 + 2, y1 - 2))
            if pl.try_add("garbage", c, rng.uniform(0, 360), b.kind, "exposed_garbage"):
                placed += 1
            continue
        r = lay.roads[int(rng.integers(len(lay.roads)))]
        side = int(rng.choice([-1, 1]))
        s0, s1 = _segment(pl, r)
        a = side * (r.half_m + rng.uniform(0.8, max(0.9, r.sidewalk_m - 0.8)))
        if pl.try_add("garbage", r.point(a, _along(rng, s0, s1, 3)), rng.uniform(0, 360), "sidewalk", "exposed_garbage"):
            placed += 1
