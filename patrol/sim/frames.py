"""Rendering a camera frame from the ortho world: the ground->image homography, sky above the horizon."""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from patrol.geo.camera import Camera
from patrol.ingest.frame import Intrinsics
from patrol.sim.solids import draw_solids

SKY_BGR = (222, 205, 190)
HAZE_BGR = (112, 128, 122)  # fields beyond the simulated city


def sim_intrinsics(size_wh: tuple[int, int] = (4000, 3000), focal_mm: float = 8.8, sensor_w_mm: float = 13.2) -> Intrinsics:
    """The simulated camera, computed exactly as the ingest camera table does for a DJI FC6310."""
    w, h = size_wh
    f = focal_mm * w / sensor_w_mm
    return Intrinsics(f, f, w / 2.0, h / 2.0, (w, h), "camera-table")


@lru_cache(maxsize=4)
def _vignette(w: int, h: int, strength: float = 0.22) -> np.ndarray:
    y, x = np.ogrid[:h, :w]
    r2 = ((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2
    v = 1.0 - strength * r2 / 2.0
    return np.repeat(np.clip(v * 255, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def choose_level(world_res_m: float, cam: Camera) -> int:
    """Pyramid level whose resolution does not exceed the frame's finest ground sample distance."""
    w, h = cam.size_wh
    best = math.inf
    for u, v in ((w / 2, h - 1), (w / 2, h / 2), (0, h - 1), (w - 1, h - 1)):
        try:
            best = min(best, cam.gsd_m(u, v))
        except Exception:  # noqa: BLE001 - a pixel above the horizon has no GSD
            continue
    if not math.isfinite(best):
        return 0
    return max(0, int(math.floor(math.log2(best / world_res_m)))) if best > world_res_m else 0


def render_frame(world, cam: Camera, gain: float = 1.0, solids: bool = True) -> np.ndarray:
    """BGR uint8 image of ``world`` (a patrol.sim.world.World) seen by ``cam``. ``solids``: vehicles
    are drawn as solids (sides, windows, relief; ``patrol.sim.solids``), not only as the raster's flat
    paint."""
    w, h = cam.size_wh
    level = choose_level(world.res_m, cam)
    src = world.level(level)
    m = cam.ground_to_image_homography() @ world.px_to_en_matrix(level)
    out = cv2.warpPerspective(src, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=HAZE_BGR)
    if solids:
        draw_solids(out, world, cam, src, world.px_to_en_matrix(level))
    _sky(out, cam)
    return cv2.multiply(out, _vignette(w, h), scale=gain / 255.0)


def _sky(img: np.ndarray, cam: Camera) -> None:
    """Paint the part of the image whose rays do not reach the ground (with a small margin)."""
    i = cam.intrinsics
    r = cam.rotation_enu_from_optical
    a, b = r[2, 0] / i.fx_px, r[2, 1] / i.fy_px
    c = r[2, 2] - r[2, 0] * i.cx_px / i.fx_px - r[2, 1] * i.cy_px / i.fy_px
    h, w = img.shape[:2]
    # ground where a*u + b*v + c < -eps, i.e. the ray points clearly downwards (closer than ~1 km at 100 m)
    eps = 0.02
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    vals = [a * u + b * v + c + eps for u, v in corners]
    if all(val < 0 for val in vals):
        return
    poly = []
    for k in range(4):
        p, q = corners[k], corners[(k + 1) % 4]
        vp, vq = vals[k], vals[(k + 1) % 4]
        if vp >= 0:
            poly.append(p)
        if (vp >= 0) != (vq >= 0):
            t = vp / (vp - vq)
            poly.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    if len(poly) >= 3:
        cv2.fillPoly(img, [np.round(np.array(poly) * 16).astype(np.int32)], SKY_BGR, cv2.LINE_AA, 4)
