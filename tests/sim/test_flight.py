from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest

from patrol.detect.base import CLASSES
from patrol.geo.camera import CameraPose, camera_from_frame
from patrol.geo.crs import LocalFrame
from patrol.ingest import read_frame
from patrol.sim.flight import FlightSpec, plan_poses, run_flight
from patrol.sim.layout import generate_layout
from patrol.sim.solids import project, solid_points_en
from patrol.sim.truth import frame_labels, load_truth
from tests.sim.conftest import SMALL, SMALL_IMAGE

WRITTEN = ("lat_deg", "lon_deg", "abs_alt_m", "rel_alt_m", "gimbal_yaw_deg", "gimbal_pitch_deg", "gimbal_roll_deg",
           "flight_yaw_deg", "flight_pitch_deg", "flight_roll_deg")


def test_folder_contents(small_flight) -> None:
    d = small_flight.folder
    assert sorted(p.name for p in d.glob("*.JPG")) == ["DJI_0001.JPG", "DJI_0002.JPG", "DJI_0003.JPG", "DJI_0004.JPG"]
    assert (d / "zones.geojson").is_file() and (d / "truth.json").is_file()
    for line in (d / "labels" / "DJI_0001.txt").read_text().splitlines():
        c, *vals = line.split()
        assert 0 <= int(c) < len(CLASSES) and all(0.0 <= float(v) <= 1.0 for v in vals)


def test_ingest_recovers_the_written_pose_exactly(small_flight) -> None:
    truth = load_truth(small_flight.folder)
    for f in truth.frames:
        m = read_frame(small_flight.folder / f.file)
        for k in WRITTEN:
            assert getattr(m, k) == pytest.approx(f.written[k], abs=1e-9), (f.file, k)
        assert m.size_wh == SMALL_IMAGE
        assert m.intrinsics is not None
        i = m.intrinsics
        assert (i.fx_px, i.cx_px, i.cy_px) == pytest.approx((truth.intrinsics.fx_px, truth.intrinsics.cx_px, truth.intrinsics.cy_px))


def test_noise_is_about_what_was_asked(small_flight) -> None:
    truth = load_truth(small_flight.folder)
    frame = LocalFrame(truth.origin_lat_deg, truth.origin_lon_deg)
    for f in truth.frames:
        e, n = frame.to_local(f.written["lat_deg"], f.written["lon_deg"])
        assert math.hypot(e - f.pose.east_m, n - f.pose.north_m) < 8.0  # 1.5 m RMS
        dyaw = (f.written["gimbal_yaw_deg"] - f.pose.yaw_deg + 180) % 360 - 180
        assert abs(dyaw) < 5.0


def test_truth_boxes_match_the_ingest_camera_without_noise(tmp_path, small_before) -> None:
    spec = FlightSpec(seed=3, frames=2, altitude_m=40.0, image_wh=SMALL_IMAGE, gps_sigma_m=0.0, yaw_sigma_deg=0.0, alt_sigma_m=0.0, **SMALL)
    res = run_flight(tmp_path, spec, world=small_before)
    truth = res.truth
    frame = LocalFrame(truth.origin_lat_deg, truth.origin_lon_deg)
    objs = {o.id: o for o in small_before.objects}
    n = 0
    for f in truth.frames:
        cam = camera_from_frame(read_frame(tmp_path / f.file), frame)
        # the metadata differs from the truth only by gimbal jitter/rounding (<0.5 deg) and the altitude rounding
        for lb in f.labels:
            if lb.truncated:
                continue
            p = np.array(objs[lb.object_id].outline_en)
            u, v = cam.ground_to_pixel(p[:, 0], p[:, 1])
            cx, cy = (lb.bbox_xyxy_px[0] + lb.bbox_xyxy_px[2]) / 2, (lb.bbox_xyxy_px[1] + lb.bbox_xyxy_px[3]) / 2
            assert 0 <= u.mean() < SMALL_IMAGE[0] and 0 <= v.mean() < SMALL_IMAGE[1]
            assert abs((u.min() + u.max()) / 2 - cx) < 15 and abs((v.min() + v.max()) / 2 - cy) < 15  # gimbal pitch/roll noise (0.2 deg) ~ 5 px here
            n += 1
    assert n > 3


def test_truth_boxes_are_exact_for_the_true_camera(small_flight, small_before) -> None:
    truth = load_truth(small_flight.folder)
    objs = {o.id: o for o in small_before.objects}
    for f in truth.frames:
        cam = truth.camera(f)
        for lb in f.labels:
            if lb.truncated:
                continue
            o = objs[lb.object_id]
            p = np.array(o.outline_en)
            u, v = cam.ground_to_pixel(p[:, 0], p[:, 1])
            solid = solid_points_en(o)
            if solid is not None:  # vehicles are solids: the box covers their sides and roof too
                su, sv = project(cam, solid)
                u, v = np.concatenate([u, su]), np.concatenate([v, sv])
            assert (u.min(), v.min(), u.max(), v.max()) == pytest.approx(lb.bbox_xyxy_px, abs=0.01)


