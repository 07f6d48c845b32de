"""Comparison of a before crop with the aligned after crop, and the verdict rule.

- ``normalise_lab``: match the after crop's Lab colour statistics to the before crop over the
  surroundings of the object (not the object itself, which may be what changed), so a different day,
  sun or white balance does not read as change.
- ``change_map``: per-pixel Lab distance after light blurring, minimised over small shifts so that a
  residual misalignment of a pixel or two is not change.
- ``region_change``: the share of the object's pixels that differ more than the surroundings
  typically differ (median + 2.5 robust deviations, at least an absolute floor): a self-calibrating
  contrast of the object's region against its neighbourhood.
- ``match_detections``: does the detector see an object of the case's class on the footprint.
- ``decide``: the verdict rule, with a confidence and reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np


class Verdict(StrEnum):
    FIXED = "fixed"
    STILL_PRESENT = "still_present"
    INCONCLUSIVE = "inconclusive"


class Inconclusive(StrEnum):
    """Why a verification could not decide."""

    REGISTRATION_FAILED = "registration_failed"
    OUT_OF_FRAME = "out_of_frame"
    OCCLUDED = "occluded"
    BLUR = "blur"
    NO_AFTER_FRAME = "no_after_frame"
    NO_BEFORE_IMAGE = "no_before_image"
    CONFLICTS_WITH_FINDING = "conflicts_with_finding"
    NO_DETECTOR = "no_detector"  # no detector re-run: a clear spot cannot be confirmed
    WEAK_REGISTRATION = "weak_registration"  # only the camera poses or the whole image aligned it
    GSD_TOO_COARSE = "gsd_too_coarse"  # the object spans too few pixels in the after frame


@dataclass(frozen=True)
class ChangeStats:
    """How much the object's region changed compared with its surroundings (fractions 0..1)."""

    region_changed_frac: float  # share of the region's pixels above the threshold
    surround_changed_frac: float  # same share in the surroundings (~0.1 by construction)
    threshold: float  # Lab distance used as the threshold
    region_median: float  # median Lab distance inside the region
    surround_median: float

    def __post_init__(self) -> None:
        for name in ("region_changed_frac", "surround_changed_frac"):
            v = getattr(self, name)
            if not (0.0 <= v <= 1.0):
                raise ValueError(f"{name} must be in [0, 1], got {v}")


@dataclass(frozen=True)
class DetectionMatch:
    """The best detection of the case's class over the case's box (None fields when there is none)."""

    found: bool
    score: float = 0.0
    iou: float = 0.0
    bbox_xyxy_px: tuple[float, float, float, float] | None = None  # in the before image's pixels


def box_mask(shape_hw: tuple[int, int], box_xyxy: Sequence[float]) -> np.ndarray:
    """Boolean mask of an axis-aligned box (clipped) in an image of ``shape_hw``."""
    h, w = shape_hw
    x1, y1, x2, y2 = box_xyxy
    m = np.zeros((h, w), dtype=bool)
    xa, ya = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
    xb, yb = min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
    if xb > xa and yb > ya:
        m[ya:yb, xa:xb] = True
    return m


