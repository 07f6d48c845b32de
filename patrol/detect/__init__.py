"""Object detection: the Detector protocol, tiling, and backends (ONNX Runtime default).

Public API: ``load_detector(settings.detect) -> Detector`` and ``detect_frame(image_bgr, detector,
plan=None, roi_polygons_px=None) -> list[Detection]``. Loaded lazily so that importing
``patrol.detect.base`` stays light.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "load_detector": "patrol.detect.registry",
    "detect_frame": "patrol.detect.engine",
    "run_tiles": "patrol.detect.engine",
    "plan_from_settings": "patrol.detect.engine",
    "read_image": "patrol.detect.engine",
    "RoiZones": "patrol.detect.engine",
    "TilePlan": "patrol.detect.tiling",
    "ScalePass": "patrol.detect.tiling",
    "Detection": "patrol.detect.base",
    "Detector": "patrol.detect.base",
    "CLASSES": "patrol.detect.base",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'patrol.detect' has no attribute {name!r}")
