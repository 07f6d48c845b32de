"""Evaluation: matching, AP50, class maps, YOLO/VOC label reading, scoring with an oracle detector."""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np
import pytest

from patrol.detect.base import Detection
from patrol.detect.evaluate import (
    DEFAULT_CLASS_MAP,
    GtBox,
    average_precision,
    evaluate_folder,
    load_labelled,
    match,
    parse_class_map,
    read_voc,
    read_yolo,
    score,
    to_gt,
)
from patrol.errors import ConfigError, InputError
from tests.conftest import shared_path


def D(box, score=0.9, name="vehicle"):
    return Detection(tuple(float(v) for v in box), name, score)


def test_match_greedy_by_score_each_gt_once():
    gt = [(0, 0, 10, 10), (20, 0, 30, 10)]
    dets = [D((0, 0, 10, 10), 0.6), D((1, 0, 11, 10), 0.9), D((20, 0, 30, 10), 0.5), D((50, 50, 60, 60), 0.99)]
    # the 0.9 box takes gt 0 first; the 0.6 duplicate is then a false positive
    assert match(gt, dets).tolist() == [False, True, True, False]
    assert match([], dets).tolist() == [False] * 4
    assert match(gt, []).tolist() == []


@pytest.mark.parametrize(
    "scores, tp, n_gt, expect",
    [
        ([0.9, 0.8], [True, True], 2, 1.0),
        ([0.9, 0.8], [False, False], 2, 0.0),
        ([], [], 3, 0.0),
        ([0.9], [True], 0, None),
        ([0.9, 0.8], [True, True], 4, 0.5),  # half the objects never found: recall stops at 0.5
        ([0.9, 0.8], [False, True], 1, 0.5),  # precision 0.5 up to recall 1
    ],
)
def test_average_precision(scores, tp, n_gt, expect):
    got = average_precision(np.array(scores), np.array(tp, bool), n_gt)
    assert got == (None if expect is None else pytest.approx(expect, abs=0.01))


def test_score_precision_recall_at_threshold():
    gt = [GtBox((0, 0, 10, 10), "vehicle"), GtBox((20, 0, 30, 10), "vehicle"), GtBox((0, 20, 9, 29), "garbage")]
    dets = [D((0, 0, 10, 10), 0.9), D((20, 0, 30, 10), 0.3), D((40, 0, 50, 10), 0.7)]
    (veh, gar) = score([(gt, dets)], ["vehicle", "garbage"], confidence=0.5)
    assert (veh.n_gt, veh.n_pred, veh.tp) == (2, 2, 1)
    assert veh.precision == 0.5 and veh.recall == 0.5
    assert 0.5 < veh.ap50 < 1.0  # the low-score hit still counts for AP
    assert (gar.n_gt, gar.n_pred, gar.ap50, gar.precision, gar.recall) == (1, 0, 0.0, None, 0.0)


@pytest.mark.parametrize(
    "spec, key, expect, exc",
    [
        (None, "car", "vehicle", None),
        (None, "transverse_crack", "road_damage", None),
        (None, "repair", None, None),
        ("Car=vehicle,Cyclist=", "car", "vehicle", None),
        ("Car=vehicle,Cyclist=", "cyclist", None, None),
        ("car=truck", None, None, ConfigError),
        ("nonsense", None, None, ConfigError),
    ],
)
def test_parse_class_map(spec, key, expect, exc):
    if exc:
        with pytest.raises(exc):
            parse_class_map(spec)
        return
    m = parse_class_map(spec)
    assert m.get(key) == expect


def test_parse_class_map_file(tmp_path):
    f = tmp_path / "map.json"
    f.write_text('{"Small Car": "vehicle", "tree": null}')
    m = parse_class_map(str(f))
    assert m["small_car"] == "vehicle" and m["tree"] is None
    f.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid"):
        parse_class_map(str(f))


