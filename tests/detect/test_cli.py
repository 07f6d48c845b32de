"""`patrol detect` / `patrol eval` and the backend registry, on a tiny synthetic ONNX model (no torch)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from patrol.cli import app
from patrol.config import DetectSettings
from patrol.detect.registry import BACKENDS, load_detector
from patrol.errors import ModelError
from tests.conftest import shared_path
from tests.detect.conftest import synthetic_onnx


@pytest.fixture
def model(tmp_path):
    return synthetic_onnx(tmp_path / "tiny.onnx")


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(backend="yolo9000"), "unknown detector backend 'yolo9000'; known backends: onnx, ultralytics"),
        (dict(model="/no/such/model.onnx"), "model file not found"),
    ],
)
def test_registry_errors(kw, match):
    with pytest.raises(ModelError, match=match):
        load_detector(DetectSettings(**kw))


def test_registry_loads_onnx(model):
    det = load_detector(DetectSettings(model=str(model), confidence=0.5, threads=1))
    assert det.class_names == ("vehicle", "garbage") and det.input_wh == (64, 64)
    assert set(BACKENDS) == {"onnx", "ultralytics"}


def test_detect_json_and_bad_file(model, tmp_path):
    img = tmp_path / "a.png"
    cv2.imwrite(str(img), np.zeros((64, 128, 3), np.uint8))  # two 64 px tiles side by side
    bad = tmp_path / "b.jpg"
    bad.write_bytes(b"junk")
    cfg = tmp_path / "patrol.toml"
    cfg.write_text("[detect]\noverlap_px = 0\n")
    r = CliRunner().invoke(app, ["detect", str(img), str(bad), "--model", str(model), "--config", str(cfg), "--json"])
    assert r.exit_code == 1
    assert f"{bad}: not a JPEG, PNG, TIFF, BMP or HEIC image" in r.stderr
    (frame,) = json.loads(r.stdout)
    assert (frame["tiles_total"], frame["tiles_run"]) == (2, 2)
    boxes = sorted((d["class_name"], tuple(d["bbox_xyxy_px"])) for d in frame["detections"])
    # each tile reports the same two boxes, offset by the tile's x; nothing merges across tiles
    assert boxes == [
        ("garbage", (7.0, 47.0, 13.0, 53.0)),
        ("garbage", (71.0, 47.0, 77.0, 53.0)),
        ("vehicle", (22.0, 12.0, 42.0, 20.0)),
        ("vehicle", (86.0, 12.0, 106.0, 20.0)),
    ]
    assert all(d["lat_deg"] is None for d in frame["detections"])


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--backend", "nope"], 2, "unknown detector backend"),
        (["--model", "/no/such.onnx"], 2, "model file not found"),
    ],
)
def test_detect_usage_errors(tmp_path, args, code, message):
    r = CliRunner().invoke(app, ["detect", str(tmp_path), *args])
    assert r.exit_code == code and message in r.stderr
    assert "Traceback" not in r.output


def _zones_file(path, polygons_lonlat):
    feats = [
        {"type": "Feature", "properties": {"kind": "no_parking", "name": f"z{i}"}, "geometry": {"type": "Polygon", "coordinates": [poly]}}
        for i, poly in enumerate(polygons_lonlat)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def test_detect_geotagged_photo_ground_positions_and_roi(model, tmp_path):
    photo = shared_path("aerial-cars", "DJI_0019.JPG")  # oblique DJI photo with GPS + gimbal XMP
    from patrol.geo.camera import camera_from_frame
    from patrol.geo.crs import LocalFrame
    from patrol.ingest import read_frame

    runner = CliRunner()
    r = runner.invoke(app, ["detect", str(photo), "--model", str(model), "--tile", "640", "--json"])
    assert r.exit_code == 0, r.output
    (full,) = json.loads(r.stdout)
    assert full["tiles_run"] == full["tiles_total"] == 7 * 4
    assert 0.05 < full["gsd_m"] < 0.1  # 120 m up, 41 deg oblique: no downscaled vehicle pass
    meta = read_frame(photo)
    lat = [d["lat_deg"] for d in full["detections"]]
    assert all(v is not None for v in lat)
    assert max(abs(v - meta.lat_deg) for v in lat) < 0.01  # within ~1 km: on the ground in front

    # a zone around the ground point under the image centre: only tiles near the centre run
    frame = LocalFrame(meta.lat_deg, meta.lon_deg)
    cam = camera_from_frame(meta, frame)
    e, n = cam.pixel_to_ground(2000.0, 1125.0)
    ring = [frame.to_wgs84(float(e) + de, float(n) + dn)[::-1] for de, dn in [(-3, -3), (3, -3), (3, 3), (-3, 3), (-3, -3)]]
    zones = _zones_file(tmp_path / "zones.geojson", [ring])
    # default rules count garbage anywhere: this photo has one pass (no downscaled vehicle pass at
    # this GSD) looking for garbage too, so ROI may skip nothing, and says so
    r = runner.invoke(app, ["detect", str(photo), "--model", str(model), "--tile", "640", "--zones", str(zones), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["tiles_run"] == 28 and "garbage anywhere" in r.stderr
    # a file of grid cells alone is no ROI: every tile runs, and it says why
    grid = tmp_path / "grid.geojson"
    grid.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "grid_cell", "name": "A1", "unit": "U"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    r = runner.invoke(app, ["detect", str(photo), "--model", str(model), "--tile", "640", "--zones", str(grid)])
    assert r.exit_code == 0, r.output
    assert "tiles 28/28 (100%)" in r.stdout and "tiles run: 28 of 28 (100%)" in r.stdout
    assert "no zone other than grid cells" in r.stderr
    # rules that only count violations inside zones: only tiles near the centre run
    cfg = tmp_path / "zone-only.toml"
    cfg.write_text('[rules.rules]\nvehicle = { no_parking = "illegal_parking" }\n')
    zone_only = ["--config", str(cfg)]
    r = runner.invoke(app, ["detect", str(photo), "--model", str(model), "--tile", "640", "--zones", str(zones), "--json", *zone_only])
    assert r.exit_code == 0, r.output
    (roi,) = json.loads(r.stdout)
    assert roi["tiles_total"] == 28 and 1 <= roi["tiles_run"] <= 4
    # a zone far away: nothing runs
    far = [frame.to_wgs84(5000.0 + de, 5000.0 + dn)[::-1] for de, dn in [(0, 0), (10, 0), (10, 10), (0, 0)]]
    r = runner.invoke(app, ["detect", str(photo), "--model", str(model), "--tile", "640", "--zones",
                            str(_zones_file(tmp_path / "far.geojson", [far])), "--json", *zone_only])
    assert json.loads(r.stdout)[0]["tiles_run"] == 0


def test_eval_cli(model, tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    cv2.imwrite(str(d / "a.png"), np.zeros((64, 64, 3), np.uint8))
    (d / "classes.txt").write_text("car\n")
    (d / "a.txt").write_text("0 0.5 0.25 0.3125 0.125\n")  # = the model's vehicle box (22, 12, 42, 20)
    r = CliRunner().invoke(app, ["eval", "--model", str(model), "--data", str(d), "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    veh = next(c for c in rep["per_class"] if c["class_name"] == "vehicle")
    assert (veh["n_gt"], veh["tp"], veh["ap50"], veh["precision"], veh["recall"]) == (1, 1, 1.0, 1.0, 1.0)
    gar = next(c for c in rep["per_class"] if c["class_name"] == "garbage")
    assert gar["n_pred"] == 1 and gar["precision"] == 0.0
    r = CliRunner().invoke(app, ["eval", "--model", str(model), "--data", str(d)])
    assert "vehicle" in r.stdout and "mAP50" in r.stdout
    r = CliRunner().invoke(app, ["eval", "--model", str(model), "--data", str(d), "--class-map", "car=truck"])
    assert r.exit_code == 2 and "not a patrol class" in r.stderr


def test_eval_uses_the_models_operating_point(tmp_path):
    m = synthetic_onnx(tmp_path / "op.onnx", meta={"patrol_confidence": '{"vehicle": 0.95, "garbage": 0.3}'})
    d = tmp_path / "data"
    d.mkdir()
    cv2.imwrite(str(d / "a.png"), np.zeros((64, 64, 3), np.uint8))
    (d / "classes.txt").write_text("car\n")
    (d / "a.txt").write_text("0 0.5 0.25 0.3125 0.125\n")
    rep = json.loads(CliRunner().invoke(app, ["eval", "--model", str(m), "--data", str(d), "--json"]).stdout)
    veh = next(c for c in rep["per_class"] if c["class_name"] == "vehicle")
    assert rep["confidence"]["vehicle"] == 0.95 and rep["confidence"]["garbage"] == 0.3
    assert veh["ap50"] == 1.0 and veh["n_pred"] == 0 and veh["recall"] == 0.0  # 0.9 < 0.95 at the operating point
    rep = json.loads(CliRunner().invoke(app, ["eval", "--model", str(m), "--data", str(d), "--json", "--confidence", "0.5"]).stdout)
    assert next(c for c in rep["per_class"] if c["class_name"] == "vehicle")["recall"] == 1.0
