"""Detection metrics shared by `patrol eval`, the model card and the benchmarks: one AP definition.

AP50 is the all-point interpolated average precision (the area under the monotone precision envelope
of the P/R curve, detections in descending score, greedy one-to-one matching at IoU 0.5), as in
PASCAL VOC 2010+.
"""

from __future__ import annotations

import numpy as np


def ap_from_curve(precision: np.ndarray, recall: np.ndarray) -> float:
    """All-point interpolated AP from a P/R curve (points in descending score order)."""
    if len(precision) == 0:
        return 0.0
    mrec = np.concatenate([[0.0], np.asarray(recall, float), [1.0]])
    mpre = np.concatenate([[1.0], np.asarray(precision, float), [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def ap_from_flags(scores: np.ndarray, tp: np.ndarray, n_gt: int) -> float | None:
    """All-point AP from per-detection scores and true-positive flags; None when ``n_gt`` is 0."""
    if n_gt == 0:
        return None
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    tps = np.asarray(tp, dtype=float)[order]
    ctp = np.cumsum(tps)
    return ap_from_curve(ctp / np.arange(1, len(tps) + 1), ctp / n_gt)