def test_read_yolo_and_bad_line(tmp_path):
    t = tmp_path / "a.txt"
    t.write_text("0 0.5 0.5 0.2 0.1\n\n1 0.1 0.1 0.1 0.1\n")
    rows = read_yolo(t, (200, 100), ["car", "truck"])
    assert rows[0][0] == "car" and rows[0][1] == pytest.approx((80.0, 45.0, 120.0, 55.0))
    assert rows[1][0] == "truck"
    t.write_text("0 0.5 0.5\n")
    with pytest.raises(InputError, match="line 1"):
        read_yolo(t, (200, 100), None)


def _voc(path, filename, objects):
    objs = "".join(
        f"<object><name>{n}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for n, b in objects
    )
    path.write_text(f"<annotation><filename>{filename}</filename>{objs}</annotation>")


def test_read_voc_and_hostile_xml(tmp_path):
    x = tmp_path / "a.xml"
    _voc(x, "orig.jpg", [("Pothole", (1, 2, 30, 40))])
    assert read_voc(x) == ("orig.jpg", [("Pothole", (1.0, 2.0, 30.0, 40.0))])
    x.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "xxxx">]><annotation>&e;</annotation>')
    with pytest.raises(InputError):
        read_voc(x)


def _folder(tmp_path):
    """Two YOLO-labelled images, one VOC-labelled image under annotations/, one unlabelled image."""
    d = tmp_path / "data"
    (d / "annotations").mkdir(parents=True)
    img = np.zeros((100, 200, 3), np.uint8)
    for name in ("a", "b", "v", "u"):
        cv2.imwrite(str(d / f"{name}.png"), img)
    (d / "obj.names").write_text("car\ncyclist\n")
    (d / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n1 0.2 0.2 0.1 0.1\n")
    (d / "b.txt").write_text("")
    _voc(d / "annotations" / "v_annotation.xml", "somewhere/original.jpg", [("Pothole", (10, 10, 50, 40)), ("Repair", (0, 0, 5, 5))])
    return d


def test_load_labelled_finds_both_formats(tmp_path):
    d = _folder(tmp_path)
    found, skipped, errors = load_labelled(d)
    assert [p.name for p, _ in found] == ["a.png", "b.png", "v.png"]
    assert skipped == [str(d / "u.png")] and errors == []
    unmapped: Counter = Counter()
    gts = [to_gt(f((200, 100)), DEFAULT_CLASS_MAP, unmapped) for _, f in found]
    assert gts[0] == (GtBox((80.0, 40.0, 120.0, 60.0), "vehicle"),)
    assert gts[1] == ()
    assert gts[2] == (GtBox((10.0, 10.0, 50.0, 40.0), "road_damage"),)
    assert unmapped == Counter({"cyclist": 1, "Repair": 1})


def test_evaluate_folder_oracle_and_blind(tmp_path):
    d = _folder(tmp_path)
    truth = {(100, 200): None}

    def oracle(image):
        # knows the labels by image content: every image is black, so answer with the union of truths
        return [D((80, 40, 120, 60), 0.9), D((10, 10, 50, 40), 0.8, "road_damage")]

    rep = evaluate_folder(d, lambda im, p: oracle(im), confidence=0.5)
    by = {c.class_name: c for c in rep.per_class}
    assert rep.images == 3 and len(rep.skipped) == 1
    # each image gets both boxes; only one image per class has that object -> precision 1/3
    assert by["vehicle"].recall == 1.0 and by["vehicle"].precision == pytest.approx(1 / 3)
    assert by["road_damage"].recall == 1.0
    blind = evaluate_folder(d, lambda image, path: [], confidence=0.5)
    assert {c.class_name: c.ap50 for c in blind.per_class}["vehicle"] == 0.0
    assert truth  # silence


def test_evaluate_folder_errors(tmp_path):
    with pytest.raises(ConfigError, match="not a folder"):
        evaluate_folder(tmp_path / "nope", lambda i, p: [], 0.5)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no images"):
        evaluate_folder(tmp_path / "empty", lambda i, p: [], 0.5)
    d = _folder(tmp_path)
    (d / "b.txt").write_text("0 zero\n")
    errs = []
    rep = evaluate_folder(d, lambda i, p: [], 0.5, on_error=errs.append)
    assert rep.images == 2 and len(errs) == 1 and "b.txt" in str(errs[0])


def test_real_label_sets_load():
    uav = shared_path("road-damage-uavpdd")
    found, skipped, errors = load_labelled(uav)
    assert len(found) == 6 and not skipped and not errors
    unmapped: Counter = Counter()
    n = sum(len(to_gt(f((1280, 960)), DEFAULT_CLASS_MAP, unmapped)) for _, f in found)
    assert n == 43 and unmapped == Counter({"Repair": 2})
    cars = shared_path("aerial-cars")
    found, skipped, errors = load_labelled(cars)
    assert len(found) == 52 and not errors
    rows = dict(found)[cars / "DJI-00760-00001.jpg"]((1920, 1080))
    assert rows[0][0] == "car"  # names came from aerial.names


def test_sim_flight_layout_labels_folder_and_patrol_ids(tmp_path):
    # patrol sim flight: OUT/DJI_0001.JPG + OUT/labels/DJI_0001.txt, ids in patrol.detect.CLASSES order
    cv2.imwrite(str(tmp_path / "DJI_0001.JPG"), np.zeros((100, 200, 3), np.uint8))
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "DJI_0001.txt").write_text("2 0.5 0.5 0.1 0.1\n")
    (found,), skipped, _ = load_labelled(tmp_path)
    assert not skipped
    (gt,) = to_gt(found[1]((200, 100)), DEFAULT_CLASS_MAP, Counter())
    assert gt.class_name == "road_damage" and gt.bbox_xyxy_px == pytest.approx((90.0, 45.0, 110.0, 55.0))


