"""Before/after flights with real pixels, laid out like tests/pipeline_world.py (nadir frames at 40 m,
metadata from a table that ``install`` feeds to the pipeline, BoxDetector truth): the textured ground
of tests/verify/scene.py with the objects drawn, so verification has something to see."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from patrol.detect.base import Detection
from patrol.ingest.frame import FrameMeta
from patrol.zones import load_zones
from tests.pipeline_world import HEIGHT_M, LOCAL, OBJECTS, T0, K, Flight, camera_at, install, object_box, write_zones
from tests.verify.scene import GroundBox, draw_objects, ground_texture, ortho_to_en_matrix

NORTHS = (10.0, 20.0, 30.0, 40.0, 50.0)


def make_pixel_flight(folder: Path, objects, seed: int, light: dict) -> Flight:
    """pipeline_world's flight layout (nadir frames at 40 m, metadata from a table, BoxDetector
    truth) but with real pixels: the textured ground of tests/verify/scene.py with the objects drawn."""
    folder.mkdir(parents=True, exist_ok=True)
    ortho = draw_objects(ground_texture(7), [GroundBox(o.centre_en[0], o.centre_en[1], o.size_m, (60, 60, 60) if o.class_name == "garbage" else (40, 40, 200), o.class_name) for o in objects])
    metas, boxes = {}, {}
    for i, north in enumerate(NORTHS):
        p = (folder / f"DJI_{i + 1:04d}.JPG").resolve()
        cam = camera_at(north)
        h = cam.ground_to_image_homography() @ ortho_to_en_matrix()
        img = cv2.warpPerspective(ortho, h, cam.size_wh, flags=cv2.INTER_LINEAR)
        img = np.clip(img.astype(np.float32) * light.get("gain", 1.0) + light.get("offset", 0.0), 0, 255).astype(np.uint8)
        cv2.imwrite(str(p), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        lat, lon = LOCAL.to_wgs84(0.0, north)
        metas[str(p)] = FrameMeta(
            path=str(p), size_wh=cam.size_wh, lat_deg=lat, lon_deg=lon, rel_alt_m=HEIGHT_M, gimbal_yaw_deg=0.0,
            gimbal_pitch_deg=-90.0, gimbal_roll_deg=0.0, time=T0 + timedelta(days=seed, seconds=5 * i), intrinsics=K,
        )
        boxes[str(p)] = [Detection(b, o.class_name, 0.9) for o in objects if (b := object_box(cam, o)) is not None]
    return Flight(folder, metas, boxes)


@pytest.fixture
def pixel_flights(tmp_path, monkeypatch):
    before = make_pixel_flight(tmp_path / "inbox" / "2026-05-04-a", OBJECTS, 0, {})
    after_objects = [o for o in OBJECTS if o.oid != "garbage"]
    after = make_pixel_flight(tmp_path / "inbox" / "2026-05-05-a", after_objects, 1, {"gain": 0.85, "offset": 12.0})
    install([before, after], monkeypatch)
    zones = load_zones(write_zones(tmp_path / "zones.geojson"))
    return before, after, zones
