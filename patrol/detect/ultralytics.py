"""ultralytics backend: .pt (or any format ultralytics reads) through ultralytics' own predictor.

The only module of patrol's runtime that imports ultralytics (and through it torch), lazily inside
``load()``, so ``import patrol.detect`` never pulls torch in. Needs the ``train`` extra.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from patrol.detect.base import Detection
from patrol.detect.onnx import letterbox, to_detections
from patrol.errors import ModelError


def offline_env(config_dir: str | Path | None = None) -> None:
    """Keep ultralytics from reaching the network (downloads, auto-installs, telemetry)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    if config_dir is not None:
        os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))


class UltralyticsDetector:
    """A YOLO model run by ultralytics (CPU). ``detect(image_bgr) -> list[Detection]``."""

    def __init__(self, model, path: Path, confidence: float | None, iou: float, imgsz: int | None, max_det: int) -> None:
        self.model = model
        self.path = path
        self.confidence = 0.5 if confidence is None else confidence  # .pt files carry no operating point
        self.iou = iou
        self.max_det = max_det
        names = model.names
        self.class_names: tuple[str, ...] = tuple(str(names[k]) for k in sorted(names)) if isinstance(names, dict) else tuple(names)
        if imgsz is None:
            args = getattr(model, "overrides", {}) or {}
            imgsz = int(args.get("imgsz") or 640)
        self.input_wh = (imgsz, imgsz)

    def detect(self, image: np.ndarray) -> list[Detection]:
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected a BGR image HxWx3, got shape {image.shape}")
        # letterbox here, exactly as the ONNX backend does: ultralytics' own .pt predictor pads only to
        # a stride multiple ("rect"), which changes the input geometry and so the boxes
        h, w = image.shape[:2]
        boxed, lb = letterbox(image, self.input_wh)
        res = self.model.predict(
            boxed,
            conf=self.confidence,
            iou=self.iou,
            imgsz=self.input_wh[0],
            max_det=self.max_det,
            device="cpu",
            verbose=False,
        )[0]
        boxes = res.boxes
        xyxy = boxes.xyxy.cpu().numpy().astype(np.float64)
        scores = boxes.conf.cpu().numpy().astype(np.float64)
        cls = boxes.cls.cpu().numpy().astype(np.int64)
        return to_detections(xyxy, scores, cls, lb, (w, h), self.class_names)


def load(
    path: str | Path,
    confidence: float | None = None,
    iou: float = 0.5,
    imgsz: int | None = None,
    max_det: int = 300,
) -> UltralyticsDetector:
    """Load a model file with ultralytics. ModelError when ultralytics is missing or the file is bad."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: model file not found")
    offline_env()
    try:
        from ultralytics import YOLO
    except ImportError as e:
        raise ModelError(
            "the ultralytics backend needs ultralytics and torch: pip install 'patrol[train]' "
            "(or use --backend onnx)"
        ) from e
    try:
        model = YOLO(str(p), task="detect")
    except Exception as e:  # ultralytics raises many types for a bad file
        raise ModelError(f"{p}: ultralytics cannot load it: {e}") from e
    return UltralyticsDetector(model, p, confidence, iou, imgsz, max_det)
