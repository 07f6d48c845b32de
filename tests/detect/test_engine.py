"""Tiled detection end to end with an exact colour detector: tiles, ROI, scale passes, merge."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from patrol.config import DetectSettings
from patrol.detect.base import Detection
from patrol.detect.engine import RoiZones, detect_frame, expand_paths, plan_from_settings, read_image, run_tiles
from patrol.detect.tiling import ScalePass, TilePlan
from patrol.errors import BadImage, InputError

COLOURS = {"vehicle": (0, 0, 255), "garbage": (0, 255, 0)}  # BGR


class ColourDetector:
    """Finds pure-colour rectangles: one box per connected blob per class, score by size. Records the
    shapes it was given so tests can count tiles."""

    input_wh = (320, 320)
    class_names = ("vehicle", "garbage")

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.calls.append(image.shape[:2])
        out = []
        for name, bgr in COLOURS.items():
            mask = np.all(image == bgr, axis=2).astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            for x, y, w, h, area in stats[1:]:
                out.append(Detection((float(x), float(y), float(x + w), float(y + h)), name, min(1.0, 0.5 + area / 20000)))
        return out


def paint(size_wh, boxes):
    img = np.full((size_wh[1], size_wh[0], 3), 90, np.uint8)
    for name, (x1, y1, x2, y2) in boxes:
        img[y1:y2, x1:x2] = COLOURS[name]
    return img


TRUTH = [
    ("vehicle", (10, 10, 50, 30)),  # inside the first tile
    ("vehicle", (240, 100, 340, 140)),  # cut by the border at x=320 (inside the overlap 256..320? no: wider)
    ("garbage", (600, 500, 700, 560)),  # cut by both borders
    ("vehicle", (900, 600, 960, 640)),  # bottom-right corner, flush with the edge
]


def test_detect_frame_recovers_objects_cut_by_tiles():
    img = paint((960, 640), TRUTH)
    det = ColourDetector()
    dets = detect_frame(img, det, TilePlan(tile_px=320, overlap_px=120))
    got = sorted((d.class_name, tuple(int(v) for v in d.bbox_xyxy_px)) for d in dets)
    assert got == sorted(TRUTH)


def test_detect_frame_without_ios_keeps_fragments():
    # the control: with intersection-over-smaller effectively off, the cut object leaves fragments
    img = paint((960, 640), TRUTH)
    dets = detect_frame(img, ColourDetector(), TilePlan(tile_px=320, overlap_px=120, ios=1.0))
    assert len(dets) > len(TRUTH)


def test_roi_runs_only_touched_tiles_and_none_means_all():
    img = paint((960, 640), TRUTH)
    det = ColourDetector()
    plan = TilePlan(tile_px=320, overlap_px=0)
    all_tiles = run_tiles(img, det, plan, None)
    assert (all_tiles.tiles_total, all_tiles.tiles_run) == (6, 6)
    zone = np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]])
    roi = run_tiles(img, det, plan, [zone])
    assert (roi.tiles_total, roi.tiles_run) == (6, 1)
    # the one tile sees the small car and the left part of the cut one; nothing from other tiles
    assert sorted(d.bbox_xyxy_px for d in roi.detections) == [(10.0, 10.0, 50.0, 30.0), (240.0, 100.0, 320.0, 140.0)]
    assert run_tiles(img, det, plan, []).tiles_run == 0


def test_scale_pass_keeps_its_classes_in_native_pixels():
    img = paint((960, 640), [("vehicle", (100, 100, 200, 160)), ("garbage", (500, 300, 540, 340))])
    det = ColourDetector()
    plan = TilePlan(tile_px=320, overlap_px=64, passes=(ScalePass(1.0, ("garbage",)), ScalePass(0.5, ("vehicle",))))
    res = run_tiles(img, det, plan)
    assert res.tiles_total == 4 * 3 + 2 * 1  # 960x640 in 320 tiles (stride 256), then 480x320
    boxes = {d.class_name: d.bbox_xyxy_px for d in res.detections}
    assert boxes["garbage"] == (500.0, 300.0, 540.0, 340.0)
    assert boxes["vehicle"] == pytest.approx((100, 100, 200, 160), abs=2.0)


# A 960x640 frame; a vehicle-only pass at 0.5 (480x320: 2 tiles of 320, stride 256 -> x 0 and 160)
# and a native pass with garbage (4 x 3 = 12 tiles). The vehicle zone lies in the left 100 px.
VEHICLE_ZONE = np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]])
TWO_PASSES = TilePlan(tile_px=320, overlap_px=64, passes=(ScalePass(1.0, ("garbage",)), ScalePass(0.5, ("vehicle",))))
ONE_PASS = TilePlan(tile_px=320, overlap_px=64)  # one native pass keeping every class


@pytest.mark.parametrize(
    ("plan", "roi", "tiles_run", "calls"),
    [
        # garbage counts anywhere: its native pass runs all 12 tiles; the vehicle pass only the
        # downscaled tile that touches the vehicle zone (its left 50 px at 0.5)
        (TWO_PASSES, {"vehicle": [VEHICLE_ZONE], "garbage": None}, 12 + 1, [(320, 320)] * 12 + [(320, 320)]),
        # garbage restricted too: each pass runs the tiles of its own classes' zones
        (TWO_PASSES, {"vehicle": [VEHICLE_ZONE], "garbage": []}, 0 + 1, [(320, 320)]),
        (TWO_PASSES, {"vehicle": [], "garbage": [VEHICLE_ZONE]}, 1 + 0, [(320, 320)]),
        # a class missing from the mapping is a violation nowhere: its pass runs nothing
        (TWO_PASSES, {"garbage": None}, 12, [(320, 320)] * 12),
        # the old single list applies to every pass
        (TWO_PASSES, [VEHICLE_ZONE], 1 + 1, [(320, 320)] * 2),
        (TWO_PASSES, None, 12 + 2, [(320, 320)] * 14),
        # one pass with every class: a "*" class makes it run whole, else the union of the zones
        (ONE_PASS, {"vehicle": [VEHICLE_ZONE], "garbage": None}, 12, [(320, 320)] * 12),
        (ONE_PASS, {"vehicle": [VEHICLE_ZONE], "garbage": []}, 1, [(320, 320)]),
    ],
)
def test_roi_per_pass(plan, roi, tiles_run, calls):
    img = paint((960, 640), [("vehicle", (10, 10, 50, 30)), ("garbage", (600, 500, 700, 560))])
    det = ColourDetector()
    res = run_tiles(img, det, plan, roi)
    assert res.tiles_total == (12 + 2 if plan is TWO_PASSES else 12)
    assert res.tiles_run == tiles_run == len(det.calls)
    assert det.calls == calls


def test_roi_per_pass_finds_the_vehicle_in_its_zone_and_garbage_anywhere():
    img = paint((960, 640), [("vehicle", (10, 10, 50, 30)), ("vehicle", (800, 500, 860, 540)), ("garbage", (600, 500, 700, 560))])
    res = run_tiles(img, ColourDetector(), TWO_PASSES, {"vehicle": [VEHICLE_ZONE], "garbage": None})
    got = {(d.class_name, tuple(round(v) for v in d.bbox_xyxy_px)) for d in res.detections}
    assert got == {("vehicle", (10, 10, 50, 30)), ("garbage", (600, 500, 700, 560))}  # the far car is not looked for


def test_plan_from_settings_uses_model_input_size():
    plan = plan_from_settings(DetectSettings(class_scales={"vehicle": 0.5}), ColourDetector())
    assert plan.tile_px == 320 and plan.overlap_px == 64
    assert [p.scale for p in plan.passes] == [1.0, 0.5]
    assert plan_from_settings(DetectSettings(tile_px=640, overlap_px=900), ColourDetector()).overlap_px == 320


def test_read_image_errors(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    for p, msg in [(bad, "not a JPEG, PNG, TIFF, BMP or HEIC image"), (empty, "empty"), (tmp_path / "missing.jpg", "cannot read")]:
        with pytest.raises(BadImage, match=msg):
            read_image(p)
    good = tmp_path / "ok.png"
    cv2.imwrite(str(good), np.zeros((5, 7, 3), np.uint8))
    assert read_image(good).shape == (5, 7, 3)


def test_expand_paths(tmp_path):
    (tmp_path / "a").mkdir()
    cv2.imwrite(str(tmp_path / "a" / "x.jpg"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "a" / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    out = list(expand_paths([tmp_path / "a", tmp_path / "empty", tmp_path / "nope.jpg"]))
    assert out[0] == tmp_path / "a" / "x.jpg"
    assert isinstance(out[1], InputError) and "no images" in str(out[1])
    assert isinstance(out[2], InputError) and "no such" in str(out[2])


def test_roi_zones_project_into_a_nadir_frame():
    from patrol.geo import camera as geo
    from shapely.geometry import box

    from patrol.geo.crs import LocalFrame
    from patrol.ingest.frame import Intrinsics

    frame = LocalFrame(53.9, 27.56)
    intr = Intrinsics(1000.0, 1000.0, 500.0, 400.0, (1000, 800), "sim")
    cam = geo.Camera(intr, geo.CameraPose(0.0, 0.0, 100.0, 0.0, -90.0, 0.0))  # 0.1 m/px, north up
    # a 10 m x 10 m zone 20 m east of the centre: pixels u 650..750, v 350..450 before the margin
    lat1, lon1 = frame.to_wgs84(15.0, -5.0)
    lat2, lon2 = frame.to_wgs84(25.0, 5.0)
    far = frame.to_wgs84(5000.0, 5000.0)
    zones = RoiZones([box(lon1, lat1, lon2, lat2), box(far[1], far[0], far[1] + 0.001, far[0] + 0.001)])
    (poly,) = zones.polygons_px(cam, frame, margin_m=0.0, max_range_m=500.0)
    assert poly[:, 0].min() == pytest.approx(650, abs=1.0) and poly[:, 0].max() == pytest.approx(750, abs=1.0)
    assert poly[:, 1].min() == pytest.approx(350, abs=1.0) and poly[:, 1].max() == pytest.approx(450, abs=1.0)
    (grown,) = zones.polygons_px(cam, frame, margin_m=3.0, max_range_m=500.0)
    assert grown[:, 0].min() == pytest.approx(620, abs=1.5)
    assert RoiZones([]).polygons_px(cam, frame, 3.0, 500.0) == []

    # per class: each class gets the zones of the kinds where it can be a violation
    lat3, lon3 = frame.to_wgs84(-25.0, -5.0)
    lat4, lon4 = frame.to_wgs84(-15.0, 5.0)
    kinded = RoiZones([box(lon1, lat1, lon2, lat2), box(lon3, lat3, lon4, lat4)], ["no_parking", "road"])
    kinds = {"vehicle": ("no_parking", "sidewalk"), "road_damage": ("road",), "garbage": None, "bicycle": ()}
    by = kinded.class_polygons_px(cam, frame, 0.0, 500.0, kinds)
    assert by["garbage"] is None and by["bicycle"] == []
    assert [p[:, 0].min() for p in by["vehicle"]] == [pytest.approx(650, abs=1.0)]
    assert [p[:, 0].max() for p in by["road_damage"]] == [pytest.approx(350, abs=1.0)]
    assert len(kinded.polygons_px(cam, frame, 0.0, 500.0)) == 2
    with pytest.raises(ValueError, match="1 kinds for 2 geometries"):
        RoiZones([box(0, 0, 1, 1), box(2, 2, 3, 3)], ["road"])


def test_object_wider_than_overlap_is_joined_from_its_pieces():
    # 250 px wide with 64 px overlap: no tile holds it whole; the pieces must become one box
    truth = [("vehicle", (200, 100, 450, 160)), ("vehicle", (200, 170, 300, 190))]
    dets = detect_frame(paint((900, 640), truth), ColourDetector(), TilePlan(tile_px=320, overlap_px=64))
    assert sorted((d.class_name, tuple(int(v) for v in d.bbox_xyxy_px)) for d in dets) == sorted(truth)


def test_neighbours_on_a_tile_border_stay_apart():
    # two cars touching the same tile border (x=320), one above the other, 4 px apart
    truth = [("vehicle", (300, 100, 340, 120)), ("vehicle", (300, 124, 340, 144))]
    dets = detect_frame(paint((640, 320), truth), ColourDetector(), TilePlan(tile_px=320, overlap_px=0))
    assert sorted(tuple(int(v) for v in d.bbox_xyxy_px) for d in dets) == [(300, 100, 340, 120), (300, 124, 340, 144)]


from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    rects=st.lists(
        st.tuples(st.integers(0, 860), st.integers(0, 600), st.integers(4, 300), st.integers(4, 200), st.sampled_from(["vehicle", "garbage"])),
        min_size=1,
        max_size=6,
    ),
    overlap=st.sampled_from([0, 32, 64, 128]),
)
def test_tiled_detection_recovers_every_rectangle(rects, overlap):
    """Whatever the tile borders cut, an exact detector's tiled result is exactly the truth."""
    w, h = 900, 640
    boxes = []
    for x, y, bw, bh, name in rects:
        b = (x, y, min(x + bw, w), min(y + bh, h))
        assume(b[2] - b[0] >= 4 and b[3] - b[1] >= 4)
        # keep objects apart (3 px gap) so that each is one blob
        for _, o in boxes:
            assume(b[2] + 3 <= o[0] or o[2] + 3 <= b[0] or b[3] + 3 <= o[1] or o[3] + 3 <= b[1])
        boxes.append((name, b))
    dets = detect_frame(paint((w, h), boxes), ColourDetector(), TilePlan(tile_px=320, overlap_px=overlap))
    assert sorted((d.class_name, tuple(int(v) for v in d.bbox_xyxy_px)) for d in dets) == sorted(boxes)


@pytest.mark.parametrize(
    "kw, gsd_m, expect",
    [
        ({}, None, [(1.0, None)]),  # not geotagged: one native pass
        ({}, 0.025, [(1.0, ("garbage",)), (0.5, ("vehicle",))]),  # 2.5 cm/px: vehicles at 5 cm/px
        ({}, 0.045, [(1.0, None)]),  # 0.9: not worth a second pass
        ({"class_scales": {"vehicle": 0.25}}, 0.025, [(1.0, ("garbage",)), (0.25, ("vehicle",))]),  # explicit wins
        ({"class_gsd_m": {}}, 0.01, [(1.0, None)]),  # off
    ],
)
def test_gsd_adaptive_class_scale(kw, gsd_m, expect):
    plan = plan_from_settings(DetectSettings(**kw), ColourDetector(), gsd_m)
    assert [(p.scale, p.classes) for p in plan.passes] == expect