def normalise_lab(before_bgr: np.ndarray, after_bgr: np.ndarray, stats_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(before_lab, after_lab_normalised) as float32 Lab.

    A change of sun, exposure or white balance is close to a per-channel gain and offset of the
    (gamma-encoded) colour values, so the after crop's B, G, R means and standard deviations over
    ``stats_mask`` (the surroundings, not the object that may have changed) are matched to the
    before crop's first; the distance is then measured in Lab, where it follows perceived colour."""
    b = before_bgr.astype(np.float32)
    a = after_bgr.astype(np.float32)
    if stats_mask.sum() < 32:
        stats_mask = np.ones(stats_mask.shape, dtype=bool)
    out = np.empty_like(a)
    for c in range(3):
        mb, sb = float(b[..., c][stats_mask].mean()), float(b[..., c][stats_mask].std())
        ma, sa = float(a[..., c][stats_mask].mean()), float(a[..., c][stats_mask].std())
        gain = sb / sa if sa > 1e-3 else 1.0
        gain = float(np.clip(gain, 0.33, 3.0))  # a flat crop must not blow noise up
        out[..., c] = (a[..., c] - ma) * gain + mb
    out = np.clip(out, 0.0, 255.0)
    lab_b = cv2.cvtColor(b / 255.0, cv2.COLOR_BGR2LAB)
    lab_a = cv2.cvtColor(out / 255.0, cv2.COLOR_BGR2LAB)
    # float Lab has L in 0..100; scale to the 8-bit convention (0..255) the thresholds use
    scale = np.array([2.55, 1.0, 1.0], np.float32)
    return lab_b * scale, lab_a * scale


def change_map(
    before_lab: np.ndarray, after_lab: np.ndarray, *, blur_sigma_px: float = 1.5, shift_px: int = 2, texture_weight: float = 0.0
) -> np.ndarray:
    """Per-pixel change (float32, HxW): the Lab distance after a Gaussian blur, minimised over shifts
    of the after crop by up to ``shift_px`` pixels (tolerance to residual misalignment), or
    ``texture_weight`` times the change of local contrast, whichever is larger."""
    k = max(3, int(2 * round(3 * blur_sigma_px) + 1))
    b = cv2.GaussianBlur(before_lab, (k, k), blur_sigma_px)
    a = cv2.GaussianBlur(after_lab, (k, k), blur_sigma_px)
    h, w = b.shape[:2]
    if shift_px <= 0:
        return np.sqrt(((b - a) ** 2).sum(axis=2))
    pad = shift_px
    ap = cv2.copyMakeBorder(a, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    best = None
    for dy in (-shift_px, 0, shift_px):  # 9 shifts; the blur covers the positions in between
        for dx in (-shift_px, 0, shift_px):
            diff = b - ap[pad + dy : pad + dy + h, pad + dx : pad + dx + w]
            d2 = cv2.transform(diff * diff, np.ones((1, 3), np.float32))
            best = d2 if best is None else np.minimum(best, d2)
    assert best is not None
    colour = np.sqrt(best.reshape(h, w))
    if texture_weight <= 0:
        return colour
    # texture: a repaired pothole or swept debris can keep its colour but lose its texture, so
    # compare the local contrast (standard deviation of L over a small window) as well
    tb, ta = _local_std(b[..., 0]), _local_std(a[..., 0])
    texture = np.abs(tb - ta)
    texture = cv2.erode(texture, np.ones((2 * shift_px + 1, 2 * shift_px + 1), np.uint8)) if shift_px > 0 else texture
    return np.maximum(colour, texture_weight * texture)


def _local_std(x: np.ndarray, k: int = 7) -> np.ndarray:
    m = cv2.blur(x, (k, k))
    m2 = cv2.blur(x * x, (k, k))
    return np.sqrt(np.maximum(m2 - m * m, 0.0))


def region_change(diff: np.ndarray, region: np.ndarray, surround: np.ndarray, *, floor: float = 10.0, k_mad: float = 2.5) -> ChangeStats:
    """Contrast of the change inside ``region`` against ``surround`` (boolean masks over ``diff``).

    The threshold is the surroundings' typical difference plus ``k_mad`` robust deviations
    (median + k * 1.4826 * MAD), at least ``floor`` Lab units: moved shadows and cars nearby raise it
    a little, but unlike a high percentile they cannot drown a real change of the spot."""
    r = diff[region]
    s = diff[surround]
    if r.size == 0:
        raise ValueError("empty region")
    if s.size < 16:
        s = diff[~region] if (~region).sum() >= 16 else r
    med = float(np.median(s))
    mad = float(np.median(np.abs(s - med))) * 1.4826
    thr = max(floor, med + k_mad * mad)
    return ChangeStats(
        region_changed_frac=float((r > thr).mean()),
        surround_changed_frac=float((s > thr).mean()),
        threshold=thr,
        region_median=float(np.median(r)),
        surround_median=med,
    )


def iou_xyxy(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def ios_xyxy(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over the smaller of two xyxy boxes (1.0 when one lies inside the other)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(ix * iy / small) if small > 0 else 0.0


def match_detections(
    footprint_xyxy: Sequence[float],
    class_name: str,
    boxes_xyxy: Sequence[Sequence[float]],
    classes: Sequence[str],
    scores: Sequence[float],
    *,
    min_overlap: float = 0.3,
    centre_tol_px: float = 0.0,
) -> DetectionMatch:
    """Best detection of ``class_name`` on the case's footprint (all boxes in the same pixels).

    A detection is on the spot when it covers at least ``min_overlap`` of the smaller of the two
    boxes (intersection over the smaller box): a different car, a longer or shorter box, a car
    standing half a length further on all count; a car in the next lane (touching the footprint's
    edge) does not. ``.iou`` holds that overlap. With ``centre_tol_px`` > 0 (pose-only alignment) a
    detection of similar size (area within 1/3..3x) whose centre is within that distance of the
    footprint's centre counts too: better a still_present than a false fixed from an alignment error."""
    best = DetectionMatch(False)
    cx1, cy1, cx2, cy2 = footprint_xyxy
    case_area = (cx2 - cx1) * (cy2 - cy1)
    for box, cls, sc in zip(boxes_xyxy, classes, scores, strict=True):
        if cls != class_name:
            continue
        ov = ios_xyxy(footprint_xyxy, box)
        ok = ov >= min_overlap
        area = (box[2] - box[0]) * (box[3] - box[1])
        if not ok and centre_tol_px > 0 and case_area / 3.0 <= area <= 3.0 * case_area:
            mx, my = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
            ok = ((mx - (cx1 + cx2) / 2.0) ** 2 + (my - (cy1 + cy2) / 2.0) ** 2) ** 0.5 <= centre_tol_px
        if ok and (not best.found or sc * (0.5 + ov) > best.score * (0.5 + best.iou)):
            best = DetectionMatch(True, float(sc), ov, tuple(float(v) for v in box))  # type: ignore[arg-type]
    return best


def sharpness(gray: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian over the variance of the intensity (higher = sharper). Dividing by
    the contrast makes it blind to a lighting gain, so a darker day is not mistaken for blur."""
    g = gray.astype(np.float32)
    lap = cv2.Laplacian(g, cv2.CV_32F)
    v = lap[mask] if mask is not None else lap
    i = g[mask] if mask is not None else g
    if v.size < 16:
        return 0.0
    return float(v.var() / max(float(i.var()), 1.0))


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    confidence: float
    reasons: tuple[str, ...]
    inconclusive_reason: Inconclusive | None = None


@dataclass(frozen=True)
class SpotEvidence:
    """What must hold before a clear spot may be called ``fixed`` (each None = it holds).

    Set by ``verify_images``: ``weak`` is the reason and text when the evidence for "the spot is
    clear" is not good enough (no detector run, only a pose or whole-image alignment, ground
    resolution too coarse for the class)."""

    weak: tuple[Inconclusive, str] | None = None


def decide(
    class_name: str,
    match: DetectionMatch,
    change: ChangeStats,
    *,
    change_threshold: float,
    evidence: SpotEvidence = SpotEvidence(),
) -> Decision:
    """The verdict rule.

    - a detection of the case's class on the footprint -> ``still_present`` (any such object keeps
      the case open, whatever its colour);
    - nothing detected and the spot did not change (``region_changed_frac < change_threshold``) ->
      ``still_present``: the same pixels as before, so the object is likelier missed than gone;
    - nothing detected, the spot changed, and the evidence holds (detector re-run at its sensitive
      threshold, local feature registration, fine enough ground resolution) -> ``fixed``;
    - nothing detected, the spot changed, but the evidence is weak -> ``inconclusive`` with its reason:
      change alone never makes ``fixed``.
    """
    frac = change.region_changed_frac
    ch = f"{frac:.0%} of the spot changed (threshold {change_threshold:.0%}; surroundings {change.surround_changed_frac:.0%})"
    if match.found:
        conf = 0.55 + 0.4 * match.score
        if frac < change_threshold:
            conf += 0.05
        return Decision(
            Verdict.STILL_PRESENT,
            round(min(conf, 0.99), 3),
            (f"detector finds a {class_name} on the spot (score {match.score:.2f}, covers {match.iou:.0%} of the smaller box)", ch),
        )
    if frac < change_threshold:
        conf = 0.5 + 0.4 * (1.0 - frac / max(change_threshold, 1e-6))
        return Decision(Verdict.STILL_PRESENT, round(conf, 3), (f"no {class_name} detected, but the spot did not change", ch))
    if evidence.weak is not None:
        reason, text = evidence.weak
        return Decision(Verdict.INCONCLUSIVE, 0.5, (text, f"no {class_name} detected on the spot", ch), reason)
    strength = min(1.0, (frac - change_threshold) / max(1e-6, 1.0 - change_threshold))
    return Decision(
        Verdict.FIXED,
        round(0.6 + 0.35 * strength, 3),
        (f"no {class_name} detected on the spot by the detector re-run at its sensitive threshold", ch),
    )
