"""Detect test fixtures: synthetic scenes, and a small YOLO model built on the fly (needs ultralytics)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "models" / "patrol.onnx"


def scene(w: int, h: int, seed: int = 0) -> np.ndarray:
    """A BGR street-like test image: grey asphalt with noise and coloured rectangles (cars)."""
    rng = np.random.default_rng(seed)
    img = rng.normal(110, 12, (h, w, 3)).clip(0, 255).astype(np.uint8)
    for _ in range(max(4, w * h // 20000)):
        x, y = int(rng.integers(0, max(1, w - 40))), int(rng.integers(0, max(1, h - 20)))
        bw, bh = int(rng.integers(15, 45)), int(rng.integers(8, 25))
        img[y : y + bh, x : x + bw] = rng.integers(0, 255, 3)
    return img


@pytest.fixture(scope="session")
def dev_yolo(tmp_path_factory) -> tuple[Path, Path]:
    """(pt, onnx) of a random-weight YOLOv8n (4 patrol classes, 320 px) whose BatchNorm statistics come
    from synthetic scenes and whose class bias lets ~3% of anchors pass 0.5, so its outputs are
    spread out like a trained model's (a fresh random net scores ~0.5 everywhere). Built offline from
    the yaml in a few seconds; skipped without ultralytics."""
    pytest.importorskip("ultralytics")
    d = tmp_path_factory.mktemp("devyolo")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(REPO / ".yolo"))
    import torch
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel

    imgsz = 320
    torch.manual_seed(0)
    net = DetectionModel("yolov8n.yaml", nc=4, verbose=False)
    net.names = {0: "vehicle", 1: "vendor_stall", 2: "road_damage", 3: "garbage"}
    crops = np.stack([scene(imgsz, imgsz, seed=s)[:, :, ::-1] for s in range(8)])
    x = torch.from_numpy(crops.copy()).permute(0, 3, 1, 2).float() / 255
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = 1.0
    net.train()
    with torch.no_grad():
        net(x)
    net.eval()
    head = net.model[-1]
    with torch.no_grad():
        for seq in head.cv3:
            seq[-1].bias.zero_()
        lg = torch.logit(net(x[:1])[0][0, 4:].clamp(1e-7, 1 - 1e-7)).amax(0)
        q = float(torch.quantile(lg, 0.97))
        for seq in head.cv3:
            seq[-1].bias.fill_(-q)
    pt = d / "dev.pt"
    torch.save({"model": net, "train_args": {"imgsz": imgsz, "task": "detect"}, "date": None, "version": "dev"}, pt)
    onnx_path = Path(YOLO(str(pt)).export(format="onnx", imgsz=imgsz, simplify=False, opset=17, verbose=False))
    return pt, onnx_path


@pytest.fixture
def bundled_model() -> Path:
    """models/patrol.onnx is committed: a checkout without it is broken, so its tests fail (never skip)."""
    if not BUNDLED.is_file():
        pytest.fail(f"bundled model missing: {BUNDLED} is committed; restore it (git checkout -- models/)")
    return BUNDLED


def _head(rows, n_pad: int = 0, nc: int = 4) -> np.ndarray:
    cols = [[cx, cy, w, h, *s] for cx, cy, w, h, s in rows]
    cols += [[5.0, 5.0, 2.0, 2.0] + [0.0] * nc] * n_pad
    return np.asarray(cols, dtype=np.float32).T[None]


def synthetic_onnx(path, input_hw=(64, 64), names="{0: 'vehicle', 1: 'garbage'}", meta=None):
    """A tiny ONNX 'detector' (no torch) whose head is a constant: a vehicle box at model pixels
    (22, 12, 42, 20) scoring 0.9 and a garbage box at (7, 47, 13, 53) scoring 0.6, in every input."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    const = _head([(32, 16, 20, 8, [0.9, 0.0]), (10, 50, 6, 6, [0.1, 0.6])], n_pad=6, nc=2)
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, *input_hw])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(const.shape))
    nodes = [
        helper.make_node("ReduceSum", ["images"], ["s"], keepdims=0),
        helper.make_node("Mul", ["s", "zero"], ["z"]),
        helper.make_node("Add", ["head", "z"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "synthetic",
        [inp],
        [out],
        initializer=[numpy_helper.from_array(const, "head"), numpy_helper.from_array(np.float32(0), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if names is not None:
        model.metadata_props.add(key="names", value=names)
    for k, v in (meta or {}).items():
        model.metadata_props.add(key=k, value=v)
    onnx.save(model, str(path))
    return path


