"""A tiny generated world for pipeline tests that do not depend on the simulator or the EXIF reader.

Frames are real (small) JPEG files; their metadata comes from a table (``install`` patches the
pipeline's reader), and ``BoxDetector`` returns the exact pixel boxes of the world's objects in each
frame, like the simulator's truth detector.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np

from patrol.detect.base import Detection
from patrol.geo.camera import Camera, CameraPose
from patrol.geo.crs import LocalFrame
from patrol.ingest.frame import FrameMeta, Intrinsics

LOCAL = LocalFrame(39.9, 116.4)
W, H = 1000, 750
K = Intrinsics(fx_px=1000.0, fy_px=1000.0, cx_px=(W - 1) / 2, cy_px=(H - 1) / 2, size_wh=(W, H), source="sim")
HEIGHT_M = 40.0  # nadir GSD 0.04 m: fine enough for verification (0.05)
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Obj:
    oid: str
    class_name: str
    centre_en: tuple[float, float]
    size_m: tuple[float, float]
    violation: str | None
    grid_cell: str
    unit: str


OBJECTS = (
    Obj("car-np-1", "vehicle", (6.5, 30.0), (1.8, 4.5), "illegal_parking", "East", "Team E"),
    Obj("car-np-2", "vehicle", (6.5, 37.0), (1.8, 4.5), "illegal_parking", "East", "Team E"),
    Obj("car-road", "vehicle", (1.0, 50.0), (1.8, 4.5), None, "East", "Team E"),
    Obj("garbage", "garbage", (-10.0, 40.0), (1.2, 1.0), "exposed_garbage", "West", "Team W"),
    Obj("pothole", "road_damage", (-2.0, 70.0), (1.0, 0.8), "road_damage", "West", "Team W"),
    Obj("stall", "vendor_stall", (12.0, 60.0), (2.5, 2.0), "street_vending", "East", "Team E"),
    Obj("car-off-road", "vehicle", (-12.0, 20.0), (1.8, 4.5), None, "West", "Team W"),
)


def _ll_ring(e0: float, n0: float, e1: float, n1: float) -> list[list[float]]:
    pts = [(e0, n0), (e1, n0), (e1, n1), (e0, n1), (e0, n0)]
    out = []
    for e, n in pts:
        lat, lon = LOCAL.to_wgs84(e, n)
        out.append([lon, lat])
    return out


def zones_geojson() -> dict:
    def f(kind, name, ring, unit=None):
        props = {"kind": kind, "name": name}
        if unit:
            props["unit"] = unit
        return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}

    return {
        "type": "FeatureCollection",
        "features": [
            f("grid_cell", "West", _ll_ring(-100, -100, 0, 200), "Team W"),
            f("grid_cell", "East", _ll_ring(0, -100, 100, 200), "Team E"),
            f("road", "Main St", _ll_ring(-5, -100, 5, 200)),
            f("no_parking", "Main St east kerb", _ll_ring(5, -100, 8, 200)),
            # the stall stands here: the default rules count stalls on public ground only
            f("sidewalk", "Main St east walk", _ll_ring(8, -100, 14, 200)),
        ],
    }


def camera_at(north_m: float) -> Camera:
    return Camera(K, CameraPose(0.0, north_m, HEIGHT_M, 0.0, -90.0, 0.0))


def object_box(cam: Camera, o: Obj) -> tuple[float, float, float, float] | None:
    w, l = o.size_m
    e, n = o.centre_en
    es = np.array([e - w / 2, e + w / 2, e + w / 2, e - w / 2])
    ns = np.array([n - l / 2, n - l / 2, n + l / 2, n + l / 2])
    u, v = cam.ground_to_pixel(es, ns)
    x1, y1, x2, y2 = u.min(), v.min(), u.max(), v.max()
    # keep objects at least 70 % inside the frame, clipped to it (like a labelled frame)
    cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, W - 1), min(y2, H - 1)
    if cx2 <= cx1 or cy2 <= cy1 or (cx2 - cx1) * (cy2 - cy1) < 0.7 * (x2 - x1) * (y2 - y1):
        return None
    return (float(cx1), float(cy1), float(cx2), float(cy2))


@dataclass
class Flight:
    folder: Path
    metas: dict[str, FrameMeta]
    boxes: dict[str, list[Detection]]


def make_flight(folder: Path, *, seed: int, objects=OBJECTS, norths=(0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0),
                corrupt: bool = False, t0: datetime = T0, write: bool = True) -> Flight:
    """A flight over the world; ``write=False`` only builds the tables (the files exist already)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    metas, boxes = {}, {}
    for i, north in enumerate(norths):
        p = (folder / f"DJI_{i + 1:04d}.JPG").resolve()
        img = rng.integers(90, 160, size=(H // 4, W // 4, 3), dtype=np.uint8)
        img = cv2.resize(img, (W, H), interpolation=cv2.INTER_NEAREST)
        if write:
            cv2.imwrite(str(p), img, [cv2.IMWRITE_JPEG_QUALITY, 60])
        lat, lon = LOCAL.to_wgs84(0.0, north)
        metas[str(p)] = FrameMeta(
            path=str(p), size_wh=(W, H), lat_deg=lat, lon_deg=lon, rel_alt_m=HEIGHT_M, gimbal_yaw_deg=0.0,
            gimbal_pitch_deg=-90.0, gimbal_roll_deg=0.0, time=t0 + timedelta(seconds=5 * i), intrinsics=K,
        )
        cam = camera_at(north)
        dets = []
        for o in objects:
            b = object_box(cam, o)
            if b is not None:
                dets.append(Detection(b, o.class_name, 0.9))
        boxes[str(p)] = dets
    if corrupt and write:
        (folder / "DJI_0099.JPG").write_bytes(b"not a jpeg")
    return Flight(folder, metas, boxes)


class BoxDetector:
    """Returns the world's true boxes for a frame path (``detect_path``); ``delay_s`` slows it down."""

    def __init__(self, flights: list[Flight], delay_s: float = 0.0) -> None:
        self.boxes = {k: v for f in flights for k, v in f.boxes.items()}
        self.delay_s = delay_s
        self.calls = 0

    def detect_path(self, path: str, image) -> list[Detection]:
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        return list(self.boxes[str(Path(path).resolve())])

    def detect(self, image) -> list[Detection]:  # the protocol; never used by these tests
        raise AssertionError("tiled detection should not run in the pipeline world")


def install(flights: list[Flight], monkeypatch=None) -> None:
    """Make the pipeline read frame metadata from the table (unknown files -> a failure)."""
    from patrol import pipeline
    from patrol.pipeline import FrameFailure

    table = {k: v for f in flights for k, v in f.metas.items()}

    def read_metas(files, settings=None):
        metas, bad = [], []
        for f in files:
            m = table.get(str(Path(f).resolve()))
            if m is None:
                bad.append(FrameFailure(str(f), "not a JPEG (no SOI marker)"))
            else:
                metas.append(m)
        return metas, bad

    if monkeypatch is not None:
        monkeypatch.setattr(pipeline, "_read_metas", read_metas)
    else:
        pipeline._read_metas = read_metas


def write_zones(path: Path) -> Path:
    path.write_text(json.dumps(zones_geojson()))
    return path


def dist_m(lat1, lon1, lat2, lon2) -> float:
    e1, n1 = LOCAL.to_local(lat1, lon1)
    e2, n2 = LOCAL.to_local(lat2, lon2)
    return math.hypot(e1 - e2, n1 - n2)
