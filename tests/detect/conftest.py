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
    if not BUNDLED.is_file():
        pytest.skip(f"bundled model not built yet: {BUNDLED} (scripts/ training recipe)")
    return BUNDLED
