"""Vehicles as solids: what an oblique camera sees of a car that the flat world raster cannot show.

The world raster (``patrol.sim.render``) is an orthophoto: every object is painted flat on the ground,
so an oblique frame warped from it shows cars as their roofs lying on the asphalt. A real oblique
photo shows a car's side, its windows and its roof shifted away from the camera (relief). Here each
vehicle is a stack of simple solids (lower body, cabin, or one box for vans, trucks and buses) placed
over its footprint, projected through the frame's camera and painted over the warped raster, far cars
first: visible sides shaded by the sun, glass and wheels on them, tops textured with the raster's own
paint of the car (projected at their height). ``solid_points_en`` gives the same solids' corners for
the truth boxes, so a label covers the whole car as the camera sees it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from shapely.geometry import Polygon

from patrol.geo.camera import Camera
from patrol.sim.canvas import place, rect
from patrol.sim.objects import VEHICLE_SIZES_LW

SHIFT = 4  # fixed-point bits for anti-aliased polygons
BOX_KINDS = ("van", "truck", "bus")


@dataclass(frozen=True)
class Piece:
    """A prism or frustum: ``lo`` ring (shape-local metres) at ``z_lo_m`` joined to ``hi`` at ``z_hi_m``."""

    lo: np.ndarray
    z_lo_m: float
    hi: np.ndarray
    z_hi_m: float
    skin: str  # "body" | "glass" | "under"
    top: bool  # paint its top with the raster's texture


def is_solid(obj) -> bool:
    return getattr(obj, "kind", None) in VEHICLE_SIZES_LW and float(getattr(obj, "height_m", 0.0) or 0.0) > 0


def vehicle_pieces(obj) -> list[Piece]:
    """The solids of one vehicle, bottom first (shape-local x forward, y left)."""
    L, W = obj.size_lw_m
    h = float(obj.height_m)
    clear = 0.2
    under = Piece(rect(L * 0.9, W * 0.9), 0.0, rect(L * 0.9, W * 0.9), clear, "under", False)
    if obj.kind in BOX_KINDS:
        lo, hi = rect(L, W), rect(L * 0.99, W * 0.97)
        return [under, Piece(lo, clear, hi, h, "body", True)]
    zb = 0.55 * h
    body = Piece(rect(L, W), clear, rect(L * 0.98, W * 0.98), zb, "body", True)
    cab_lo = rect(L * 0.56, W * 0.94, x0=-0.06 * L)
    cab_hi = rect(L * 0.36, W * 0.8, x0=-0.09 * L)
    return [under, body, Piece(cab_lo, zb, cab_hi, h, "glass", True)]


def _placed(obj, ring: np.ndarray, z: float) -> np.ndarray:
    en = place(ring, obj.center_en, obj.heading_deg)
    return np.column_stack([en, np.full(len(en), z)])


def solid_points_en(obj) -> np.ndarray | None:
    """(N, 3) east-north-up corners of the vehicle's solids; None for objects drawn flat."""
    if not is_solid(obj):
        return None
    return np.vstack([np.vstack([_placed(obj, p.lo, p.z_lo_m), _placed(obj, p.hi, p.z_hi_m)]) for p in vehicle_pieces(obj)])


