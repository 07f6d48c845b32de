"""Smoke training: 1 epoch on a few generated tiles, ONNX export, and the ONNX backend reads it back.

Needs torch + ultralytics (the training extra); skipped without them. Never downloads anything:
the model is built from ultralytics' yolov8n.yaml.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from patrol.errors import ConfigError, ModelError
from patrol.train.dataset import TileSettings, build_dataset
from patrol.train.labels import LabelledBox, LabelledImage
from patrol.train.recipe import TrainSettings


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"epochs": 0}, "epochs"),
        ({"imgsz": 100}, "multiple of 32"),
        ({"time_h": 0.0}, "time"),
        ({"architecture": "yolov8n.pt"}, "downloaded"),
    ],
)
def test_train_settings_validation(tmp_path, kwargs, error) -> None:
    with pytest.raises(ConfigError, match=error):
        TrainSettings(data_yaml=tmp_path / "d.yaml", out_dir=tmp_path, **kwargs)


def test_bare_weight_names_are_refused() -> None:
    from patrol.train.env import require_local_weights

    with pytest.raises(ModelError, match="bare names"):
        require_local_weights("yolov8n.pt")


def test_configure_offline_sets_env_and_fonts(tmp_path, monkeypatch) -> None:
    pytest.importorskip("matplotlib")
    from patrol.train.env import configure_offline

    for k in ("YOLO_OFFLINE", "YOLO_AUTOINSTALL", "YOLO_CONFIG_DIR", "OMP_NUM_THREADS"):
        monkeypatch.delenv(k, raising=False)
    cfg = configure_offline(tmp_path / "yolo", threads=2)
    import os

    assert os.environ["YOLO_OFFLINE"] == "1" and os.environ["YOLO_AUTOINSTALL"] == "false"
    assert os.environ["YOLO_CONFIG_DIR"] == str(cfg) and os.environ["OMP_NUM_THREADS"] == "2"
    assert (cfg / "Ultralytics" / "Arial.ttf").stat().st_size > 10_000
    assert (cfg / "Ultralytics" / "Arial.Unicode.ttf").is_file()


def _tiny_dataset(tmp_path):
    rng = np.random.default_rng(0)
    images = []
    for i in range(6):
        img = rng.integers(40, 90, (128, 128, 3), dtype=np.uint8)
        x, y = int(rng.integers(10, 80)), int(rng.integers(10, 80))
        img[y : y + 30, x : x + 20] = (0, 0, 230)
        p = tmp_path / f"t{i}.png"
        cv2.imwrite(str(p), img)
        images.append(LabelledImage(p, (128, 128), (LabelledBox((x, y, x + 20, y + 30), "vehicle"),), f"g{i % 3}", "test"))
    return build_dataset(images, tmp_path / "ds", TileSettings(tile_px=128, stride_px=128, scales=(1.0,)),
                         split={"g0": "train", "g1": "train", "g2": "val"})


@pytest.mark.train
@pytest.mark.slow
def test_smoke_train_export_and_onnx_backend(tmp_path, monkeypatch) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("ultralytics")
    pytest.importorskip("onnx")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "yolo"))
    from patrol.detect.onnx import OnnxDetector
    from patrol.train.export import add_metadata, confidence_metadata, export_onnx
    from patrol.train.recipe import train

    ds = _tiny_dataset(tmp_path)
    result = train(TrainSettings(data_yaml=ds.data_yaml, out_dir=tmp_path / "runs", architecture="yolov8n.yaml",
                                 epochs=1, imgsz=64, batch=4, workers=0, extra={"plots": False}))
    assert result.last_pt.is_file() and result.epochs_done == 1
    onnx_path = export_onnx(result.last_pt, tmp_path / "m.onnx", imgsz=64)
    add_metadata(onnx_path, confidence_metadata({"vehicle": 0.55}, 0.55))
    det = OnnxDetector(onnx_path, confidence=0.001)
    assert det.class_names == ("vehicle", "vendor_stall", "road_damage", "garbage")
    assert det.metadata["patrol_default_confidence"] == "0.550"
    out = det.detect(np.zeros((64, 64, 3), np.uint8))
    assert isinstance(out, list)


@pytest.mark.train
@pytest.mark.slow
def test_fine_tuning_keeps_the_class_head(tmp_path, monkeypatch) -> None:
    """Training from a checkpoint with the dataset's classes starts from all of it, class head
    included: with a zero learning rate, the fine-tuned head is the checkpoint's head. (Building the
    yaml and loading the weights into it went through 80 COCO classes and re-drew the head at random.)"""
    torch = pytest.importorskip("torch")
    pytest.importorskip("ultralytics")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "yolo"))
    from patrol.train.recipe import _count_transfer, train

    ds = _tiny_dataset(tmp_path)
    first = train(TrainSettings(data_yaml=ds.data_yaml, out_dir=tmp_path / "runs", name="first", architecture="yolov8n.yaml",
                                epochs=1, imgsz=64, batch=4, workers=0, extra={"plots": False}))
    def weights(path):
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        return (ckpt.get("ema") or ckpt["model"]).float().state_dict()  # saved files keep "model" only

    n = len(weights(first.last_pt))
    assert _count_transfer(first.last_pt, 4) == f"{n}/{n} tensors"
    assert _count_transfer(first.last_pt, 1) == f"{n - 6}/{n} tensors"  # a 1-class dataset: 3 scales x (weight, bias)
    second = train(TrainSettings(data_yaml=ds.data_yaml, out_dir=tmp_path / "runs", name="second", init_weights=first.last_pt,
                                 epochs=1, imgsz=64, batch=4, workers=0, warmup_epochs=0.0,
                                 extra={"plots": False, "optimizer": "SGD", "lr0": 0.0}))
    assert second.transferred == f"{n}/{n} tensors"

    def head(path):
        return {k: v for k, v in weights(path).items() if ".cv3." in k and k.rsplit(".", 2)[-2] == "2"}

    before, after = head(first.last_pt), head(second.last_pt)
    assert len(before) == 6 and before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), k


@pytest.mark.train
@pytest.mark.slow
def test_an_interrupted_run_resumes_from_its_last_checkpoint(tmp_path, monkeypatch) -> None:
    """A session stopped mid-run loses at most the epoch in progress: the next one continues from last.pt."""
    pytest.importorskip("torch")
    pytest.importorskip("ultralytics")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "yolo"))
    from ultralytics.engine.trainer import BaseTrainer

    from patrol.train.recipe import epochs_done, train

    ds = _tiny_dataset(tmp_path)
    original = BaseTrainer.save_model

    def save_then_stop(self):
        original(self)
        raise KeyboardInterrupt  # the session is stopped right after the first epoch's checkpoint

    monkeypatch.setattr(BaseTrainer, "save_model", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        train(TrainSettings(data_yaml=ds.data_yaml, out_dir=tmp_path / "runs", architecture="yolov8n.yaml",
                            epochs=2, imgsz=64, batch=4, workers=0, extra={"plots": False}))
    monkeypatch.setattr(BaseTrainer, "save_model", original)
    run = tmp_path / "runs" / "train"
    assert epochs_done(run / "results.csv") == 1
    resumed = train(TrainSettings(data_yaml=ds.data_yaml, out_dir=tmp_path / "runs", resume_from=run / "weights" / "last.pt", workers=0))
    assert resumed.epochs_done == 2 and resumed.transferred == "resumed" and resumed.last_pt.is_file()
