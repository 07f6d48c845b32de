"""Registration of an after image (or crop) to a before one: homographies in pixels.

Every homography here maps BEFORE pixels to AFTER pixels (``h_ab``: [u_a, v_a, 1] ~ h_ab @ [u_b, v_b, 1]).
Three sources, best first:

- local features (SIFT by default, ORB or AKAZE on request), Lowe's ratio test, RANSAC homography;
  optionally refined with ECC when that raises the correlation of the surroundings;
- the two camera poses: image -> ground plane -> image (``geometric_homography``), the fallback when
  features fail (texture-less ground, strong change), reported as such by the caller;
- nothing: registration failed.

A homography is only accepted when it is plausible (orientation kept, scale within bounds, no
degenerate shear), so a RANSAC fit on a handful of wrong matches is rejected rather than trusted.
Pure functions over numpy arrays; OpenCV is the only framework used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

FEATURES = ("sift", "orb", "akaze")  # akaze needs an OpenCV build that has it (4.x; moved out in 5.0)


@dataclass(frozen=True)
class FeatureMatch:
    """Result of a feature registration: ``h_ab`` (None when it failed), match counts, and why."""

    h_ab: np.ndarray | None
    matches: int
    inliers: int
    reason: str | None = None


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 grayscale of a BGR or gray image."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _make(kind: str, n_features: int):
    if kind == "sift":
        return cv2.SIFT_create(nfeatures=n_features), cv2.NORM_L2
    if kind == "orb":
        return cv2.ORB_create(nfeatures=n_features), cv2.NORM_HAMMING
    if kind == "akaze":
        if not hasattr(cv2, "AKAZE_create"):
            raise ValueError(f"AKAZE is not in this OpenCV build ({cv2.__version__}); use sift or orb")
        return cv2.AKAZE_create(), cv2.NORM_HAMMING
    raise ValueError(f"unknown feature type {kind!r}; expected one of {', '.join(FEATURES)}")


def scale_matrix(s: float) -> np.ndarray:
    return np.diag([s, s, 1.0])


def translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def apply_h(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a 3x3 homography; rows with a non-positive scale come back NaN."""
    p = np.asarray(pts, dtype=float).reshape(-1, 2)
    q = np.c_[p, np.ones(len(p))] @ np.asarray(h, dtype=float).T
    with np.errstate(divide="ignore", invalid="ignore"):
        out = q[:, :2] / q[:, 2:3]
    out[q[:, 2] <= 1e-12] = np.nan
    return out


def plausible(h_ab: np.ndarray | None, at_xy: tuple[float, float], *, max_scale: float = 4.0, max_aniso: float = 3.0) -> bool:
    """True when ``h_ab`` is a sane image-to-image mapping near ``at_xy``: finite, orientation kept
    (no mirror), local scale within [1/max_scale, max_scale], anisotropy below ``max_aniso``."""
    if h_ab is None or not np.all(np.isfinite(h_ab)):
        return False
    x, y = at_xy
    pts = np.array([[x, y], [x + 1.0, y], [x, y + 1.0]])
    q = apply_h(h_ab, pts)
    if not np.all(np.isfinite(q)):
        return False
    jac = np.array([q[1] - q[0], q[2] - q[0]]).T
    det = float(np.linalg.det(jac))
    if det <= 0:
        return False
    sv = np.linalg.svd(jac, compute_uv=False)
    if not (1.0 / max_scale <= math.sqrt(det) <= max_scale):
        return False
    return bool(sv[0] / max(sv[1], 1e-12) <= max_aniso)