def test_rendered_pixels_show_the_objects_where_the_truth_says(small_flight) -> None:
    """Inside a true vehicle box the image differs from the road around it."""
    import cv2

    truth = load_truth(small_flight.folder)
    checked = 0
    for f in truth.frames:
        img = cv2.imread(str(small_flight.folder / f.file)).astype(float)
        for lb in f.labels:
            x1, y1, x2, y2 = (int(round(v)) for v in lb.bbox_xyxy_px)
            if lb.truncated or lb.class_name != "vehicle" or x2 - x1 < 12 or y2 - y1 < 12:
                continue
            inner = img[y1 + 3:y2 - 3, x1 + 3:x2 - 3]
            assert inner.std() > 8, (f.file, lb.object_id)  # windows, roof, body: not flat asphalt
            checked += 1
    assert checked >= 2


def test_same_seed_same_bytes(tmp_path, small_before) -> None:
    spec = FlightSpec(seed=3, frames=2, altitude_m=40.0, image_wh=SMALL_IMAGE, **SMALL)
    a = run_flight(tmp_path / "a", spec, world=small_before)
    b = run_flight(tmp_path / "b", spec, world=small_before)
    for fa, fb in zip(a.files, b.files):
        assert hashlib.sha256(fa.read_bytes()).digest() == hashlib.sha256(fb.read_bytes()).digest()
    assert (tmp_path / "a" / "truth.json").read_bytes() == (tmp_path / "b" / "truth.json").read_bytes()


@pytest.mark.parametrize("path, pitch", [("lawnmower", -90.0), ("oblique", -60.0), ("street", -65.0)])
def test_paths_cover_the_world(path: str, pitch: float) -> None:
    lay = generate_layout(1, 300.0)
    for scenario in ("before", "after"):
        spec = FlightSpec(seed=1, frames=16, scenario=scenario, path=path)
        poses = plan_poses(spec, lay)
        assert 1 <= len(poses) <= 16
        assert all(60.0 <= p.height_m <= 120.0 and p.pitch_deg == pitch for p in poses)
        if path != "street":
            assert len(poses) == 16
            from patrol.geo.camera import Camera
            from patrol.sim.frames import sim_intrinsics

            fps = [Camera(sim_intrinsics(), p).footprint(500.0).polygon_en for p in poses]
            from shapely.geometry import box
            from shapely.ops import unary_union

            cover = unary_union(fps).intersection(box(-110, -110, 110, 110)).area / 220**2
            assert cover > 0.9, (path, scenario, cover)


def test_before_and_after_fly_differently() -> None:
    lay = generate_layout(1, 300.0)
    b = plan_poses(FlightSpec(seed=1, scenario="before"), lay)
    a = plan_poses(FlightSpec(seed=1, scenario="after"), lay)
    assert {round(p.yaw_deg) % 180 for p in b} != {round(p.yaw_deg) % 180 for p in a}
    assert b[0].height_m != a[0].height_m


def test_truncated_object_at_the_frame_edge(small_before) -> None:
    from patrol.geo.camera import Camera
    from patrol.sim.frames import sim_intrinsics
    from patrol.sim.objects import make_object

    cam = Camera(sim_intrinsics(SMALL_IMAGE), CameraPose(0.0, 0.0, 40.0, 0.0, -90.0, 0.0))
    half_w = 40.0 * (SMALL_IMAGE[0] / 2) / cam.intrinsics.fx_px  # ground half-width of the frame
    car = make_object("car-x", "car", (half_w, 0.0), 0.0, 1)  # centred on the right edge, heading east
    (lb,) = frame_labels(cam, [car])
    assert lb.truncated and lb.visible_frac == pytest.approx(0.5, abs=0.02)
    assert lb.bbox_xyxy_px[2] == pytest.approx(SMALL_IMAGE[0] - 0.5, abs=0.01)
    assert frame_labels(cam, [make_object("car-y", "car", (half_w + 10, 0.0), 0.0, 1)]) == ()


@pytest.mark.parametrize("kw", [dict(scenario="later"), dict(path="spiral"), dict(frames=0), dict(altitude_m=5.0), dict(pitch_deg=10.0), dict(gps_sigma_m=-1.0)])
def test_bad_spec(kw) -> None:
    with pytest.raises(ValueError):
        FlightSpec(**kw)


def test_truth_json_is_plain_json(small_flight) -> None:
    d = json.loads((small_flight.folder / "truth.json").read_text())
    assert d["scenario"] == "before" and d["camera"]["size_wh"] == list(SMALL_IMAGE)
    o = d["objects"][0]
    assert {"id", "class_name", "polygon_lonlat", "status", "violation"} <= set(o)
    assert all("yolo_cxcywh" in lb for f in d["frames"] for lb in f["labels"])
