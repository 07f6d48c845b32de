"""The Detector protocol and the Detection record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

CLASSES: tuple[str, ...] = ("vehicle", "vendor_stall", "road_damage", "garbage")


@dataclass(frozen=True)
class Detection:
    """One object found in one image. Box in pixels of the image given to the detector."""

    bbox_xyxy_px: tuple[float, float, float, float]
    class_name: str
    score: float

    def __post_init__(self) -> None:
        x1, y1, x2, y2 = self.bbox_xyxy_px
        if not (x2 > x1 and y2 > y1):
            raise ValueError(f"bbox_xyxy_px must have x2>x1 and y2>y1, got {self.bbox_xyxy_px}")
        if not (0.0 <= self.score <= 1.0):
            raise ValueError(f"score must be in [0, 1], got {self.score}")
        if not self.class_name:
            raise ValueError("class_name must not be empty")


@runtime_checkable
class Detector(Protocol):
    """Anything that turns a BGR uint8 image (H, W, 3) into detections. Stateless per call."""

    def detect(self, image: np.ndarray) -> list[Detection]: ...
