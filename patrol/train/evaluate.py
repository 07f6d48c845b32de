"""Score a detector on labelled full images with production tiled inference; pick the operating point.

Pure metric functions (matching, AP50, P/R curve, operating confidence) plus one thin runner that
calls ``patrol.detect.detect_frame`` on each image, so the numbers are what users get, not what a
per-tile validation reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from patrol.detect.base import Detection
from patrol.metrics import ap_from_curve
from patrol.train.labels import LabelledBox, LabelledImage


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between every box of ``a`` (N, 4 xyxy) and ``b`` (M, 4 xyxy) -> (N, M)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def match_image(
    detections: Sequence[Detection], truth: Sequence[LabelledBox], class_name: str, iou_thr: float = 0.5
) -> tuple[list[tuple[float, bool]], int]:
    """Greedy matching by descending score for one class in one image.

    Returns ([(score, is_true_positive)], number of true boxes). Each true box matches at most once.
    """
    dets = sorted((d for d in detections if d.class_name == class_name), key=lambda d: -d.score)
    gts = [t for t in truth if t.class_name == class_name]
    if not dets:
        return [], len(gts)
    ious = iou_matrix(np.array([d.bbox_xyxy_px for d in dets], float), np.array([t.bbox_xyxy_px for t in gts], float).reshape(-1, 4))
    used = np.zeros(len(gts), bool)
    out: list[tuple[float, bool]] = []
    for i, d in enumerate(dets):
        tp = False
        if len(gts):
            cand = np.where(~used, ious[i], -1.0)
            j = int(np.argmax(cand))
            if cand[j] >= iou_thr:
                used[j] = True
                tp = True
        out.append((d.score, tp))
    return out, len(gts)


@dataclass(frozen=True)
class ClassScore:
    """Scores of one class over a set of images; P/R at ``confidence``."""

    class_name: str
    n_true: int
    ap50: float
    precision: float
    recall: float
    confidence: float
    curve: tuple[tuple[float, float, float], ...] = ()  # (confidence, precision, recall), falling confidence


def pr_curve(scored: Sequence[tuple[float, bool]], n_true: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scores desc, precision, recall) after each detection in descending score order."""
    if not scored:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    arr = sorted(scored, key=lambda s: -s[0])
    scores = np.array([s for s, _ in arr], float)
    tp = np.cumsum([t for _, t in arr])
    fp = np.cumsum([not t for _, t in arr])
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / max(n_true, 1)
    return scores, precision, recall


def average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """All-point interpolated AP (``patrol.metrics``: the same definition as `patrol eval`)."""
    return ap_from_curve(precision, recall)


def at_confidence(scores: np.ndarray, precision: np.ndarray, recall: np.ndarray, confidence: float) -> tuple[float, float]:
    """(precision, recall) keeping detections with score >= ``confidence``."""
    k = int(np.sum(scores >= confidence))
    if k == 0:
        return 1.0, 0.0
    return float(precision[k - 1]), float(recall[k - 1])


def best_f1_confidence(
    scores: np.ndarray, precision: np.ndarray, recall: np.ndarray, floor: float = 0.05, fallback: float = 0.5
) -> float:
    """Confidence that maximises F1 on a P/R curve, rounded down to 0.05 (at least ``floor``);
    ``fallback`` when no detection is right (an empty curve has no best point)."""
    if len(scores) == 0 or not np.any(recall > 0):
        return fallback
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-9)
    i = int(np.argmax(f1))
    return max(floor, float(np.floor(scores[i] * 20) / 20))


def score_class(
    per_image: Iterable[tuple[Sequence[Detection], Sequence[LabelledBox]]], class_name: str, confidence: float | None = None
) -> ClassScore:
    """AP50 and P/R at ``confidence`` (None = the best-F1 point) of one class over many images."""
    scored: list[tuple[float, bool]] = []
    n_true = 0
    for dets, truth in per_image:
        s, n = match_image(dets, truth, class_name)
        scored.extend(s)
        n_true += n
    scores, precision, recall = pr_curve(scored, n_true)
    ap = average_precision(precision, recall) if n_true else 0.0
    conf = best_f1_confidence(scores, precision, recall) if confidence is None else confidence
    p, r = at_confidence(scores, precision, recall, conf)
    grid = [c / 20 for c in range(19, 0, -1)]
    curve = tuple((c, *at_confidence(scores, precision, recall, c)) for c in grid)
    return ClassScore(class_name, n_true, ap, p, r, conf, curve)


def small_recall(
    per_image: Iterable[tuple[Sequence[Detection], Sequence[LabelledBox]]], class_name: str, confidence: float, max_size_px: float
) -> tuple[float, int]:
    """Recall on true boxes of size (sqrt of box area) at most ``max_size_px`` (IoU 0.5). Returns (recall, n)."""
    hit = total = 0
    for dets, truth in per_image:
        small = [
            t for t in truth
            if t.class_name == class_name
            and ((t.bbox_xyxy_px[2] - t.bbox_xyxy_px[0]) * (t.bbox_xyxy_px[3] - t.bbox_xyxy_px[1])) ** 0.5 <= max_size_px
        ]
        if not small:
            continue
        kept = [d for d in dets if d.class_name == class_name and d.score >= confidence]
        ious = iou_matrix(np.array([t.bbox_xyxy_px for t in small], float), np.array([d.bbox_xyxy_px for d in kept], float).reshape(-1, 4))
        total += len(small)
        hit += int(np.sum(ious.max(axis=1) >= 0.5)) if len(kept) else 0
    return (hit / total if total else float("nan")), total


def detect_images(images: Sequence[LabelledImage], detector, plan=None) -> list[tuple[list[Detection], tuple[LabelledBox, ...]]]:
    """Run production tiled inference (``patrol.detect.detect_frame``) on each labelled image."""
    from patrol.detect.engine import detect_frame, read_image

    out = []
    for im in images:
        dets = detect_frame(read_image(im.image_path), detector, plan)
        out.append((dets, im.boxes))
    return out