def project(cam: Camera, pts_enu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel (u, v) of 3D points (east, north, up metres); NaN behind the camera."""
    p = np.asarray(pts_enu, float)
    return cam.world_to_pixel(p[:, 0], p[:, 1], p[:, 2])


def plane_homography(cam: Camera, z_m: float) -> np.ndarray:
    """3x3 H with [u, v, 1] ~ H @ [east, north, 1] for points at height ``z_m``."""
    return cam.ground_to_image_homography(plane_up_m=z_m)


def _fill(img: np.ndarray, uv: np.ndarray, colour) -> None:
    cv2.fillPoly(img, [np.round(uv * (1 << SHIFT)).astype(np.int32)], tuple(int(c) for c in colour), cv2.LINE_AA, SHIFT)


def _shade(colour, f: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, c * f))) for c in colour)  # type: ignore[return-value]


def _texture(img: np.ndarray, src: np.ndarray, src_to_en: np.ndarray, cam: Camera, z: float, uv: np.ndarray) -> None:
    """Paint polygon ``uv`` with the raster seen as if it lay at height ``z``."""
    h, w = img.shape[:2]
    x0, y0 = max(0, int(math.floor(uv[:, 0].min()))), max(0, int(math.floor(uv[:, 1].min())))
    x1, y1 = min(w, int(math.ceil(uv[:, 0].max())) + 1), min(h, int(math.ceil(uv[:, 1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    m = np.array([[1.0, 0, -x0], [0, 1.0, -y0], [0, 0, 1.0]]) @ plane_homography(cam, z) @ src_to_en
    patch = cv2.warpPerspective(src, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round((uv - [x0, y0]) * (1 << SHIFT)).astype(np.int32)], 255, cv2.LINE_AA, SHIFT)
    a = (mask.astype(np.float32) / 255.0)[..., None]
    roi = img[y0:y1, x0:x1]
    roi[:] = (roi * (1 - a) + patch * a).astype(np.uint8)


def _tree_crowns(world) -> tuple[np.ndarray, np.ndarray]:
    """Centres (N, 2) east-north and radii (N,) of the world's tree crowns."""
    lay = world.layout
    if not lay.trees:
        return np.zeros((0, 2)), np.zeros(0)
    return lay.to_en(np.array([t.center_city for t in lay.trees])), np.array([t.radius_m for t in lay.trees])


def _under_trees(obj, crowns: tuple[np.ndarray, np.ndarray]) -> bool:
    centres, radii = crowns
    if not len(radii):
        return False
    d = np.hypot(centres[:, 0] - obj.center_en[0], centres[:, 1] - obj.center_en[1])
    return bool((d < radii + max(obj.size_lw_m) / 4).any())


def _body_colour(world, obj) -> tuple[int, int, int]:
    """The car's paint as the raster has it: the median of its roof's middle."""
    x, y = world.en_to_px(obj.center_en[0], obj.center_en[1])
    r = max(1, int(0.3 / world.res_m))
    xi, yi = int(round(float(x))), int(round(float(y)))
    win = world.image[max(0, yi - r):yi + r + 1, max(0, xi - r):xi + r + 1].reshape(-1, 3)
    if win.size == 0:
        return (120, 120, 120)
    return tuple(int(v) for v in np.median(win, axis=0))  # type: ignore[return-value]


def draw_solids(img: np.ndarray, world, cam: Camera, src: np.ndarray, src_to_en: np.ndarray) -> int:
    """Paint every present vehicle of ``world`` in view of ``cam`` as a solid over ``img`` (the frame
    warped from raster ``src``, whose pixels map to east-north by ``src_to_en``). Vehicles under a tree
    crown stay as the raster paints them (the crown is above them). Returns how many were drawn."""
    fp = cam.footprint(max_range_m=3000.0).polygon_en
    cams = cam.center_enu
    sun = world.sun
    sx, sy = sun.shadow_en()
    to_sun = np.array([-sx, -sy, 1.0])
    to_sun /= np.linalg.norm(to_sun)
    todo = []
    crowns = _tree_crowns(world)
    for o in world.present_objects:
        if not is_solid(o):
            continue
        if not Polygon(o.outline_en).intersects(fp) or _under_trees(o, crowns):
            continue
        todo.append((-math.hypot(o.center_en[0] - cams[0], o.center_en[1] - cams[1]), o))
    todo.sort(key=lambda t: t[0])
    h, w = img.shape[:2]
    drawn = 0
    for _, o in todo:
        body = _body_colour(world, o)
        rng = np.random.default_rng(o.look_seed + 4241)
        glass = _shade((74, 62, 52), rng.uniform(0.45, 1.7))  # BGR: dark, a little blue; brighter when it mirrors the sky
        for p in vehicle_pieces(o):
            lo, hi = _placed(o, p.lo, p.z_lo_m), _placed(o, p.hi, p.z_hi_m)
            ul, vl = project(cam, lo)
            uh, vh = project(cam, hi)
            if not (np.isfinite(ul).all() and np.isfinite(uh).all()):
                break  # behind the camera: left as the raster paints it
            pl, ph = np.column_stack([ul, vl]), np.column_stack([uh, vh])
            if pl[:, 0].max() < -50 or pl[:, 0].min() > w + 50 or pl[:, 1].max() < -50 or pl[:, 1].min() > h + 50:
                break  # outside the image
            n = len(lo)
            for k in faces_toward(cams, lo, hi):
                j = (k + 1) % n
                normal, centre = _side(lo, hi, k)
                nn = normal / (np.linalg.norm(normal) or 1.0)
                lit = 0.55 + 0.45 * max(0.0, float(np.dot(nn, to_sun)))
                quad = np.array([pl[k], pl[j], ph[j], ph[k]])
                if p.skin == "under":
                    _fill(img, quad, (22, 22, 24))
                elif p.skin == "glass":
                    _fill(img, quad, _shade(glass, 0.8 + 0.3 * lit))
                    cv2.polylines(img, [np.round(quad * (1 << SHIFT)).astype(np.int32)], True, _shade(body, lit),
                                  max(1, int(round(_px_per_m(cam, centre) * 0.06))), cv2.LINE_AA, SHIFT)
                else:
                    _fill(img, quad, _shade(body, lit * 0.92))
                    _side_details(img, cam, o, lo[k], lo[j], p, glass, front=(k == 1))
            if p.top:
                _texture(img, src, src_to_en, cam, p.z_hi_m, ph)
        else:
            drawn += 1
    return drawn


def faces_toward(camera_enu: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[int]:
    """Indices k of the side faces (lo[k], lo[k+1], hi[k+1], hi[k]) of a solid whose outside faces the
    camera (the rings run counter-clockwise seen from above, so edge x up points outwards)."""
    out = []
    for k in range(len(lo)):
        normal, centre = _side(lo, hi, k)
        if np.dot(normal, camera_enu - centre) > 0:
            out.append(k)
    return out


def _side(lo: np.ndarray, hi: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Outward normal (not unit) and centre of side face k of a solid."""
    j = (k + 1) % len(lo)
    return np.cross(lo[j] - lo[k], hi[k] - lo[k]), (lo[k] + lo[j] + hi[j] + hi[k]) / 4


def _px_per_m(cam: Camera, pt: np.ndarray) -> float:
    d = float(np.linalg.norm(cam.center_enu - pt))
    return cam.intrinsics.fx_px / max(d, 1e-3)


def _side_details(img, cam: Camera, o, a: np.ndarray, b: np.ndarray, p: Piece, glass, front: bool) -> None:
    """Wheels on a long side of a body; the windscreen of a van, truck or bus on its front; the window
    band of a van or bus on its sides. Ring edge 1 is the front (``rect`` corners run counter-clockwise
    from the rear right)."""
    edge = b[:2] - a[:2]
    length = float(np.hypot(*edge))
    if length < 2.6:  # a front or a back
        if front and o.kind in BOX_KINDS:
            _band(img, cam, a, b, p.z_lo_m + (p.z_hi_m - p.z_lo_m) * 0.5, p.z_hi_m * 0.93, 0.06, 0.94, glass)
        return
    d = edge / length
    for t in (0.2, 0.8):
        c = a[:2] + d * length * t
        r = 0.34
        pts = [np.array([*(c + d * r * math.cos(q)), 0.36 + r * math.sin(q)]) for q in np.linspace(0, 2 * math.pi, 10, endpoint=False)]
        u, v = project(cam, np.array(pts))
        if np.isfinite(u).all():
            _fill(img, np.column_stack([u, v]), (26, 26, 28))
    if o.kind == "bus":
        _band(img, cam, a, b, 1.2, p.z_hi_m - 0.4, 0.05, 0.95, glass)
    elif o.kind == "van":
        _band(img, cam, a, b, p.z_hi_m * 0.55, p.z_hi_m * 0.9, 0.55, 0.95, glass)


def _band(img, cam: Camera, a: np.ndarray, b: np.ndarray, z0: float, z1: float, t0: float, t1: float, colour) -> None:
    p0, p1 = a[:2] + (b[:2] - a[:2]) * t0, a[:2] + (b[:2] - a[:2]) * t1
    quad = np.array([[*p0, z0], [*p1, z0], [*p1, z1], [*p0, z1]])
    u, v = project(cam, quad)
    if np.isfinite(u).all():
        _fill(img, np.column_stack([u, v]), colour)