def feature_homography(
    before_gray: np.ndarray,
    after_gray: np.ndarray,
    *,
    kind: str = "sift",
    n_features: int = 3000,
    ratio: float = 0.75,
    ransac_px: float = 4.0,
    min_inliers: int = 12,
    min_inlier_ratio: float = 0.08,
    before_mask: np.ndarray | None = None,
    gate_px: float | None = None,
    offset_xy: tuple[float, float] = (0.0, 0.0),
) -> FeatureMatch:
    """Homography before -> after from local features (ratio test + RANSAC).

    ``before_mask`` (uint8, nonzero = use) keeps features out of a region (the object that may have
    changed). With ``gate_px`` (guided matching, for an after image already warped close to the
    before one), a before keypoint at p may only match an after keypoint within ``gate_px`` of
    p + ``offset_xy``; the ratio test then runs among those candidates, so repeated structure far
    away (lane markings, parking bays) cannot steal a match. Fails (``h_ab`` None, with a reason)
    below ``min_inliers`` inliers or ``min_inlier_ratio`` of the ratio-test matches.
    """
    det, norm = _make(kind, n_features)
    kb, db = det.detectAndCompute(before_gray, before_mask)
    ka, da = det.detectAndCompute(after_gray, None)
    if db is None or da is None or len(kb) < 4 or len(ka) < 4:
        return FeatureMatch(None, 0, 0, f"too few {kind} features ({len(kb or ())} before, {len(ka or ())} after)")
    matcher = cv2.BFMatcher(norm)
    if gate_px is not None:
        pb = np.float32([k.pt for k in kb]) + np.float32(offset_xy)
        pa = np.float32([k.pt for k in ka])
        d2 = ((pb[:, None, :] - pa[None, :, :]) ** 2).sum(axis=2)
        allowed = (d2 <= float(gate_px) ** 2).astype(np.uint8)
        knn = matcher.knnMatch(db, da, k=2, mask=allowed)
        # a lone candidate inside the gate passes when it is a decent descriptor match
        good = [
            m[0]
            for m in knn
            if (len(m) == 2 and m[0].distance < ratio * m[1].distance) or (len(m) == 1 and norm == cv2.NORM_L2 and m[0].distance < 250.0)
        ]
    else:
        knn = matcher.knnMatch(db, da, k=2)
        good = [m[0] for m in knn if len(m) == 2 and m[0].distance < ratio * m[1].distance]
    if len(good) < min_inliers:
        return FeatureMatch(None, len(good), 0, f"{len(good)} {kind} matches pass the ratio test (need {min_inliers})")
    pb = np.float32([kb[m.queryIdx].pt for m in good])
    pa = np.float32([ka[m.trainIdx].pt for m in good])
    # RANSAC draws from OpenCV's global random state: seed it, so that one pair of images always
    # registers the same way, whatever ran before in this process (a verdict must not depend on that)
    cv2.setRNGSeed(0)
    h, inl = cv2.findHomography(pb, pa, cv2.RANSAC, ransac_px, maxIters=2000, confidence=0.995)
    n_in = int(inl.sum()) if inl is not None else 0
    if h is None or n_in < min_inliers or n_in < min_inlier_ratio * len(good):
        return FeatureMatch(None, len(good), n_in, f"RANSAC kept {n_in} of {len(good)} {kind} matches")
    return FeatureMatch(h, len(good), n_in)


def ecc_refine(
    before_gray: np.ndarray,
    after_gray: np.ndarray,
    h_ab: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    iterations: int = 40,
    eps: float = 1e-4,
) -> tuple[np.ndarray, float]:
    """Refine ``h_ab`` with ECC (template = before, input = after). Returns (h, correlation);
    ``h_ab`` itself with correlation -1 when ECC does not converge."""
    warp = (np.asarray(h_ab, dtype=np.float32) / float(h_ab[2, 2])).copy()
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iterations, eps)
    try:
        cc, warp = cv2.findTransformECC(
            before_gray.astype(np.float32), after_gray.astype(np.float32), warp, cv2.MOTION_HOMOGRAPHY, crit, mask, 3
        )
    except cv2.error:
        return np.asarray(h_ab, dtype=float), -1.0
    return warp.astype(float), float(cc)


def correlation(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Zero-mean normalised correlation of two equal-size gray images over ``mask`` (bool)."""
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    if mask is not None:
        a = a[mask]
        b = b[mask]
    if a.size < 16:
        return -1.0
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else -1.0


def geometric_homography(before_camera, after_camera) -> np.ndarray:
    """Before pixels -> after pixels through the flat ground plane, from two ``patrol.geo`` Cameras
    in the same LocalFrame. Exact for ground points when the poses are exact; off by the pose error
    (GPS, compass, gimbal) otherwise."""
    g_b = np.asarray(before_camera.ground_to_image_homography(), dtype=float)
    g_a = np.asarray(after_camera.ground_to_image_homography(), dtype=float)
    h = g_a @ np.linalg.inv(g_b)
    return h / h[2, 2] if abs(h[2, 2]) > 1e-12 else h


def global_homography(before_bgr: np.ndarray, after_bgr: np.ndarray, *, max_side_px: int = 1200, kind: str = "sift") -> FeatureMatch:
    """Whole-image registration at reduced resolution (for two photos without usable poses).
    Returns a FeatureMatch whose ``h_ab`` is in full-resolution pixels. Compute it once per pair."""
    sb = min(1.0, max_side_px / max(before_bgr.shape[:2]))
    sa = min(1.0, max_side_px / max(after_bgr.shape[:2]))
    b = cv2.resize(to_gray(before_bgr), None, fx=sb, fy=sb, interpolation=cv2.INTER_AREA)
    a = cv2.resize(to_gray(after_bgr), None, fx=sa, fy=sa, interpolation=cv2.INTER_AREA)
    fm = feature_homography(b, a, kind=kind, n_features=6000, ransac_px=3.0, min_inliers=20)
    if fm.h_ab is None:
        return fm
    h = scale_matrix(1.0 / sa) @ fm.h_ab @ scale_matrix(sb)
    return FeatureMatch(h / h[2, 2], fm.matches, fm.inliers)


def polygon_inside_fraction(poly_xy: np.ndarray, size_wh: tuple[int, int]) -> float:
    """Fraction of a convex pixel polygon's area inside the image rectangle (0 when degenerate)."""
    p = np.asarray(poly_xy, dtype=np.float32).reshape(-1, 2)
    if not np.all(np.isfinite(p)):
        return 0.0
    area = abs(cv2.contourArea(p))
    if area <= 1e-6:
        return 0.0
    w, h = size_wh
    rect = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    inter, _ = cv2.intersectConvexConvex(p, rect)
    return float(max(0.0, min(1.0, inter / area)))
