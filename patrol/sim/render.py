"""Painting the orthographic world raster from a layout, its objects and the sun."""

from __future__ import annotations

import math

import cv2
import numpy as np
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import unary_union

from patrol.sim.canvas import Canvas
from patrol.sim.layout import LANE_M, Layout, Road
from patrol.sim.objects import SimObject, draw_object
from patrol.sim.scenario import Sun

WHITE = (228, 228, 222)
YELLOW = (222, 182, 40)
FLAT_KINDS = ("patch", "oil_stain", "manhole", "pothole", "cracks", "subsidence")


def paint_world(lay: Layout, objects: list[SimObject], sun: Sun, res_m: float, seed: int) -> np.ndarray:
    """BGR uint8 ortho raster of the whole world (north up), ``size_m / res_m`` pixels square."""
    n = int(round(lay.size_m / res_m))
    h = lay.size_m / 2
    img = np.empty((n, n, 3), np.uint8)
    rng = np.random.default_rng([seed, 404])  # light and grain: differ between before and after
    fixed = np.random.default_rng([lay.seed, 405])  # the city's own colours and markings: the same in both
    palette = np.random.default_rng([lay.seed, 406])  # this city's ground and asphalt tones
    ground = [(70, 112, 98), (80, 118, 88), (95, 120, 125), (88, 100, 110)][int(palette.integers(4))]  # BGR
    img[:] = tuple(int(v * palette.uniform(0.9, 1.1)) for v in ground)
    asphalt = palette.uniform(70, 95)
    cv = Canvas(img, -h, h, res_m)
    C = lay.to_en
    for b in lay.blocks:
        _block(cv, lay, b, fixed)
    for r in sorted(lay.roads, key=lambda r: r.kind == "main"):
        e = lay.extent_m
        g = asphalt * r.shade
        cv.fill(C(r.band(-r.half_m, r.half_m, -e, e)), (int(g), int(g * 1.01), int(g * 1.04)))
    for r in lay.roads:
        _sidewalks(cv, lay, r, fixed)
    for r in lay.roads:
        _markings(cv, lay, r, fixed)
    sh = sun.shadow_en()
    present = [o for o in objects if o.present]
    for o in sorted(present, key=lambda o: (o.kind not in FLAT_KINDS, o.kind != "garbage", o.id)):
        draw_object(cv, o, sh)
    _shadows(cv, lay, sh)
    for bl in lay.buildings:
        _roof(cv, lay, bl, sun)
    for t in lay.trees:
        _tree(cv, lay, t, sun)
    _finish(img, rng, sun)
    return img


