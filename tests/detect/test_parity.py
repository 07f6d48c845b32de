"""Both backends on the same model and image: same boxes within 1 px, same classes (needs ultralytics)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.detect.conftest import REPO, scene


@pytest.mark.train
@pytest.mark.parametrize("wh", [(320, 320), (480, 480), (640, 320), (200, 300)])
def test_onnx_matches_ultralytics(dev_yolo, wh):
    from patrol.detect import ultralytics as ul
    from patrol.detect.onnx import OnnxDetector

    pt, onnx_path = dev_yolo
    image = scene(*wh, seed=100 + wh[0])
    a = OnnxDetector(onnx_path, confidence=0.5, iou=0.45, threads=1).detect(image)
    b = ul.load(pt, confidence=0.5, iou=0.45, imgsz=320).detect(image)
    assert a, "the dev model found nothing: the parity check would be empty"
    assert len(a) == len(b)
    assert [d.class_name for d in a] == [d.class_name for d in b]
    diff = np.abs(np.array([d.bbox_xyxy_px for d in a]) - np.array([d.bbox_xyxy_px for d in b]))
    assert diff.max() <= 1.0
    assert max(abs(x.score - y.score) for x, y in zip(a, b)) < 1e-3


@pytest.mark.train
def test_bundled_pt_and_onnx_are_the_same_model():
    """models/patrol.pt (for fine-tuning and the ultralytics backend) is the network models/patrol.onnx
    was exported from: same boxes on a real aerial frame with cars."""
    import cv2

    from patrol.detect import ultralytics as ul
    from patrol.detect.onnx import OnnxDetector
    from tests.conftest import shared_path

    pt, onnx_path = REPO / "models" / "patrol.pt", REPO / "models" / "patrol.onnx"
    missing = [p.name for p in (pt, onnx_path) if not p.is_file()]
    assert not missing, f"committed model(s) missing from models/: {missing}; restore them (git checkout -- models/)"
    pytest.importorskip("ultralytics")
    frame = cv2.imread(str(shared_path("aerial-cars", "DJI-00760-00001.jpg")))
    tile = np.ascontiguousarray(frame[300:620, 800:1120])
    a = OnnxDetector(onnx_path, confidence=0.3, iou=0.5, threads=1).detect(tile)
    b = ul.load(pt, confidence=0.3, iou=0.5, imgsz=320).detect(tile)
    assert a, "the bundled model found nothing on a street with cars"
    assert [d.class_name for d in a] == [d.class_name for d in b]
    diff = np.abs(np.array([d.bbox_xyxy_px for d in a]) - np.array([d.bbox_xyxy_px for d in b]))
    assert diff.max() <= 1.0
