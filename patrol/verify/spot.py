"""The case's spot in the after image: its footprint and what the detector finds on it.

A case's spot is its object's footprint: the before box mapped through the registration into the
after image. ``detect_on_spot`` runs the detector over a window around it (at least the detector's
input size, so the model sees the spot at its own scale), maps every detection back into the before
image and keeps the best one of the case's class that covers the footprint substantially
(``compare.match_detections``: intersection over the smaller box >= ``VerifySettings.spot_overlap``).
Pure: images, homographies and boxes in, plain values out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from patrol.config import VerifySettings
from patrol.verify import register as reg
from patrol.verify.compare import DetectionMatch, iou_xyxy, match_detections

Box = tuple[float, float, float, float]


def corners(box: Sequence[float]) -> np.ndarray:
    x1, y1, x2, y2 = box
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=float)


def bbox_of(pts: np.ndarray) -> Box:
    return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))


def local_scale(h: np.ndarray, xy: tuple[float, float]) -> float:
    """Linear scale of homography ``h`` at ``xy`` (after px per before px)."""
    x, y = xy
    q = reg.apply_h(h, np.array([[x, y], [x + 1, y], [x, y + 1]]))
    j = np.array([q[1] - q[0], q[2] - q[0]])
    d = abs(float(np.linalg.det(j)))
    return math.sqrt(d) if math.isfinite(d) and d > 0 else 1.0


class _Box:
    """A detection mapped back to the window's native pixels."""

    def __init__(self, bbox_xyxy_px: tuple[float, ...], class_name: str, score: float) -> None:
        self.bbox_xyxy_px, self.class_name, self.score = bbox_xyxy_px, class_name, score


def _overlaps(a: Sequence[float], b: Sequence[float]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def detect_on_spot(
    detector: Any,
    after_detections: Sequence[Any] | None,
    after_bgr: np.ndarray,
    after_poly: np.ndarray,
    h_full: np.ndarray,
    box: Box,
    class_name: str,
    s: VerifySettings,
    t_b: np.ndarray,
    centre_tol_px: float = 0.0,
    scale: float = 1.0,
) -> tuple[DetectionMatch, tuple[str, float] | None, tuple[Box, ...]]:
    """Detections on the case's footprint in the after image.

    ``detector`` (run on a window around the footprint) or ``after_detections`` (whole-image
    detections, after pixels); neither = nothing run (not found, no boxes). Returns the best match of
    the case's class, the best other-class detection covering the spot (name, IoU >= 0.5) if any, and
    every detection box mapped into the before crop's pixels (``t_b``: before px -> crop px).
    ``scale`` < 1: the window is resized by it before the detector sees it (the class's detection
    GSD, as the flight's detect stage does), the boxes are mapped back."""
    ha, wa = after_bgr.shape[:2]
    ax1, ay1, ax2, ay2 = bbox_of(after_poly)
    m = max(ax2 - ax1, ay2 - ay1, 32.0) + centre_tol_px * local_scale(h_full, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    # at least the detector's input size, so a model trained on native-resolution tiles sees the
    # spot at its own scale instead of a small crop blown up by the letterbox
    in_w, in_h = getattr(detector, "input_wh", None) or (0, 0)
    scale = min(1.0, max(scale, 0.05))
    mx = max(m, (float(in_w) / scale - (ax2 - ax1)) / 2.0)
    my = max(m, (float(in_h) / scale - (ay2 - ay1)) / 2.0)
    x0, y0 = max(0, int(ax1 - mx)), max(0, int(ay1 - my))
    x1, y1 = min(wa, int(math.ceil(ax2 + mx))), min(ha, int(math.ceil(ay2 + my)))
    if x1 - x0 < 8 or y1 - y0 < 8 or (detector is None and after_detections is None):
        return DetectionMatch(False), None, ()
    if after_detections is not None:  # whole-image detections: keep those around the spot
        dets = [d for d in after_detections if _overlaps(d.bbox_xyxy_px, (x0, y0, x1, y1))]
        ox, oy = 0, 0
    else:
        crop = np.ascontiguousarray(after_bgr[y0:y1, x0:x1])
        if scale < 1.0:
            import cv2

            small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            dets = [_Box(tuple(v / scale for v in d.bbox_xyxy_px), d.class_name, d.score) for d in detector.detect(small)]
        else:
            dets = list(detector.detect(crop))
        ox, oy = x0, y0
    h_inv = np.linalg.inv(h_full)
    boxes, classes, scores, boxes_w = [], [], [], []
    for det in dets:
        a = det.bbox_xyxy_px
        pts = reg.apply_h(h_inv, corners((a[0] + ox, a[1] + oy, a[2] + ox, a[3] + oy)))
        if not np.all(np.isfinite(pts)):
            continue
        b = bbox_of(pts)
        boxes.append(b)
        classes.append(det.class_name)
        scores.append(float(det.score))
        boxes_w.append(bbox_of(reg.apply_h(t_b, corners(b))))
    match = match_detections(box, class_name, boxes, classes, scores, min_overlap=s.spot_overlap, centre_tol_px=centre_tol_px)
    other = None
    for b, c in zip(boxes, classes, strict=True):
        if c != class_name:
            ov = iou_xyxy(box, b)  # an object of another class as large as the spot, covering it
            if ov >= 0.5 and (other is None or ov > other[1]):
                other = (c, ov)
    return match, other, tuple(boxes_w)


def object_at(
    detections: Sequence[Any], point_xy_px: tuple[float, float], max_dist_px: float, class_name: str
) -> Box | None:
    """The box of the ``class_name`` detection at a point: one containing it (the nearest centre
    first), else the nearest centre within ``max_dist_px``; None when there is none."""
    px, py = point_xy_px
    best: tuple[int, float, Box] | None = None
    for d in detections:
        if d.class_name != class_name:
            continue
        b = tuple(float(v) for v in d.bbox_xyxy_px)
        dist = math.hypot((b[0] + b[2]) / 2.0 - px, (b[1] + b[3]) / 2.0 - py)
        inside = b[0] <= px <= b[2] and b[1] <= py <= b[3]
        if not inside and dist > max_dist_px:
            continue
        key = (0 if inside else 1, dist, b)
        if best is None or key[:2] < best[:2]:
            best = key  # type: ignore[assignment]
    return best[2] if best is not None else None
