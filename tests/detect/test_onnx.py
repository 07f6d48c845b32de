"""ONNX backend: letterbox, YOLO decode + NMS on synthetic heads, metadata names, a synthetic model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from patrol.detect.onnx import Letterbox, decode_yolo, letterbox, parse_names, to_blob, to_detections
from patrol.errors import ModelError


def head(rows: list[tuple[float, float, float, float, list[float]]], n_pad: int = 0, nc: int = 4) -> np.ndarray:
    """Build a [1, 4+nc, N] head from (cx, cy, w, h, class scores) rows, plus zero-score padding."""
    cols = [[cx, cy, w, h, *s] for cx, cy, w, h, s in rows]
    cols += [[5.0, 5.0, 2.0, 2.0] + [0.0] * nc] * n_pad
    return np.asarray(cols, dtype=np.float32).T[None]


@pytest.mark.parametrize(
    "shape_hw, input_wh, gain, pad_xy, out_hw",
    [
        ((320, 320), (320, 320), 1.0, (0, 0), (320, 320)),  # a native tile: untouched
        ((160, 320), (320, 320), 1.0, (0, 80), (320, 320)),  # wide: pad top and bottom
        ((640, 320), (320, 320), 0.5, (80, 0), (320, 320)),  # tall: shrink, pad left/right
        ((100, 300), (320, 320), 320 / 300, (0, 106), (320, 320)),  # odd padding: 106 top, 107 bottom
    ],
)
def test_letterbox_table(shape_hw, input_wh, gain, pad_xy, out_hw):
    img = np.full((*shape_hw, 3), 7, np.uint8)
    out, lb = letterbox(img, input_wh)
    assert out.shape[:2] == out_hw
    assert lb.gain == pytest.approx(gain)
    assert (lb.pad_x_px, lb.pad_y_px) == pytest.approx(pad_xy, abs=0.51)
    if pad_xy[1] >= 1:
        assert (out[0] == 114).all()  # grey fill, like ultralytics


def test_decode_threshold_nms_and_classes():
    out = head(
        [
            (50, 50, 20, 10, [0.9, 0.1, 0.0, 0.0]),  # vehicle
            (51, 50, 20, 10, [0.8, 0.0, 0.0, 0.0]),  # duplicate vehicle -> NMS
            (51, 50, 20, 10, [0.0, 0.0, 0.0, 0.7]),  # same place, other class -> kept (class-wise)
            (200, 100, 10, 10, [0.0, 0.3, 0.0, 0.0]),  # below threshold
        ],
        n_pad=50,
    )
    boxes, scores, cls = decode_yolo(out, confidence=0.5, iou=0.5)
    assert cls.tolist() == [0, 3]
    assert scores == pytest.approx([0.9, 0.7])
    assert boxes[0] == pytest.approx([40, 45, 60, 55])


def test_decode_transposed_and_empty_and_max_det():
    out = head([(50, 50, 20, 10, [0.9, 0, 0, 0]), (150, 50, 20, 10, [0.8, 0, 0, 0])], n_pad=20)
    b1, s1, c1 = decode_yolo(out, 0.5, 0.5)
    b2, s2, c2 = decode_yolo(out.transpose(0, 2, 1), 0.5, 0.5)  # [1, N, 4+nc] layout
    assert np.allclose(b1, b2) and np.allclose(s1, s2) and (c1 == c2).all()
    assert len(decode_yolo(out, 0.95, 0.5)[0]) == 0
    assert len(decode_yolo(out, 0.5, 0.5, max_det=1)[0]) == 1


def test_decode_end_to_end_rows():
    rows = np.zeros((1, 300, 6), np.float32)
    rows[0, 0] = [10, 10, 30, 20, 0.9, 2]
    rows[0, 1] = [40, 10, 60, 20, 0.4, 1]
    boxes, scores, cls = decode_yolo(rows, 0.5, 0.5)
    assert boxes.tolist() == [[10, 10, 30, 20]] and cls.tolist() == [2]


@pytest.mark.parametrize("shape", [(2, 8, 100), (1, 4, 100), (8,)])
def test_decode_rejects_bad_shapes(shape):
    with pytest.raises(ModelError):
        decode_yolo(np.zeros(shape, np.float32), 0.5, 0.5)


@pytest.mark.parametrize(
    "text, expect",
    [
        ("{0: 'vehicle', 1: 'vendor_stall', 2: 'road_damage', 3: 'garbage'}", ("vehicle", "vendor_stall", "road_damage", "garbage")),
        ("{1: 'b', 0: 'a'}", ("a", "b")),
        ("['x', 'y']", ("x", "y")),
        ("", None),
        ("not python", None),
        ("42", None),
    ],
)
def test_parse_names(text, expect):
    assert parse_names(text) == expect


def test_to_detections_undoes_letterbox_and_clips():
    lb = Letterbox(gain=0.5, pad_x_px=80.0, pad_y_px=0.0)
    boxes = np.array([[90.0, 10.0, 100.0, 30.0], [70.0, 0.0, 85.0, 5.0], [60.0, 0, 70.0, 5]])
    dets = to_detections(boxes, np.array([0.9, 0.8, 0.7]), np.array([0, 1, 7]), lb, (320, 640), ("vehicle", "garbage"))
    assert dets[0].bbox_xyxy_px == (20.0, 20.0, 40.0, 60.0)
    assert dets[1].bbox_xyxy_px == (0.0, 0.0, 10.0, 10.0)  # clipped at the image's left edge
    assert len(dets) == 2  # the third lies wholly in the padding


def test_to_blob_rgb_chw_unit_range():
    img = np.zeros((4, 6, 3), np.uint8)
    img[..., 0] = 255  # blue in BGR
    blob = to_blob(img)
    assert blob.shape == (1, 3, 4, 6) and blob.dtype == np.float32
    assert blob[0, 2].max() == 1.0 and blob[0, 0].max() == 0.0  # blue ends up in channel 2 (RGB)


from tests.detect.conftest import synthetic_onnx as _synthetic_model  # noqa: E402


def test_onnx_detector_end_to_end(tmp_path):
    from patrol.detect.onnx import OnnxDetector

    p = _synthetic_model(tmp_path / "m.onnx")
    det = OnnxDetector(p, confidence=0.5, iou=0.5, threads=1)
    assert det.class_names == ("vehicle", "garbage") and det.input_wh == (64, 64)
    # a 128x64 (w x h) image is shrunk by 0.5 and padded 16 px top and bottom
    dets = det.detect(np.zeros((64, 128, 3), np.uint8))
    assert [d.class_name for d in dets] == ["vehicle", "garbage"]
    assert dets[0].bbox_xyxy_px == pytest.approx((44.0, 0.0, 84.0, 8.0))


def test_onnx_detector_without_names_metadata(tmp_path):
    from patrol.detect.onnx import OnnxDetector

    det = OnnxDetector(_synthetic_model(tmp_path / "m.onnx", names=None), threads=1)
    assert det.class_names == ("class_0", "class_1")


@pytest.mark.parametrize("content, match", [(None, "not found"), (b"garbage bytes", "not a loadable ONNX")])
def test_onnx_detector_bad_files(tmp_path, content, match):
    from patrol.detect.onnx import OnnxDetector

    p = tmp_path / "m.onnx"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(ModelError, match=match):
        OnnxDetector(p)


def test_runtime_path_never_imports_torch(tmp_path):
    p = _synthetic_model(tmp_path / "m.onnx")
    code = (
        "import sys, numpy as np\n"
        "from patrol.config import DetectSettings\n"
        "from patrol.detect import load_detector, detect_frame\n"
        f"d = load_detector(DetectSettings(model={str(p)!r}, threads=1))\n"
        "detect_frame(np.zeros((100, 150, 3), np.uint8), d)\n"
        "import patrol.detect.ultralytics\n"
        "bad = [m for m in ('torch', 'ultralytics') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "meta, confidence, expect",
    [
        ({}, None, ["vehicle", "garbage"]),  # no operating point stored: 0.5 for all
        ({"patrol_confidence": '{"vehicle": 0.95, "garbage": 0.55}'}, None, ["garbage"]),  # vehicle 0.9 < 0.95
        ({"patrol_confidence": '{"vehicle": 0.95}', "patrol_default_confidence": "0.65"}, None, []),  # garbage 0.6 < 0.65
        ({"patrol_confidence": '{"vehicle": 0.95, "garbage": 0.55}'}, 0.5, ["vehicle", "garbage"]),  # explicit wins
        ({"patrol_confidence": "not json"}, None, ["vehicle", "garbage"]),
    ],
)
def test_operating_confidence_from_metadata(tmp_path, meta, confidence, expect):
    from patrol.detect.onnx import OnnxDetector

    det = OnnxDetector(_synthetic_model(tmp_path / "m.onnx", meta=meta), confidence=confidence, threads=1)
    assert [d.class_name for d in det.detect(np.zeros((64, 64, 3), np.uint8))] == expect


def test_tile_px_from_metadata(tmp_path):
    from patrol.config import DetectSettings
    from patrol.detect.engine import plan_from_settings
    from patrol.detect.onnx import OnnxDetector

    det = OnnxDetector(_synthetic_model(tmp_path / "m.onnx", meta={"patrol_tile_px": "96"}), threads=1)
    assert det.tile_px == 96 and plan_from_settings(DetectSettings(), det).tile_px == 96
    assert plan_from_settings(DetectSettings(tile_px=128), det).tile_px == 128  # settings win
    plain = OnnxDetector(_synthetic_model(tmp_path / "p.onnx"), threads=1)
    assert plain.tile_px == 64


@pytest.mark.parametrize(
    "meta, class_confidence, expect",
    [
        # the model says garbage at 0.55 (0.6 passes); the config raises garbage to 0.7: only the vehicle is left
        ({"patrol_confidence": '{"vehicle": 0.5, "garbage": 0.55}'}, {"garbage": 0.7}, ["vehicle"]),
        # the config lowers the vehicle below its 0.95 metadata point; garbage keeps the metadata's 0.55
        ({"patrol_confidence": '{"vehicle": 0.95, "garbage": 0.55}'}, {"vehicle": 0.8}, ["vehicle", "garbage"]),
        ({}, {"vehicle": 0.95, "no_such_class": 0.1}, ["garbage"]),  # a class the model lacks is ignored
    ],
)
def test_class_confidence_from_settings_over_the_metadata(tmp_path, meta, class_confidence, expect):
    from patrol.config import DetectSettings
    from patrol.detect import load_detector

    p = _synthetic_model(tmp_path / "m.onnx", meta=meta)
    det = load_detector(DetectSettings(model=str(p), threads=1, class_confidence=class_confidence))
    assert [d.class_name for d in det.detect(np.zeros((64, 64, 3), np.uint8))] == expect
    # an explicit [detect] confidence still wins for every class
    det = load_detector(DetectSettings(model=str(p), threads=1, confidence=0.5, class_confidence=class_confidence))
    assert [d.class_name for d in det.detect(np.zeros((64, 64, 3), np.uint8))] == ["vehicle", "garbage"]


@pytest.mark.parametrize("spinning", [True, False])
def test_ort_spinning_setting_gives_the_same_detections(tmp_path, spinning):
    from patrol.config import DetectSettings
    from patrol.detect import load_detector

    p = _synthetic_model(tmp_path / "m.onnx")
    det = load_detector(DetectSettings(model=str(p), ort_spinning=spinning, class_confidence={}))
    assert det.spinning is spinning
    if not spinning:
        assert det.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert [d.class_name for d in det.detect(np.zeros((64, 64, 3), np.uint8))] == ["vehicle", "garbage"]


def _sidecar(model, conf, sha=None):
    import hashlib
    import json

    side = model.with_name(model.stem + ".operating.json")
    side.write_text(json.dumps({"model_sha256": sha or hashlib.sha256(model.read_bytes()).hexdigest(),
                                "confidence": conf, "chosen_by": "test"}))
    return side


def test_operating_sidecar_beside_the_model_wins_over_its_metadata(tmp_path):
    from patrol.config import DetectSettings
    from patrol.detect import load_detector

    p = _synthetic_model(tmp_path / "m.onnx", meta={"patrol_confidence": '{"vehicle": 0.5, "garbage": 0.55}'})
    _sidecar(p, {"garbage": 0.7})
    det = load_detector(DetectSettings(model=str(p), threads=1))
    assert det.thresholds == {"vehicle": 0.5, "garbage": 0.7} and "m.operating.json" in det.operating_source
    assert [d.class_name for d in det.detect(np.zeros((64, 64, 3), np.uint8))] == ["vehicle"]  # garbage 0.6 < 0.7
    # the config's class_confidence still wins over the sidecar
    det = load_detector(DetectSettings(model=str(p), threads=1, class_confidence={"garbage": 0.5}))
    assert [d.class_name for d in det.detect(np.zeros((64, 64, 3), np.uint8))] == ["vehicle", "garbage"]


def test_operating_sidecar_for_another_model_file_is_ignored_and_a_bad_one_is_an_error(tmp_path):
    from patrol.detect.onnx import OnnxDetector

    p = _synthetic_model(tmp_path / "m.onnx", meta={"patrol_confidence": '{"vehicle": 0.5, "garbage": 0.55}'})
    side = _sidecar(p, {"garbage": 0.7}, sha="0" * 64)  # written for another model: the metadata's points stay
    det = OnnxDetector(p, threads=1)
    assert det.thresholds["garbage"] == 0.55 and det.operating_source == "ONNX metadata"
    side.write_text("{not json")
    with pytest.raises(ModelError, match="not a valid operating-point file"):
        OnnxDetector(p, threads=1)


def test_the_committed_operating_points_are_for_the_committed_model():
    """models/patrol.operating.json must be bound to models/patrol.onnx (re-run scripts/operating_points.py
    --write after replacing the model: a stale file would silently fall back to the metadata's points)."""
    from patrol.detect.registry import BUNDLED_MODEL, load_detector
    from patrol.config import DetectSettings

    assert BUNDLED_MODEL.with_name("patrol.operating.json").is_file()
    det = load_detector(DetectSettings())
    assert "patrol.operating.json" in det.operating_source
    assert det.thresholds["road_damage"] == 0.75 and det.thresholds["vendor_stall"] == 0.85
