"""Detector stand-ins for verification tests.

``KnownBoxesDetector`` is honest about what it knows: it holds one full image and the boxes that are
really in it (hand or dataset labels). Given a crop of that image (an exact sub-array, as verification
passes), it finds where the crop lies by template matching and returns the known boxes that lie
mostly inside the crop. It never sees the before image or the case.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from patrol.detect.base import Detection


class KnownBoxesDetector:
    def __init__(self, image_bgr: np.ndarray, boxes_xyxy_px: Sequence[Sequence[float]], class_name: str = "vehicle") -> None:
        self.image = image_bgr
        self.gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
        self.boxes = [tuple(float(v) for v in b) for b in boxes_xyxy_px]
        self.class_name = class_name
        self.calls = 0

    def locate(self, crop: np.ndarray) -> tuple[int, int]:
        g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        h, w = g.shape
        ph, pw = min(h, 48), min(w, 48)
        py, px = (h - ph) // 2, (w - pw) // 2
        patch = g[py : py + ph, px : px + pw]
        res = cv2.matchTemplate(self.gray, patch, cv2.TM_SQDIFF)
        _, _, loc, _ = cv2.minMaxLoc(res)
        x0, y0 = loc[0] - px, loc[1] - py
        if not np.array_equal(self.image[y0 : y0 + h, x0 : x0 + w], crop):
            raise AssertionError("crop is not a sub-image of the known image")
        return x0, y0

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        x0, y0 = self.locate(image)
        h, w = image.shape[:2]
        out = []
        for x1, y1, x2, y2 in self.boxes:
            cx1, cy1, cx2, cy2 = max(x1 - x0, 0), max(y1 - y0, 0), min(x2 - x0, w), min(y2 - y0, h)
            if cx2 <= cx1 or cy2 <= cy1:
                continue
            if (cx2 - cx1) * (cy2 - cy1) < 0.5 * (x2 - x1) * (y2 - y1):
                continue
            out.append(Detection((cx1, cy1, cx2, cy2), self.class_name, 0.9))
        return out


class NullDetector:
    """Finds nothing (a detector that misses everything): verdicts then rest on the change measure."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        return []
