"""Detector backends by name: ``load_detector(settings.detect) -> Detector``.

A small explicit registry (no entry-point magic): an unknown name is a ModelError that lists the known
ones; a missing model file is a ModelError naming the path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from patrol.config import DetectSettings
from patrol.detect.base import Detector
from patrol.errors import ModelError

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_MODEL = REPO_ROOT / "models" / "patrol.onnx"


def _load_onnx(path: Path, s: DetectSettings) -> Detector:
    from patrol.detect.onnx import OnnxDetector

    return OnnxDetector(path, confidence=s.confidence, iou=s.iou, threads=s.threads,
                        class_confidence=s.class_confidence, spinning=s.ort_spinning)


def _load_ultralytics(path: Path, s: DetectSettings) -> Detector:
    from patrol.detect import ultralytics as ul

    return ul.load(path, confidence=s.confidence, iou=s.iou, imgsz=s.tile_px or None)


BACKENDS: dict[str, Callable[[Path, DetectSettings], Detector]] = {
    "onnx": _load_onnx,
    "ultralytics": _load_ultralytics,
}


def model_path(settings: DetectSettings) -> Path:
    """The model file the settings name; empty = the bundled ``models/patrol.onnx``."""
    return Path(settings.model).expanduser() if settings.model else BUNDLED_MODEL


def load_detector(settings: DetectSettings) -> Detector:
    """Build the detector ``settings.backend`` names, on ``settings.model`` (default: bundled model).

    Raises ModelError for an unknown backend (listing the known ones), a missing model file, or a
    file the backend cannot load.
    """
    loader = BACKENDS.get(settings.backend)
    if loader is None:
        raise ModelError(f"unknown detector backend {settings.backend!r}; known backends: {', '.join(sorted(BACKENDS))}")
    path = model_path(settings)
    if not path.is_file():
        hint = " (the bundled model is missing: train one with `patrol train` or pass --model)" if not settings.model else ""
        raise ModelError(f"{path}: model file not found{hint}")
    return loader(path, settings)
