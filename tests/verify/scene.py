"""A tiny synthetic world for verification tests: a textured orthophoto of flat ground, objects drawn
on it, and camera views rendered through ``patrol.geo`` Cameras (exact ground-plane homographies).

Deterministic for a seed. Objects are axis-aligned rectangles on the ground in local metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from patrol.geo.camera import Camera, CameraPose
from patrol.ingest.frame import Intrinsics

ORTHO_GSD_M = 0.04
ORTHO_HALF_M = 60.0  # ortho covers [-60, 60] m in east and north
IMG_WH = (960, 720)
INTR = Intrinsics(800.0, 800.0, (IMG_WH[0] - 1) / 2, (IMG_WH[1] - 1) / 2, IMG_WH, "sim")


@dataclass(frozen=True)
class GroundBox:
    """An object on the ground: centre (east_m, north_m), size (east, north) in metres, BGR colour."""

    east_m: float
    north_m: float
    size_en_m: tuple[float, float]
    colour_bgr: tuple[int, int, int]
    class_name: str = "vehicle"

    def corners_en(self) -> np.ndarray:
        w, h = self.size_en_m
        e, n = self.east_m, self.north_m
        return np.array([[e - w / 2, n - h / 2], [e + w / 2, n - h / 2], [e + w / 2, n + h / 2], [e - w / 2, n + h / 2]])


def _en_to_ortho_px(en: np.ndarray) -> np.ndarray:
    e, n = en[:, 0], en[:, 1]
    return np.c_[(e + ORTHO_HALF_M) / ORTHO_GSD_M, (ORTHO_HALF_M - n) / ORTHO_GSD_M]


def ortho_to_en_matrix() -> np.ndarray:
    """3x3 mapping ortho pixels -> [east_m, north_m, 1]."""
    g = ORTHO_GSD_M
    return np.array([[g, 0.0, -ORTHO_HALF_M], [0.0, -g, ORTHO_HALF_M], [0.0, 0.0, 1.0]])


def ground_texture(seed: int) -> np.ndarray:
    """A textured ground: smooth colour noise, paving lines, kerbs, blobs (features for SIFT)."""
    rng = np.random.default_rng(seed)
    n = int(2 * ORTHO_HALF_M / ORTHO_GSD_M)
    small = rng.integers(70, 170, size=(n // 40, n // 40, 3)).astype(np.uint8)
    img = cv2.resize(small, (n, n), interpolation=cv2.INTER_CUBIC)
    noise = rng.normal(0, 6, size=(n, n, 1)).astype(np.float32)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    for _ in range(700):
        c = tuple(int(v) for v in rng.integers(20, 235, 3))
        x, y = (int(v) for v in rng.integers(0, n, 2))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.circle(img, (x, y), int(rng.integers(6, 40)), c, -1)
        elif kind == 1:
            w, h = (int(v) for v in rng.integers(10, 90, 2))
            cv2.rectangle(img, (x, y), (x + w, y + h), c, -1)
        else:
            x2, y2 = (int(v) for v in rng.integers(0, n, 2))
            cv2.line(img, (x, y), (x2, y2), c, int(rng.integers(2, 8)))
    return img


def draw_objects(ortho: np.ndarray, objects: list[GroundBox], shadow: bool = False) -> np.ndarray:
    out = ortho.copy()
    for ob in objects:
        px = _en_to_ortho_px(ob.corners_en()).astype(np.int32)
        if shadow:
            sh = px + np.array([12, 10], np.int32)
            over = out.copy()
            cv2.fillConvexPoly(over, sh, (20, 20, 20))
            out = cv2.addWeighted(over, 0.45, out, 0.55, 0)
        cv2.fillConvexPoly(out, px, ob.colour_bgr)
        # a windscreen and roof line make it look like a car to a feature detector
        x1, y1 = px.min(axis=0)
        x2, y2 = px.max(axis=0)
        cv2.rectangle(out, (int(x1 + 0.2 * (x2 - x1)), int(y1 + 0.15 * (y2 - y1))), (int(x2 - 0.2 * (x2 - x1)), int(y1 + 0.35 * (y2 - y1))), (30, 30, 30), -1)
    return out


def camera(east=0.0, north=-30.0, height=50.0, yaw=0.0, pitch=-60.0, roll=0.0) -> Camera:
    return Camera(INTR, CameraPose(east, north, height, yaw, pitch, roll))


def render(ortho: np.ndarray, cam: Camera, *, gain: float = 1.0, offset: float = 0.0, tint=(0.0, 0.0, 0.0), blur_px: float = 0.0) -> np.ndarray:
    """The camera's view of the ortho (flat ground), with a lighting change and optional blur."""
    h = cam.ground_to_image_homography() @ ortho_to_en_matrix()
    img = cv2.warpPerspective(ortho, h, IMG_WH, flags=cv2.INTER_LINEAR, borderValue=(200, 200, 200))
    if gain != 1.0 or offset or any(tint):
        img = np.clip(img.astype(np.float32) * gain + offset + np.array(tint, np.float32), 0, 255).astype(np.uint8)
    if blur_px > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur_px)
    return img


def project_box(cam: Camera, ob: GroundBox) -> tuple[float, float, float, float]:
    c = ob.corners_en()
    u, v = cam.ground_to_pixel(c[:, 0], c[:, 1])
    return float(u.min()), float(v.min()), float(u.max()), float(v.max())
