"""Drawing in world metres onto an orthographic raster (north up, east right).

Every shape is given in local east-north metres; the Canvas turns it into sub-pixel cv2 calls
(fixed-point coordinates with 4 fractional bits, anti-aliased). Shape-local helpers place a shape given
in object coordinates (x forward along ``heading_deg``, y to the left) at a centre and heading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

SHIFT = 4
SCALE = 1 << SHIFT


@dataclass
class Canvas:
    """``img`` covers east [e0, e0 + w*res) and north (n1 - h*res, n1]; pixel (0, 0) is the north-west one."""

    img: np.ndarray
    e0: float
    n1: float
    res_m: float

    @property
    def shape_hw(self) -> tuple[int, int]:
        return self.img.shape[0], self.img.shape[1]

    def to_px(self, en: np.ndarray) -> np.ndarray:
        """(N, 2) east-north metres -> (N, 2) float pixel coordinates (centre of pixel = integer)."""
        en = np.asarray(en, dtype=float).reshape(-1, 2)
        x = (en[:, 0] - self.e0) / self.res_m - 0.5
        y = (self.n1 - en[:, 1]) / self.res_m - 0.5
        return np.column_stack([x, y])

    def _fixed(self, en: np.ndarray) -> np.ndarray:
        return np.round(self.to_px(en) * SCALE).astype(np.int32)

    def fill(self, polys: list[np.ndarray] | np.ndarray, color: tuple[int, int, int], aa: bool = True) -> None:
        """Fill one polygon (N, 2) or a list of them (even-odd is not used: each is filled)."""
        if isinstance(polys, np.ndarray):
            polys = [polys]
        pts = [self._fixed(p) for p in polys if len(p) >= 3]
        if pts:
            cv2.fillPoly(self.img, pts, _bgr(color), cv2.LINE_AA if aa else cv2.LINE_8, SHIFT)

    def line(self, pts_en: np.ndarray, color: tuple[int, int, int], width_m: float, closed: bool = False) -> None:
        t = max(1, int(round(width_m / self.res_m)))
        cv2.polylines(self.img, [self._fixed(pts_en)], closed, _bgr(color), t, cv2.LINE_AA, SHIFT)

    def circle(self, c_en: tuple[float, float], r_m: float, color: tuple[int, int, int]) -> None:
        c = self._fixed(np.array([c_en]))[0]
        cv2.circle(self.img, (int(c[0]), int(c[1])), max(1, int(round(r_m / self.res_m * SCALE))), _bgr(color), -1, cv2.LINE_AA, SHIFT)

    def window(self, polys: list[np.ndarray], pad_px: int = 2) -> tuple[slice, slice, np.ndarray] | None:
        """Pixel window covering the polygons, and their pixel coordinates relative to it."""
        pts = self.to_px(np.concatenate([np.asarray(p).reshape(-1, 2) for p in polys]))
        h, w = self.shape_hw
        x0 = max(0, int(math.floor(pts[:, 0].min())) - pad_px)
        y0 = max(0, int(math.floor(pts[:, 1].min())) - pad_px)
        x1 = min(w, int(math.ceil(pts[:, 0].max())) + pad_px + 1)
        y1 = min(h, int(math.ceil(pts[:, 1].max())) + pad_px + 1)
        if x1 <= x0 or y1 <= y0:
            return None
        return slice(y0, y1), slice(x0, x1), np.array([x0, y0], dtype=float)

    def mask(self, polys: list[np.ndarray], blur_px: float = 0.0):
        """Float mask (0..1) of the polygons inside their window; None when off the canvas."""
        win = self.window(polys, pad_px=int(2 + 3 * blur_px))
        if win is None:
            return None
        ys, xs, off = win
        m = np.zeros((ys.stop - ys.start, xs.stop - xs.start), np.uint8)
        pts = [np.round((self.to_px(p) - off) * SCALE).astype(np.int32) for p in polys if len(p) >= 3]
        cv2.fillPoly(m, pts, 255, cv2.LINE_AA, SHIFT)
        mf = m.astype(np.float32) * (1.0 / 255.0)
        if blur_px > 0:
            mf = cv2.GaussianBlur(mf, (0, 0), blur_px)
        return ys, xs, mf

    def shade(self, polys: list[np.ndarray], factor: float, blur_px: float = 0.0,
              tint: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> None:
        """Multiply the pixels under the polygons by ``factor`` (shadows < 1, highlights > 1)."""
        got = self.mask(polys, blur_px)
        if got is None:
            return
        ys, xs, m = got
        sub = self.img[ys, xs].astype(np.float32)
        gain = 1.0 + m[..., None] * (factor * np.array(tint[::-1], np.float32) - 1.0)
        self.img[ys, xs] = np.clip(sub * gain, 0, 255).astype(np.uint8)

    def blend(self, polys: list[np.ndarray], color: tuple[int, int, int], alpha: float, blur_px: float = 0.0) -> None:
        got = self.mask(polys, blur_px)
        if got is None:
            return
        ys, xs, m = got
        sub = self.img[ys, xs].astype(np.float32)
        a = (m * alpha)[..., None]
        self.img[ys, xs] = np.clip(sub * (1 - a) + np.array(_bgr(color), np.float32) * a, 0, 255).astype(np.uint8)


def _bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = rgb
    return (int(b), int(g), int(r))


def place(local_xy: np.ndarray, center_en: tuple[float, float], heading_deg: float) -> np.ndarray:
    """Shape-local points (x forward, y left, metres) -> east-north; heading from east, counter-clockwise."""
    a = math.radians(heading_deg)
    c, s = math.cos(a), math.sin(a)
    p = np.asarray(local_xy, dtype=float).reshape(-1, 2)
    e = center_en[0] + c * p[:, 0] - s * p[:, 1]
    n = center_en[1] + s * p[:, 0] + c * p[:, 1]
    return np.column_stack([e, n])


def rect(length_m: float, width_m: float, x0: float = 0.0, y0: float = 0.0) -> np.ndarray:
    """Axis-aligned rectangle centred at (x0, y0) in shape-local coordinates."""
    hl, hw = length_m / 2, width_m / 2
    return np.array([[x0 - hl, y0 - hw], [x0 + hl, y0 - hw], [x0 + hl, y0 + hw], [x0 - hl, y0 + hw]])


def rounded_rect(length_m: float, width_m: float, r_m: float, x0: float = 0.0, y0: float = 0.0, n: int = 4) -> np.ndarray:
    r = min(r_m, length_m / 2 - 1e-3, width_m / 2 - 1e-3)
    hl, hw = length_m / 2 - r, width_m / 2 - r
    pts = []
    for cx, cy, a0 in ((hl, -hw, -90), (hl, hw, 0), (-hl, hw, 90), (-hl, -hw, 180)):
        for k in range(n + 1):
            a = math.radians(a0 + 90 * k / n)
            pts.append((x0 + cx + r * math.cos(a), y0 + cy + r * math.sin(a)))
    return np.array(pts)


def blob(rng: np.random.Generator, r_m: float, n: int = 18, rough: float = 0.25, aspect: float = 1.0) -> np.ndarray:
    """Irregular closed outline around (0, 0): radius ``r_m`` with smooth random wobble."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    k = np.arange(1, 5)
    amp = rng.normal(0, rough, size=(4,)) / k
    ph = rng.uniform(0, 2 * math.pi, size=(4,))
    rad = r_m * (1 + (amp[None, :] * np.sin(k[None, :] * t[:, None] + ph[None, :])).sum(axis=1))
    rad = np.maximum(rad, 0.3 * r_m)
    return np.column_stack([rad * np.cos(t) * aspect, rad * np.sin(t)])
