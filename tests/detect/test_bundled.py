"""The bundled model (models/patrol.onnx, committed) through the production path; it missing is a failure."""

from __future__ import annotations

import shutil

from patrol.config import DetectSettings
from patrol.detect.base import CLASSES
from patrol.detect.evaluate import evaluate_folder
from patrol.detect.engine import plan_from_settings, run_tiles
from patrol.detect.registry import load_detector
from tests.conftest import shared_path


def test_bundled_model_metadata(bundled_model):
    det = load_detector(DetectSettings())  # the default: onnx backend, bundled model
    assert det.path == bundled_model
    assert set(det.class_names) <= set(CLASSES) and "vehicle" in det.class_names
    assert det.input_wh[0] == det.input_wh[1] and det.input_wh[0] % 32 == 0


def test_bundled_model_finds_cars_in_real_frames(bundled_model, tmp_path):
    cars = shared_path("aerial-cars")
    d = tmp_path / "few"
    d.mkdir()
    for name in ("DJI_0005-0018", "MOS74"):  # a video frame, a Munich aerial image
        src = next(cars.glob(name + ".*[gG]"))
        shutil.copy(src, d / src.name)
        shutil.copy(cars / f"{name}.txt", d / f"{name}.txt")
    shutil.copy(cars / "aerial.names", d / "aerial.names")
    s = DetectSettings(confidence=0.01)
    det = load_detector(s)
    plan = plan_from_settings(s, det)
    rep = evaluate_folder(d, lambda im, p: run_tiles(im, det, plan).detections, confidence=0.5)
    veh = next(c for c in rep.per_class if c.class_name == "vehicle")
    assert veh.n_gt > 20
    # a sanity bar for the production path (a broken decode, letterbox or merge scores ~0); the
    # model's real numbers are in models/MODEL_CARD.md
    assert veh.ap50 is not None and veh.ap50 > 0.25, veh