def _block(cv: Canvas, lay: Layout, b, rng) -> None:
    x0, y0, x1, y1 = b.rect
    quad = lay.to_en(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))
    if b.kind == "buildings":
        g = rng.uniform(135, 165)
        cv.fill(quad, (int(g), int(g * 0.98), int(g * 0.93)))
    elif b.kind == "park":
        cv.fill(quad, (int(rng.uniform(70, 95)), int(rng.uniform(115, 135)), int(rng.uniform(55, 70))))
        for _ in range(2):  # winding paths
            pts = np.column_stack([np.linspace(x0, x1, 12), y0 + (y1 - y0) * (0.5 + 0.3 * np.sin(np.linspace(0, rng.uniform(2, 6), 12) + rng.uniform(0, 6)))])
            if rng.random() < 0.5:
                pts = np.column_stack([x0 + (x1 - x0) * (0.5 + 0.3 * np.sin(np.linspace(0, 4, 12))), np.linspace(y0, y1, 12)])
            cv.line(lay.to_en(pts), (185, 175, 150), rng.uniform(1.5, 3.0))
    elif b.kind == "parking_lot":
        cv.fill(quad, (92, 93, 96))
        y = y0 + 2.0
        while y + 5.0 <= y1 - 2.0:
            x = x0 + 2.0
            while x <= x1 - 2.0 + 1e-6:
                cv.line(lay.to_en(np.array([[x, y], [x, y + 5.0]])), WHITE, 0.1)
                x += 2.6
            y += 5.0 + (6.0 if int((y - y0) // 5) % 2 == 0 else 0.0)
    else:  # plaza: light tiles in a grid pattern
        cv.fill(quad, (int(rng.uniform(175, 195)), int(rng.uniform(168, 185)), int(rng.uniform(155, 170))))
        step = rng.uniform(1.5, 3.0)
        for x in np.arange(x0, x1, step):
            cv.line(lay.to_en(np.array([[x, y0], [x, y1]])), (150, 145, 138), 0.04)
        for y in np.arange(y0, y1, step):
            cv.line(lay.to_en(np.array([[x0, y], [x1, y]])), (150, 145, 138), 0.04)


def _sidewalks(cv: Canvas, lay: Layout, r: Road, rng) -> None:
    base = np.array([rng.uniform(160, 185), rng.uniform(155, 175), rng.uniform(145, 160)])
    step = rng.uniform(0.6, 1.2)
    for s0, s1 in r.segments:
        if s1 < -lay.size_m or s0 > lay.size_m:
            continue
        for side in (-1, 1):
            lo, hi = sorted((side * r.half_m, side * r.outer_m))
            cv.fill(lay.to_en(r.band(lo, hi, s0, s1)), tuple(int(v) for v in base))
            for s in np.arange(s0, s1, step):  # paving joints
                cv.line(lay.to_en(np.array([r.point(lo, s), r.point(hi, s)])), tuple(int(v * 0.88) for v in base), 0.03)
            k = side * r.half_m  # kerb stones
            cv.line(lay.to_en(np.array([r.point(k, s0), r.point(k, s1)])), (200, 198, 192), 0.18)


def _markings(cv: Canvas, lay: Layout, r: Road, rng) -> None:
    C = lay.to_en
    inner = r.lanes * LANE_M / 2
    lim = lay.size_m * 0.75
    for s0, s1 in r.segments:
        if s1 < -lim or s0 > lim:
            continue
        a0, a1 = s0 + 5.0, s1 - 5.0
        if a1 <= a0:
            continue
        seg = lambda a: C(np.array([r.point(a, a0), r.point(a, a1)]))  # noqa: E731
        if r.kind == "main":
            for off in (-0.12, 0.12):
                cv.line(seg(off), YELLOW, 0.12)
            for lane in range(1, r.lanes // 2):
                for side in (-1, 1):
                    _dashed(cv, lay, r, side * lane * LANE_M, a0, a1)
        else:
            _dashed(cv, lay, r, 0.0, a0, a1, color=YELLOW if rng.random() < 0.4 else WHITE)
        for side, strip in zip((-1, 1), r.strips):
            a = side * inner
            if strip == "parking":
                cv.line(seg(a), WHITE, 0.1)
                s = s0 + 6.0
                while s <= s1 - 6.0:
                    cv.line(C(np.array([r.point(a, s), r.point(side * r.half_m, s)])), WHITE, 0.1)
                    s += 6.0
            else:
                cv.line(seg(a), WHITE, 0.15)
                cv.line(C(np.array([r.point(side * (r.half_m - 0.15), a0), r.point(side * (r.half_m - 0.15), a1)])), YELLOW, 0.12)
        for end, sgn in ((s0, 1), (s1, -1)):  # zebra crossing and stop line at each end
            for k in np.arange(-inner + 0.3, inner - 0.3, 1.0):
                z = np.array([r.point(k, end + sgn * 1.0), r.point(k + 0.5, end + sgn * 1.0), r.point(k + 0.5, end + sgn * 4.0), r.point(k, end + sgn * 4.0)])
                cv.fill(C(z), WHITE)
            cv.line(C(np.array([r.point(-inner, end + sgn * 5.0), r.point(inner, end + sgn * 5.0)])), WHITE, 0.3)


def _dashed(cv: Canvas, lay: Layout, r: Road, a: float, s0: float, s1: float, color=WHITE) -> None:
    s = s0
    while s < s1:
        cv.line(lay.to_en(np.array([r.point(a, s), r.point(a, min(s + 3.0, s1))])), color, 0.12)
        s += 9.0


def _shadows(cv: Canvas, lay: Layout, sh: tuple[float, float]) -> None:
    off = np.array(sh)
    for bl in lay.buildings:
        roof = lay.to_en(np.array(bl.outline_city))
        d = off * bl.height_m
        parts = [Polygon(roof), Polygon(roof + d)]
        for i in range(len(roof)):
            p, q = roof[i], roof[(i + 1) % len(roof)]
            parts.append(Polygon([p, q, q + d, p + d]).convex_hull)
        g = unary_union(parts)
        polys = [g] if g.geom_type == "Polygon" else list(g.geoms)
        cv.shade([np.array(p.exterior.coords) for p in polys], 0.5, blur_px=3, tint=(0.92, 0.96, 1.08))
    for t in lay.trees:
        c = lay.to_en(np.array([t.center_city]))[0] + off * t.height_m * 0.45
        ang = np.linspace(0, 2 * math.pi, 24, endpoint=False)
        cv.shade([c + t.radius_m * 1.05 * np.column_stack([np.cos(ang), np.sin(ang)])], 0.55, blur_px=6, tint=(0.92, 0.96, 1.08))


def _roof(cv: Canvas, lay: Layout, bl, sun: Sun) -> None:
    rng = np.random.default_rng(bl.look_seed)
    roof = lay.to_en(np.array(bl.outline_city))
    col = tuple(int(v) for v in bl.colour)
    cv.fill(roof, col)
    pts = np.array(bl.outline_city)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    poly_city = Polygon(pts)
    C = lay.to_en
    if bl.roof == "pitched":
        along_x = (x1 - x0) >= (y1 - y0)
        mid = (y0 + y1) / 2 if along_x else (x0 + x1) / 2
        half = [[x0, y0], [x1, y0], [x1, mid], [x0, mid]] if along_x else [[x0, y0], [mid, y0], [mid, y1], [x0, y1]]
        g = poly_city.intersection(Polygon(half))
        if not g.is_empty and g.geom_type == "Polygon":
            cv.shade([C(np.array(g.exterior.coords))], 0.78)
        ridge = [[x0, mid], [x1, mid]] if along_x else [[mid, y0], [mid, y1]]
        cv.line(C(np.array(ridge)), tuple(int(v * 0.7) for v in col), 0.15)
        step = 0.35
        for k in np.arange((y0 if along_x else x0), (y1 if along_x else x1), step):  # tile rows
            ln = [[x0, k], [x1, k]] if along_x else [[k, y0], [k, y1]]
            seg = poly_city.intersection(LineString(ln))
            if not seg.is_empty and seg.geom_type == "LineString":
                cv.line(C(np.array(seg.coords)), tuple(int(v * 0.85) for v in col), 0.04)
        return
    if bl.roof == "metal":
        along_x = rng.random() < 0.5
        for k in np.arange((x0 if along_x else y0), (x1 if along_x else y1), 0.5):
            ln = [[k, y0], [k, y1]] if along_x else [[x0, k], [x1, k]]
            seg = poly_city.intersection(LineString(ln))
            if not seg.is_empty and seg.geom_type == "LineString":
                cv.line(C(np.array(seg.coords)), tuple(int(v * 0.8) for v in col), 0.08)
        return
    # flat: parapet, stains, AC units, water tanks, solar panels
    cv.line(np.vstack([roof, roof[:1]]), tuple(int(min(255, v * 1.18)) for v in col), 0.35)
    inner = poly_city.buffer(-1.5)
    if inner.is_empty:
        return
    for _ in range(int(rng.integers(0, 4))):
        c = (rng.uniform(x0, x1), rng.uniform(y0, y1))
        if inner.contains(Point(c)):
            cv.shade([C(np.array(c) + rng.uniform(1, 4) * np.column_stack([np.cos(np.linspace(0, 6.28, 12)), np.sin(np.linspace(0, 6.28, 12))]))], rng.uniform(0.85, 0.95), blur_px=10)
    sh = np.array(sun.shadow_en())
    for _ in range(int(rng.integers(2, 10))):
        w, l = rng.uniform(0.8, 1.5), rng.uniform(1.0, 2.2)
        c = np.array([rng.uniform(x0 + 2, max(x0 + 2.1, x1 - 2)), rng.uniform(y0 + 2, max(y0 + 2.1, y1 - 2))])
        b = np.array([[c[0] - l / 2, c[1] - w / 2], [c[0] + l / 2, c[1] - w / 2], [c[0] + l / 2, c[1] + w / 2], [c[0] - l / 2, c[1] + w / 2]])
        if not inner.contains(Polygon(b)):
            continue
        e = C(b)
        cv.shade([e + sh * 0.8], 0.6, blur_px=1)
        g = rng.uniform(170, 215)
        cv.fill(e, (int(g), int(g), int(g)))
        cv.line(np.vstack([e, e[:1]]), (int(g * 0.75),) * 3, 0.05)
    if rng.random() < 0.35:
        c = np.array([rng.uniform(x0 + 3, max(x0 + 3.1, x1 - 3)), rng.uniform(y0 + 3, max(y0 + 3.1, y1 - 3))])
        n = int(rng.integers(2, 6))
        for i in range(n):
            b = np.array([[0, 0], [4, 0], [4, 1.6], [0, 1.6]]) + c + np.array([0, i * 1.9])
            if inner.contains(Polygon(b)):
                e = C(b)
                cv.fill(e, (35, 45, 80))
                for k in (1.0, 2.0, 3.0):
                    cv.line(C(np.array([[c[0] + k, c[1] + i * 1.9], [c[0] + k, c[1] + i * 1.9 + 1.6]])), (90, 100, 130), 0.03)


def _tree(cv: Canvas, lay: Layout, t, sun: Sun) -> None:
    rng = np.random.default_rng(t.look_seed)
    c = lay.to_en(np.array([t.center_city]))[0]
    g = np.array([rng.uniform(45, 75), rng.uniform(85, 120), rng.uniform(35, 55)])
    cv.circle(tuple(c), t.radius_m, tuple(int(v * 0.8) for v in g))
    for _ in range(int(8 + 4 * t.radius_m)):
        a, d = rng.uniform(0, 2 * math.pi), t.radius_m * 0.75 * math.sqrt(rng.random())
        p = c + d * np.array([math.cos(a), math.sin(a)])
        cv.circle(tuple(p), t.radius_m * rng.uniform(0.2, 0.4), tuple(int(v * rng.uniform(0.8, 1.2)) for v in g))
    az = math.radians(sun.azimuth_deg)  # lit side towards the sun
    hl = c + 0.35 * t.radius_m * np.array([math.sin(az), math.cos(az)])
    ang = np.linspace(0, 2 * math.pi, 16, endpoint=False)
    cv.shade([hl + 0.55 * t.radius_m * np.column_stack([np.cos(ang), np.sin(ang)])], 1.18, blur_px=t.radius_m / cv.res_m * 0.2)


def _finish(img: np.ndarray, rng: np.random.Generator, sun: Sun) -> None:
    """Lighting (gain, tint, slow illumination variation) and texture grain, in row strips, with
    saturating uint8 OpenCV arithmetic (fast, and the same bytes every run)."""
    n, w = img.shape[:2]
    lo = rng.normal(0, 1, size=(max(4, n // 64), max(4, w // 64))).astype(np.float32)
    lo = cv2.GaussianBlur(lo, (0, 0), 3)
    lo = lo / (np.abs(lo).max() + 1e-6)
    # illumination factor 0.93..1.07 stored as factor * 200 in uint8
    light = cv2.resize(np.round(200.0 * (1.0 + 0.07 * lo)).astype(np.uint8), (w, n), interpolation=cv2.INTER_LINEAR)
    # two grain tiles of coprime sizes: no visible repeat
    t = (rng.normal(0, 5.0, size=(1021, 1021)), rng.normal(0, 3.0, size=(997, 997)))
    t1 = np.round(t[0]).astype(np.int16)
    t2 = np.round(t[1]).astype(np.int16)
    gain = tuple(float(v) * sun.gain for v in sun.tint_rgb[::-1]) + (0.0,)
    step = 512
    for y0 in range(0, n, step):
        y1 = min(n, y0 + step)
        ys = np.arange(y0, y1)
        g = np.tile(t1[ys % 1021], (1, w // 1021 + 1))[:, :w] + np.tile(t2[ys % 997], (1, w // 997 + 1))[:, :w]
        pos = np.clip(g, 0, 255).astype(np.uint8)
        neg = np.clip(-g, 0, 255).astype(np.uint8)
        lf = light[y0:y1]
        strip = cv2.multiply(img[y0:y1], cv2.merge([lf, lf, lf]), scale=1.0 / 200.0)
        strip = cv2.multiply(strip, gain)
        strip = cv2.add(strip, cv2.merge([pos, pos, pos]))
        img[y0:y1] = cv2.subtract(strip, cv2.merge([neg, neg, neg]))