def test_rdd2022_codes_map_to_road_damage():
    rdd = shared_path("road-damage-rdd2022-drone")
    found, skipped, errors = load_labelled(rdd)
    assert len(found) == 1867 and not errors
    unmapped: Counter = Counter()
    n = sum(len(to_gt(f((512, 512)), DEFAULT_CLASS_MAP, unmapped)) for _, f in found)
    # the README's counts: 2396 damage boxes (D00/D10/D20/D40/Block crack); Repair is not damage
    assert n == 2396 and unmapped == Counter({"Repair": 604})


def test_negatives_count_false_alarms_per_class(tmp_path):
    from patrol.detect.negatives import count_false_alarms, score_negatives

    conf = {"road_damage": 0.3, "garbage": 0.6, "vendor_stall": 0.65}
    per_image = [
        ("a.jpg", [D((0, 0, 9, 9), 0.35, "road_damage"), D((0, 0, 9, 9), 0.5, "garbage"), D((0, 0, 9, 9), 0.99)]),
        ("b.jpg", [D((0, 0, 9, 9), 0.7, "garbage")]),
        ("c.jpg", []),
    ]
    n, counts, worst = count_false_alarms(per_image, ("vendor_stall", "road_damage", "garbage"), conf)
    # the vehicle is not a negative class; the garbage at 0.5 is under its operating point
    assert n == 3 and counts == {"vendor_stall": 0, "road_damage": 1, "garbage": 1}
    assert worst[0] == ("b.jpg", "garbage", 0.7)
    for name in ("x.png", "y.jpg"):
        cv2.imwrite(str(tmp_path / name), np.zeros((40, 50, 3), np.uint8))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    errs: list = []
    neg = score_negatives(tmp_path, lambda im, p: [D((1, 1, 5, 5), 0.9, "garbage")], ("garbage",), conf, on_error=errs.append)
    assert neg.images == 2 and neg.false_alarms == {"garbage": 2} and neg.per_100_frames("garbage") == 100.0
    assert len(errs) == 1 and "broken.jpg" in str(errs[0])
    with pytest.raises(InputError, match="no images"):
        score_negatives(tmp_path / "sub", lambda im, p: [], ("garbage",), conf) if (tmp_path / "sub").mkdir() is None else None
