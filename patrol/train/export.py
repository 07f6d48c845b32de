"""ONNX export of trained weights (ultralytics + onnx) and extra metadata for the runtime.

The exported graph has a static input (1, 3, imgsz, imgsz) and carries ultralytics' metadata
(``names``, ``imgsz``, ``stride``) plus ours: ``patrol_confidence`` (JSON: per-class operating
confidence chosen on validation) and ``licence``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from patrol.errors import ModelError
from patrol.train.env import configure_offline, require_local_weights

DEFAULT_OPSET = 17  # well inside what onnxruntime >= 1.17 runs


def export_onnx(weights: str | Path, out_path: str | Path, imgsz: int = 320, opset: int = DEFAULT_OPSET) -> Path:
    """Export a .pt to a static-shape ONNX file at ``out_path``. Raises ModelError on failure."""
    configure_offline()
    weights = require_local_weights(weights)
    try:
        from ultralytics import YOLO
    except ImportError as e:
        raise ModelError("export needs ultralytics, onnx and onnxslim: bash scripts/setup.sh --train") from e
    try:
        produced = YOLO(str(weights)).export(
            format="onnx", imgsz=imgsz, dynamic=False, simplify=True, opset=opset, device="cpu"
        )
    except Exception as e:  # ultralytics raises many types from the exporter
        raise ModelError(f"{weights}: ONNX export failed: {e}") from e
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if Path(produced).resolve() != out.resolve():
        shutil.copyfile(produced, out)
    return out


def add_metadata(onnx_path: str | Path, values: Mapping[str, str]) -> None:
    """Add or replace string metadata entries in an ONNX file, in place."""
    import onnx

    model = onnx.load(str(onnx_path))
    existing = {p.key: p for p in model.metadata_props}
    for k, v in values.items():
        if k in existing:
            existing[k].value = str(v)
        else:
            entry = model.metadata_props.add()
            entry.key, entry.value = k, str(v)
    onnx.save(model, str(onnx_path))


def confidence_metadata(per_class: Mapping[str, float], default: float) -> dict[str, str]:
    """Metadata entries for the operating confidence: a per-class JSON map and one default."""
    return {
        "patrol_confidence": json.dumps({k: round(float(v), 3) for k, v in per_class.items()}, sort_keys=True),
        "patrol_default_confidence": f"{default:.3f}",
    }
