"""Evidence image of a verification: before | after (aligned) | difference, with the case's box drawn.

Pure (numpy in, numpy out); ``write_evidence`` is the thin file edge.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from patrol.errors import VerifyError
from patrol.verify.compare import Verdict
from patrol.verify.core import AlignedCrops, Verification

_COLOURS = {
    Verdict.FIXED: (60, 180, 60),
    Verdict.STILL_PRESENT: (40, 40, 220),
    Verdict.INCONCLUSIVE: (0, 190, 230),
}
PANEL_PX = 360  # each panel is scaled to this height


def _panel(img: np.ndarray, scale: float) -> np.ndarray:
    out = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return out if out.ndim == 3 else cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)


def difference_panel(crops: AlignedCrops) -> np.ndarray:
    """The Lab distance as a heat map (0 = black; grey where the after image has no pixels)."""
    h, w = crops.before_bgr.shape[:2]
    if crops.diff is None:
        d = np.zeros((h, w), np.uint8)
    else:
        d = np.clip(crops.diff * (255.0 / 60.0), 0, 255).astype(np.uint8)  # 60 Lab units = full scale
    heat = cv2.applyColorMap(d, cv2.COLORMAP_INFERNO)
    heat[~crops.valid] = (90, 90, 90)
    return heat


def evidence_image(crops: AlignedCrops, verification: Verification, title: str | None = None) -> np.ndarray:
    """BGR uint8 image: three panels side by side with the case's box, mapped detections (thin cyan)
    and a header line with the verdict, confidence and first reasons."""
    h, w = crops.before_bgr.shape[:2]
    scale = PANEL_PX / h
    colour = _COLOURS[verification.verdict]
    panels = []
    after = crops.after_aligned_bgr.copy()
    after[~crops.valid] = (90, 90, 90)
    for img in (crops.before_bgr, after, difference_panel(crops)):
        p = _panel(img, scale)
        x1, y1, x2, y2 = (int(round(v * scale)) for v in crops.box_xyxy_px)
        cv2.rectangle(p, (x1, y1), (x2, y2), colour, 2)
        panels.append(p)
    for b in crops.detections_xyxy_px:
        x1, y1, x2, y2 = (int(round(v * scale)) for v in b)
        cv2.rectangle(panels[1], (x1, y1), (x2, y2), (230, 220, 0), 1)
    gap = np.full((panels[0].shape[0], 6, 3), 255, np.uint8)
    body = np.hstack([panels[0], gap, panels[1], gap, panels[2]])
    head_h = 64
    head = np.full((head_h, body.shape[1], 3), 255, np.uint8)
    verdict = str(verification.verdict)
    if verification.inconclusive_reason:
        verdict += f" ({verification.inconclusive_reason})"
    line1 = f"{title + ': ' if title else ''}{verdict}  conf {verification.confidence:.2f}  align {verification.registration}"
    cv2.putText(head, line1, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.62, colour, 2, cv2.LINE_AA)
    line2 = "; ".join(verification.reasons)[:150]
    cv2.putText(head, line2, (8, 50), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (40, 40, 40), 1, cv2.LINE_AA)
    labels = np.full((22, body.shape[1], 3), 255, np.uint8)
    pw = panels[0].shape[1] + 6
    for i, text in enumerate(("before", "after (aligned)", "difference")):
        cv2.putText(labels, text, (8 + i * pw, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (40, 40, 40), 1, cv2.LINE_AA)
    return np.vstack([head, labels, body])


def write_evidence(path: str | Path, image: np.ndarray) -> Path:
    """Write an evidence image (format from the suffix, e.g. .jpg or .png). VerifyError on failure."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    suffix = p.suffix.lower() or ".jpg"
    params = [cv2.IMWRITE_JPEG_QUALITY, 88] if suffix in (".jpg", ".jpeg") else []
    try:
        ok, buf = cv2.imencode(suffix, image, params)
    except cv2.error as e:
        raise VerifyError(f"{p}: cannot encode the evidence image as {suffix}") from e
    if not ok:
        raise VerifyError(f"{p}: cannot encode the evidence image")
    try:
        p.write_bytes(buf.tobytes())
    except OSError as e:
        raise VerifyError(f"{p}: cannot write the evidence image: {e.strerror or e}") from e
    return p
