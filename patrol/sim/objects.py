"""Simulated objects: exact world outlines, and how each kind is drawn onto the ortho raster.

Each object's look comes from its own ``look_seed``, so an object that stays between the before and
after worlds looks the same in both (apart from light and shadow), and two objects of one kind differ
in size, colour and detail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from shapely.geometry import Polygon

from patrol.sim.canvas import Canvas, blob, place, rect, rounded_rect

# Detector class of each drawable kind; None = a distractor the detector must learn to ignore.
KIND_CLASS: dict[str, str | None] = {
    "car": "vehicle", "suv": "vehicle", "small_car": "vehicle", "van": "vehicle", "taxi": "vehicle",
    "truck": "vehicle", "bus": "vehicle",
    "umbrella": "vendor_stall", "tarp": "vendor_stall", "cart": "vendor_stall", "table": "vendor_stall",
    "pothole": "road_damage", "cracks": "road_damage", "subsidence": "road_damage",
    "garbage": "garbage",
    "manhole": None, "patch": None, "bin": None, "bench": None, "oil_stain": None, "bicycle": None,
    "pedestrian": None,
}
VEHICLE_SIZES_LW = {  # (length range, width range) metres
    "small_car": ((3.4, 3.9), (1.55, 1.7)), "car": ((4.2, 4.9), (1.7, 1.88)), "taxi": ((4.4, 4.8), (1.72, 1.82)),
    "suv": ((4.6, 5.1), (1.85, 2.0)), "van": ((4.9, 6.0), (1.95, 2.15)), "truck": ((6.5, 9.5), (2.3, 2.5)),
    "bus": ((10.0, 12.0), (2.5, 2.55)),
}
VEHICLE_WEIGHTS = {"small_car": 0.14, "car": 0.38, "taxi": 0.06, "suv": 0.22, "van": 0.11, "truck": 0.06, "bus": 0.03}
CAR_COLOURS = [  # (rgb, weight)
    ((235, 235, 232), 0.24), ((25, 26, 30), 0.16), ((165, 168, 172), 0.14), ((105, 108, 112), 0.12),
    ((160, 25, 28), 0.08), ((30, 55, 130), 0.08), ((20, 35, 70), 0.05), ((200, 170, 110), 0.04),
    ((60, 110, 70), 0.03), ((230, 120, 30), 0.03), ((120, 30, 60), 0.03),
]
VIVID = [(220, 40, 40), (240, 200, 30), (40, 90, 200), (30, 150, 70), (240, 120, 20), (250, 250, 245),
         (200, 60, 160), (20, 170, 190), (130, 70, 30), (250, 90, 110)]


@dataclass(frozen=True)
class SimObject:
    """One object in the simulated world, with its exact outline in local east-north metres.

    ``class_name`` is the detector class (None for distractors); ``violation`` the category a correct
    pipeline should raise for it (None when it is legal); ``status`` is set in the after world for
    problems: "fixed" (then ``present`` is False), "remaining" or "new".
    """

    id: str
    kind: str
    center_en: tuple[float, float]
    heading_deg: float  # from east, counter-clockwise
    size_lw_m: tuple[float, float]
    outline_en: tuple[tuple[float, float], ...]
    look_seed: int
    placement: str = ""
    violation: str | None = None
    status: str | None = None
    present: bool = True
    height_m: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KIND_CLASS:
            raise ValueError(f"unknown object kind {self.kind!r}; expected one of {sorted(KIND_CLASS)}")
        if len(self.outline_en) < 3:
            raise ValueError(f"{self.id}: outline needs at least 3 points")
        if self.status not in (None, "fixed", "remaining", "new"):
            raise ValueError(f"{self.id}: status must be fixed|remaining|new|None, got {self.status!r}")

    @property
    def class_name(self) -> str | None:
        return KIND_CLASS[self.kind]

    @property
    def polygon(self) -> Polygon:
        return Polygon(self.outline_en)

    @property
    def is_problem(self) -> bool:
        return self.violation is not None

    def moved(self, **changes) -> SimObject:
        return replace(self, **changes)


def _pick(rng: np.random.Generator, table: list[tuple[object, float]]):
    w = np.array([t[1] for t in table])
    return table[int(rng.choice(len(table), p=w / w.sum()))][0]


def _outline(local: np.ndarray, center: tuple[float, float], heading: float) -> tuple[tuple[float, float], ...]:
    return tuple((round(float(e), 4), round(float(n), 4)) for e, n in place(local, center, heading))


def make_object(oid: str, kind: str, center_en: tuple[float, float], heading_deg: float, look_seed: int,
                placement: str = "", violation: str | None = None) -> SimObject:
    """Size and outline of an object of ``kind`` from its look seed."""
    rng = np.random.default_rng(look_seed)
    h = 0.0
    if kind in VEHICLE_SIZES_LW:
        (l0, l1), (w0, w1) = VEHICLE_SIZES_LW[kind]
        L, W = rng.uniform(l0, l1), rng.uniform(w0, w1)
        local = rect(L, W)
        h = {"truck": 3.2, "bus": 3.1, "van": 2.1}.get(kind, 1.5)
    elif kind == "umbrella":
        r = rng.uniform(0.9, 1.6)
        L = W = 2 * r
        t = np.linspace(0, 2 * math.pi, 8, endpoint=False) + math.pi / 8
        local = np.column_stack([r * np.cos(t), r * np.sin(t)])
        h = 2.2
    elif kind == "tarp":
        L, W = rng.uniform(2.0, 4.0), rng.uniform(1.8, 3.0)
        local = rect(L, W)
        h = 2.0
    elif kind == "cart":
        L, W = rng.uniform(1.6, 2.4), rng.uniform(0.9, 1.3)
        local = rect(L, W)
        h = 1.1
    elif kind == "table":
        L, W = rng.uniform(1.6, 3.2), rng.uniform(0.8, 1.3)
        local = rect(L, W)
        h = 0.8
    elif kind == "pothole":
        r = rng.uniform(0.4, 1.1)
        local = blob(rng, r, n=20, rough=0.3, aspect=rng.uniform(0.7, 1.5))
        L, W = 2 * r, 2 * r
    elif kind == "cracks":
        L, W = rng.uniform(1.8, 5.0), rng.uniform(1.2, 3.0)
        local = blob(rng, 0.5, n=16, rough=0.15) * np.array([L, W])
    elif kind == "subsidence":
        r = rng.uniform(1.2, 3.0)
        local = blob(rng, r, n=22, rough=0.2, aspect=rng.uniform(0.8, 1.6))
        L = W = 2 * r
    elif kind == "garbage":
        r = rng.uniform(0.5, 1.8)
        local = blob(rng, r, n=18, rough=0.35, aspect=rng.uniform(0.7, 1.6))
        L = W = 2 * r
        h = 0.6
    elif kind == "manhole":
        r = rng.uniform(0.3, 0.4)
        t = np.linspace(0, 2 * math.pi, 16, endpoint=False)
        local = np.column_stack([r * np.cos(t), r * np.sin(t)])
        L = W = 2 * r
    elif kind == "patch":
        L, W = rng.uniform(1.0, 4.0), rng.uniform(0.8, 3.0)
        local = rect(L, W)
    elif kind == "bin":
        L, W = rng.uniform(0.5, 0.8), rng.uniform(0.5, 0.7)
        local = rect(L, W)
        h = 1.0
    elif kind == "bench":
        L, W = rng.uniform(1.5, 2.0), rng.uniform(0.4, 0.6)
        local = rect(L, W)
        h = 0.5
    elif kind == "oil_stain":
        r = rng.uniform(0.3, 0.8)
        local = blob(rng, r, n=16, rough=0.35)
        L = W = 2 * r
    elif kind == "bicycle":
        L, W = 1.7, 0.5
        local = rect(L, W)
        h = 1.0
    elif kind == "pedestrian":
        L, W = rng.uniform(0.28, 0.38), rng.uniform(0.42, 0.55)  # front-back, shoulder width
        t = np.linspace(0, 2 * math.pi, 12, endpoint=False)
        local = np.column_stack([L / 2 * np.cos(t), W / 2 * np.sin(t)])
        h = rng.uniform(1.55, 1.85)
    else:  # pragma: no cover - guarded by KIND_CLASS
        raise ValueError(kind)
    return SimObject(id=oid, kind=kind, center_en=(float(center_en[0]), float(center_en[1])),
                     heading_deg=float(heading_deg), size_lw_m=(float(L), float(W)),
                     outline_en=_outline(local, center_en, heading_deg), look_seed=int(look_seed),
                     placement=placement, violation=violation, height_m=h)


# ---------------------------------------------------------------------------------------------- drawing


def draw_object(cv: Canvas, obj: SimObject, shadow_en: tuple[float, float]) -> None:
    """Draw ``obj``; ``shadow_en`` is the ground offset (metres) of the shadow of a 1 m tall point."""
    rng = np.random.default_rng(obj.look_seed + 7919)
    c, hd = obj.center_en, obj.heading_deg
    P = lambda loc: place(loc, c, hd)  # noqa: E731
    outline = np.array(obj.outline_en)
    if obj.height_m > 0:
        _cast_shadow(cv, outline, obj.height_m, shadow_en)
    k = obj.kind
    if k in VEHICLE_SIZES_LW:
        _draw_vehicle(cv, obj, rng, P)
    elif k == "umbrella":
        r = obj.size_lw_m[0] / 2
        cols = [VIVID[i] for i in rng.choice(len(VIVID), 2, replace=False)]
        if rng.random() < 0.3:
            cols[1] = cols[0]
        if rng.random() < 0.5:  # a table of goods peeking out from under it
            _goods(cv, rng, P(rect(r * 2.1, r * 0.9, x0=rng.uniform(-0.3, 0.3))), P, r * 2.0, r * 0.8, n=25)
        t0 = math.pi / 8
        for i in range(8):
            a0, a1 = t0 + i * math.pi / 4, t0 + (i + 1) * math.pi / 4
            tri = np.array([[0, 0], [r * math.cos(a0), r * math.sin(a0)], [r * math.cos(a1), r * math.sin(a1)]])
            col = cols[i % 2]
            cv.fill(P(tri), _lit(col, 0.85 + 0.3 * ((i % 4) / 3)))
        cv.circle(c, 0.06, (60, 60, 60))
    elif k == "tarp" and rng.random() < 0.4:  # a pop-up canopy tent: four sloping faces
        L, W = obj.size_lw_m
        col = [(235, 235, 230), (40, 90, 190), (200, 40, 40), (40, 140, 70), (235, 190, 40), (120, 60, 140)][int(rng.integers(6))]
        hl, hw = L / 2, W / 2
        corners = [(-hl, -hw), (hl, -hw), (hl, hw), (-hl, hw)]
        for i, f in enumerate((0.82, 0.95, 1.1, 0.9)):
            tri = np.array([corners[i], corners[(i + 1) % 4], (0.0, 0.0)])
            cv.fill(P(tri), _lit(col, f))
        for cx, cy in corners:
            cv.line(P(np.array([[cx, cy], [0.0, 0.0]])), _lit(col, 0.65), 0.04)
        cv.line(P(rect(L, W)), _lit(col, 0.7), 0.05, closed=True)
        if rng.random() < 0.7:
            _goods(cv, rng, P(rect(L * 0.8, 0.45, y0=-W / 2 - 0.25)), P, L * 0.8, 0.45, n=18, y0=-W / 2 - 0.25)
    elif k == "tarp":
        L, W = obj.size_lw_m
        col = [(30, 80, 190), (40, 120, 220), (230, 110, 30), (40, 140, 70), (200, 40, 40), (235, 235, 230)][int(rng.integers(6))]
        cv.fill(P(rect(L, W)), col)
        for i in range(int(rng.integers(2, 6))):  # folds and sags
            x = rng.uniform(-L / 2, L / 2)
            cv.line(P(np.array([[x, -W / 2], [x + rng.uniform(-0.3, 0.3), W / 2]])), _lit(col, rng.uniform(0.7, 1.25)), 0.06)
        cv.line(P(rect(L, W)), _lit(col, 0.6), 0.04, closed=True)
        if rng.random() < 0.6:  # goods spilling out in front
            _goods(cv, rng, P(rect(L * 0.8, 0.5, y0=-W / 2 - 0.25)), P, L * 0.8, 0.5, n=20, y0=-W / 2 - 0.25)
    elif k == "cart":
        L, W = obj.size_lw_m
        body = [(235, 235, 235), (200, 40, 40), (60, 120, 200), (220, 180, 60), (150, 150, 155)][int(rng.integers(5))]
        for sx in (-0.3, 0.3):
            for sy in (-1, 1):
                cv.fill(P(rect(0.35, 0.12, x0=sx * L, y0=sy * (W / 2 + 0.05))), (20, 20, 20))
        cv.fill(P(rounded_rect(L, W, 0.1)), body)
        _goods(cv, rng, P(rect(L * 0.8, W * 0.75)), P, L * 0.8, W * 0.75, n=30)
        cv.blend([P(rect(L * 0.8, W * 0.75))], (200, 220, 230), 0.25)  # glass cover
        cv.line(P(np.array([[-L / 2 - 0.4, -W / 3], [-L / 2, -W / 3], [-L / 2, W / 3], [-L / 2 - 0.4, W / 3]])), (90, 90, 90), 0.04)
    elif k == "table":
        L, W = obj.size_lw_m
        cloth = [(245, 245, 240), (140, 90, 50), (40, 80, 170), (200, 40, 40), (60, 150, 80)][int(rng.integers(5))]
        cv.fill(P(rect(L, W)), cloth)
        _goods(cv, rng, P(rect(L * 0.92, W * 0.85)), P, L * 0.92, W * 0.85, n=int(20 * L))
        for _ in range(int(rng.integers(1, 5))):  # crates on the ground
            cv.fill(P(rect(0.5, 0.35, x0=rng.uniform(-L / 2, L / 2), y0=rng.choice([-1, 1]) * (W / 2 + 0.25))),
                    [(180, 120, 60), (40, 100, 200), (30, 30, 30), (200, 60, 40)][int(rng.integers(4))])
        if rng.random() < 0.7:  # the vendor
            cv.circle(tuple(P(np.array([[rng.uniform(-L / 3, L / 3), W / 2 + 0.45]]))[0]), 0.22, _pick(rng, [((25, 25, 25), 1), ((80, 60, 50), 1), ((200, 200, 200), 0.3)]))
    elif k == "pothole":
        base = rng.uniform(30, 55)
        cv.shade([outline], 1.15, blur_px=2)  # broken, lighter rim
        inner = P(_local(outline, c, hd) * 0.82)
        cv.fill(inner, (int(base), int(base * 0.98), int(base * 0.95)))
        if rng.random() < 0.35:  # water
            cv.blend([P(_local(outline, c, hd) * 0.55)], (60, 70, 80), 0.8, blur_px=1.5)
        _gravel(cv, rng, P, obj.size_lw_m[0] * 0.45, n=30)
    elif k == "cracks":
        L, W = obj.size_lw_m
        _crack_network(cv, rng, P, L, W)
    elif k == "subsidence":
        loc = _local(outline, c, hd)
        cv.shade([outline], rng.uniform(0.6, 0.78), blur_px=obj.size_lw_m[0] / cv.res_m * 0.12)
        cv.shade([P(loc * 0.6)], 0.85, blur_px=6)
        crack = (int(rng.uniform(15, 35)),) * 3
        for s in (rng.uniform(0.92, 1.02), rng.uniform(0.65, 0.85)):  # broken, wobbly ring cracks along the rim
            n = len(loc)
            ring = loc * s * (1 + rng.normal(0, 0.04, size=(n, 1)))
            start = int(rng.integers(0, n))
            span = int(rng.integers(n // 2, n))
            idx = [(start + i) % n for i in range(span + 1)]
            cv.line(P(ring[idx]), crack, rng.uniform(0.03, 0.06))
        for _ in range(int(rng.integers(2, 6))):  # radial cracks
            a = rng.uniform(0, 2 * math.pi)
            r0, r1 = rng.uniform(0.2, 0.5), rng.uniform(0.8, 1.1)
            rr = obj.size_lw_m[0] / 2
            pts = np.array([[rr * r * math.cos(a + rng.normal(0, 0.08)), rr * r * math.sin(a + rng.normal(0, 0.08))] for r in np.linspace(r0, r1, 5)])
            cv.line(P(pts), crack, 0.03)
        if rng.random() < 0.4:
            cv.blend([P(loc * 0.4)], (70, 80, 85), 0.7, blur_px=3)
    elif k == "garbage":
        _garbage(cv, rng, outline, P, obj.size_lw_m[0] / 2)
    elif k == "manhole":
        r = obj.size_lw_m[0] / 2
        cv.circle(c, r, (70, 70, 72))
        cv.circle(c, r * 0.85, (95, 95, 98))
        for i in range(-2, 3):
            cv.line(P(np.array([[-r * 0.7, i * r * 0.25], [r * 0.7, i * r * 0.25]])), (70, 70, 72), 0.02)
    elif k == "patch":
        g = rng.uniform(40, 75)
        cv.fill(outline, (int(g), int(g), int(g + 3)))
        cv.line(np.vstack([outline, outline[:1]]), (int(g * 0.8),) * 3, 0.05)
    elif k == "bin":
        col = [(30, 120, 60), (40, 80, 160), (90, 90, 90), (200, 120, 30)][int(rng.integers(4))]
        cv.fill(P(rounded_rect(*obj.size_lw_m, 0.05)), col)
        cv.line(P(rect(obj.size_lw_m[0] * 0.9, obj.size_lw_m[1] * 0.9)), _lit(col, 0.7), 0.03, closed=True)
    elif k == "bench":
        cv.fill(outline, (120, 80, 45))
        for y in (-0.12, 0.0, 0.12):
            cv.line(P(np.array([[-obj.size_lw_m[0] / 2, y], [obj.size_lw_m[0] / 2, y]])), (90, 60, 35), 0.02)
    elif k == "oil_stain":
        cv.shade([outline], rng.uniform(0.55, 0.8), blur_px=3)
    elif k == "pedestrian":
        cloth = _pick(rng, [((30, 30, 35), 3), ((240, 240, 235), 2), ((40, 70, 140), 2), ((170, 40, 40), 1), ((90, 110, 60), 1),
                            ((200, 170, 120), 1), ((230, 190, 40), 0.5)])
        cv.fill(outline, _lit(cloth, rng.uniform(0.85, 1.1)))
        hair = _pick(rng, [((20, 18, 16), 4), ((60, 45, 30), 1), ((150, 150, 150), 0.5)])
        cv.circle(tuple(P(np.array([[rng.uniform(-0.03, 0.05), 0.0]]))[0]), 0.1, hair)
    elif k == "bicycle":
        for x in (-0.55, 0.55):
            cv.line(P(np.array([[x - 0.33, 0], [x + 0.33, 0]])), (25, 25, 25), 0.05)
        cv.line(P(np.array([[-0.55, 0], [0, 0.0], [0.55, 0], [0.35, 0.25], [0.35, -0.25]])), _pick(rng, [((180, 30, 30), 1), ((30, 30, 30), 1), ((40, 90, 180), 1)]), 0.04)


def _local(outline: np.ndarray, c: tuple[float, float], hd: float) -> np.ndarray:
    """Inverse of place(): world outline -> shape-local coordinates."""
    a = math.radians(hd)
    d = np.asarray(outline) - np.array(c)
    return np.column_stack([math.cos(a) * d[:, 0] + math.sin(a) * d[:, 1], -math.sin(a) * d[:, 0] + math.cos(a) * d[:, 1]])


def _lit(rgb, f: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, v * f))) for v in rgb)  # type: ignore[return-value]


def _cast_shadow(cv: Canvas, outline: np.ndarray, height_m: float, shadow_en: tuple[float, float]) -> None:
    off = np.array(shadow_en) * height_m
    hull = Polygon(np.vstack([outline, outline + off])).convex_hull
    cv.shade([np.array(hull.exterior.coords)], 0.55, blur_px=1.5)


def _draw_vehicle(cv: Canvas, obj: SimObject, rng: np.random.Generator, P) -> None:
    L, W = obj.size_lw_m
    k = obj.kind
    col = (235, 190, 30) if k == "taxi" and rng.random() < 0.7 else _pick(rng, CAR_COLOURS)
    glass = (int(rng.integers(20, 45)), int(rng.integers(25, 50)), int(rng.integers(30, 60)))
    if k in ("truck", "bus"):
        if k == "truck":
            cab = L * rng.uniform(0.22, 0.3)
            box_col = _pick(rng, [((240, 240, 240), 3), ((40, 90, 170), 1), ((60, 130, 60), 1), ((170, 170, 175), 2), ((200, 60, 40), 1)])
            cv.fill(P(rounded_rect(cab, W * 0.96, 0.25, x0=L / 2 - cab / 2)), col)
            cv.fill(P(rect(cab * 0.3, W * 0.8, x0=L / 2 - cab * 0.2)), glass)
            cv.fill(P(rect(L - cab - 0.2, W, x0=-L / 2 + (L - cab - 0.2) / 2)), box_col)
            if rng.random() < 0.5:  # open bed with cargo
                for _ in range(int(rng.integers(3, 9))):
                    cv.fill(P(rect(rng.uniform(0.4, 1.2), rng.uniform(0.4, 1.0), x0=rng.uniform(-L / 2 + 0.6, L / 2 - cab - 0.8), y0=rng.uniform(-W / 3, W / 3))),
                            _lit(_pick(rng, [((150, 110, 70), 1), ((60, 60, 60), 1), ((200, 200, 190), 1)]), rng.uniform(0.8, 1.2)))
        else:
            col = _pick(rng, [((240, 240, 235), 2), ((40, 140, 70), 1), ((30, 90, 170), 1), ((220, 180, 30), 1)])
            cv.fill(P(rounded_rect(L, W, 0.3)), col)
            for x in np.linspace(-L / 2 + 1.5, L / 2 - 2.0, 3):
                cv.fill(P(rect(1.0, 0.9, x0=float(x))), (150, 150, 155))
            cv.fill(P(rect(0.5, W * 0.85, x0=L / 2 - 0.35)), glass)
        return
    cv.fill(P(rounded_rect(L, W, 0.35 + 0.15 * rng.random())), col)
    # sides slope away from the roof: a darker rim
    cv.line(np.vstack([P(rounded_rect(L - 0.08, W - 0.08, 0.35)), P(rounded_rect(L - 0.08, W - 0.08, 0.35))[:1]]), _lit(col, 0.72), 0.08)
    if k == "van":
        front, rear = L / 2 - 0.45, -L / 2 + 0.3
        cv.fill(P(np.array([[front - 0.55, -W * 0.42], [front, -W * 0.36], [front, W * 0.36], [front - 0.55, W * 0.42]])), glass)
        cv.fill(P(rect(front - 0.55 - rear - 0.1, W * 0.82, x0=(front - 0.55 + rear) / 2)), _lit(col, 1.06))
    else:
        ws0, ws1 = L * rng.uniform(0.08, 0.14), L * rng.uniform(0.26, 0.32)
        rw0, rw1 = -L * rng.uniform(0.3, 0.36), -L * rng.uniform(0.2, 0.26)
        cv.fill(P(np.array([[ws0, -W * 0.4], [ws1, -W * 0.44], [ws1, W * 0.44], [ws0, W * 0.4]])), glass)
        cv.fill(P(np.array([[rw0, -W * 0.42], [rw1, -W * 0.38], [rw1, W * 0.38], [rw0, W * 0.42]])), glass)
        cv.fill(P(rect(ws0 - rw1 - 0.05, W * 0.76, x0=(ws0 + rw1) / 2)), _lit(col, 1.08 if sum(col) < 600 else 0.97))
        if k == "suv" and rng.random() < 0.5:  # roof rails
            for y in (-W * 0.36, W * 0.36):
                cv.line(P(np.array([[rw1, y], [ws0, y]])), (40, 40, 40), 0.05)
        if rng.random() < 0.15:  # sunroof
            cv.fill(P(rect(0.5, 0.6, x0=(ws0 + rw1) / 2 + 0.2)), glass)
        if k == "taxi":
            cv.fill(P(rect(0.25, 0.5, x0=(ws0 + rw1) / 2)), (245, 245, 240))
    for y in (-1, 1):  # mirrors
        cv.fill(P(rect(0.12, 0.18, x0=L * 0.18, y0=y * (W / 2 + 0.06))), _lit(col, 0.8))


def _goods(cv: Canvas, rng: np.random.Generator, area_en: np.ndarray, P, L: float, W: float, n: int, y0: float = 0.0) -> None:
    """Many small, bright items (fruit, boxes, clothes) over an L x W area."""
    for _ in range(n):
        x, y = rng.uniform(-L / 2, L / 2), y0 + rng.uniform(-W / 2, W / 2)
        col = _lit(VIVID[int(rng.integers(len(VIVID)))], rng.uniform(0.6, 1.1))
        s = rng.uniform(0.08, 0.3)
        if rng.random() < 0.5:
            cv.circle(tuple(P(np.array([[x, y]]))[0]), s / 2, col)
        else:
            cv.fill(P(rect(s, s * rng.uniform(0.5, 1.5), x0=x, y0=y)), col)


def _gravel(cv: Canvas, rng: np.random.Generator, P, r: float, n: int) -> None:
    for _ in range(n):
        a, d = rng.uniform(0, 2 * math.pi), r * math.sqrt(rng.random())
        g = int(rng.uniform(60, 150))
        cv.circle(tuple(P(np.array([[d * math.cos(a), d * math.sin(a)]]))[0]), rng.uniform(0.015, 0.04), (g, g, g - 5))


def _crack_network(cv: Canvas, rng: np.random.Generator, P, L: float, W: float) -> None:
    col = (int(rng.uniform(15, 35)),) * 3
    if rng.random() < 0.5:  # alligator cracking: a mesh of polygonal cells
        n = int(L * W * rng.uniform(2.5, 5))
        pts = np.column_stack([rng.uniform(-L / 2, L / 2, n), rng.uniform(-W / 2, W / 2, n)])
        for i in range(n):
            d = np.hypot(*(pts - pts[i]).T)
            for j in np.argsort(d)[1:4]:
                if d[j] < 0.9:
                    cv.line(P(np.array([pts[i], pts[j]])), col, rng.uniform(0.025, 0.05))
        cv.shade([P(blob(rng, 0.5, rough=0.15) * np.array([L, W]))], 0.9, blur_px=8)
    else:  # branching longitudinal/transverse cracks
        for _ in range(int(rng.integers(2, 5))):
            p = np.array([rng.uniform(-L / 2, L / 2), rng.uniform(-W / 2, W / 2)])
            a = rng.uniform(0, 2 * math.pi)
            pts = [p.copy()]
            for _ in range(int(rng.integers(8, 25))):
                a += rng.normal(0, 0.5)
                p = p + 0.2 * np.array([math.cos(a), math.sin(a)])
                p = np.clip(p, [-L / 2, -W / 2], [L / 2, W / 2])
                pts.append(p.copy())
                if rng.random() < 0.12:
                    b = a + rng.choice([-1, 1]) * rng.uniform(0.6, 1.4)
                    q = p.copy()
                    br = [q.copy()]
                    for _ in range(int(rng.integers(3, 8))):
                        q = np.clip(q + 0.18 * np.array([math.cos(b), math.sin(b)]), [-L / 2, -W / 2], [L / 2, W / 2])
                        br.append(q.copy())
                    cv.line(P(np.array(br)), col, 0.03)
            cv.line(P(np.array(pts)), col, rng.uniform(0.03, 0.06))


def _garbage(cv: Canvas, rng: np.random.Generator, outline: np.ndarray, P, r: float) -> None:
    dirt = _pick(rng, [((110, 95, 70), 1), ((90, 85, 75), 1), ((130, 120, 100), 1)])
    cv.blend([outline], dirt, 0.6, blur_px=2)
    if rng.random() < 0.3:  # construction debris: rubble, broken bricks, a few bags
        for _ in range(int(20 + 40 * r * r)):
            a, d = rng.uniform(0, 2 * math.pi), r * 0.85 * math.sqrt(rng.random())
            s = rng.uniform(0.08, 0.35)
            col = _pick(rng, [((140, 138, 132), 3), ((165, 90, 60), 2), ((105, 100, 95), 2), ((190, 185, 175), 1)])
            loc = place(blob(rng, s / 2, n=7, rough=0.3), (d * math.cos(a), d * math.sin(a)), rng.uniform(0, 180))
            cv.fill(P(loc), _lit(col, rng.uniform(0.75, 1.2)))
        return
    n = int(12 + 30 * r * r)
    for _ in range(n):
        a, d = rng.uniform(0, 2 * math.pi), r * 0.85 * math.sqrt(rng.random())
        x, y = d * math.cos(a), d * math.sin(a)
        kind = rng.random()
        if kind < 0.45:  # plastic bags
            col = _pick(rng, [((20, 20, 22), 3), ((235, 235, 230), 2), ((40, 80, 170), 1), ((60, 140, 60), 1), ((200, 50, 40), 0.7)])
            s = rng.uniform(0.25, 0.55)
            cv.fill(P(blob(rng, s / 2, n=10, rough=0.2) + np.array([x, y])), _lit(col, rng.uniform(0.85, 1.15)))
        elif kind < 0.7:  # cardboard
            s = rng.uniform(0.2, 0.6)
            loc = place(rect(s, s * rng.uniform(0.5, 1.0)), (x, y), rng.uniform(0, 180))
            cv.fill(P(loc), _lit((160, 120, 75), rng.uniform(0.8, 1.2)))
        else:  # paper, bottles, scraps
            cv.circle(tuple(P(np.array([[x, y]]))[0]), rng.uniform(0.03, 0.1), _lit(VIVID[int(rng.integers(len(VIVID)))], rng.uniform(0.7, 1.1)))
