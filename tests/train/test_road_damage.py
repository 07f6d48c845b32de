"""Road damage at patrol scale: RDD2022 reader, class codes, per-image GSD rescale, split groups; mining."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from patrol.detect.base import Detection
from patrol.errors import InputError
from patrol.train.labels import LabelledBox, LabelledImage
from patrol.train.mining import crop_window, false_alarms, pseudo_boxes, uncertain_boxes
from patrol.train.pipeline import source_kind
from patrol.train.road_damage import (
    RDD_DRONE_RESCALE,
    GsdRescale,
    is_test_group,
    rdd_group,
    read_rdd2022,
    rescale_images,
    rescaled_boxes,
)
from tests.conftest import shared_path

VOC = """<annotation><filename>{name}</filename><size><width>{w}</width><height>{h}</height></size>
{objects}</annotation>"""
OBJ = "<object><name>{cls}</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"


def _rdd_folder(tmp_path: Path) -> Path:
    root = tmp_path / "rdd"
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    cv2.imwrite(str(root / "images" / "China_Drone_000081.jpg"), np.full((512, 512, 3), 90, np.uint8))
    objs = OBJ.format(cls="D00", x1=10, y1=20, x2=60, y2=200) + OBJ.format(cls="Repair", x1=100, y1=100, x2=200, y2=200) + OBJ.format(
        cls="D40", x1=300, y1=300, x2=340, y2=330
    )
    (root / "annotations" / "China_Drone_000081.xml").write_text(VOC.format(name="China_Drone_000081.jpg", w=512, h=512, objects=objs))
    return root


def test_reader_maps_codes_and_drops_repair(tmp_path: Path) -> None:
    root = _rdd_folder(tmp_path)
    assert source_kind(root) == "road-damage-rdd2022"
    (im,) = read_rdd2022(root)
    assert [b.class_name for b in im.boxes] == ["road_damage", "road_damage"]
    assert im.size_wh == (512, 512) and im.group == "rdd2022:0002" and im.source == "road-damage-rdd2022"


def test_reader_names_the_broken_file(tmp_path: Path) -> None:
    root = _rdd_folder(tmp_path)
    (root / "annotations" / "China_Drone_000082.xml").write_text(VOC.format(name="x.jpg", w=5, h=5, objects=OBJ.format(cls="D99", x1=1, y1=1, x2=2, y2=2)))
    with pytest.raises(InputError, match="China_Drone_000082.xml.*unknown class 'd99'"):
        read_rdd2022(root)


def test_rescale_is_stable_in_range_and_scales_boxes(tmp_path: Path) -> None:
    r = GsdRescale(0.5, 1.0)
    fs = [r.factor_for(f"img{i}") for i in range(400)]
    assert all(0.5 <= f <= 1.0 for f in fs) and fs == [r.factor_for(f"img{i}") for i in range(400)]
    assert 0.6 < float(np.median(fs)) < 0.8  # log-uniform: median at sqrt(0.5)
    root = _rdd_folder(tmp_path)
    (im,) = read_rdd2022(root)
    (small,) = rescale_images([im], r, tmp_path / "out", log=lambda *_: None)
    f = r.factor_for(im.image_path.stem)
    assert cv2.imread(str(small.image_path)).shape[:2] == (round(512 * f), round(512 * f))
    assert small.boxes[0].bbox_xyxy_px == pytest.approx(tuple(v * f for v in im.boxes[0].bbox_xyxy_px))
    # a box too thin after the resize is dropped, not kept as a 1 px sliver
    assert rescaled_boxes([LabelledBox((0, 0, 6, 100), "road_damage")], 0.5, 4.0) == ()


def test_groups_are_street_blocks_and_a_test_tenth_is_held_out() -> None:
    assert rdd_group("China_Drone_000039") == rdd_group("China_Drone_000000") != rdd_group("China_Drone_000040")
    groups = [rdd_group(f"China_Drone_{i:06d}") for i in range(0, 2400, 40)]
    held = [g for g in groups if is_test_group(g)]
    assert 2 <= len(held) <= 12 and not is_test_group("video:DJI_0005")


def test_real_rdd_reads_every_box() -> None:
    images = read_rdd2022(shared_path("road-damage-rdd2022-drone"))
    assert len(images) == 1867 and sum(len(i.boxes) for i in images) == 2396
    assert RDD_DRONE_RESCALE.min_factor == 0.5


def _det(box, cls, score):
    return Detection(tuple(float(v) for v in box), cls, score)


def test_mining_tells_false_alarms_from_unlabelled_cars() -> None:
    im = LabelledImage(Path("x.jpg"), (512, 512), (LabelledBox((0, 0, 50, 50), "road_damage"),), "g", "road-damage-rdd2022")
    dets = [
        _det((100, 100, 160, 130), "garbage", 0.4),  # a false alarm: RDD has no garbage labels, it has none
        _det((0, 0, 50, 50), "garbage", 0.9),  # on a labelled crack: class confusion, not a background spot
        _det((200, 200, 330, 260), "vehicle", 0.8),  # an unlabelled car: becomes a label
        _det((300, 10, 420, 70), "vehicle", 0.3),  # maybe a car: greyed out
        _det((10, 400, 20, 410), "garbage", 0.1),  # below the mining confidence
    ]
    fa = false_alarms(dets, im, frozenset({"road_damage"}), 0.25, ("vehicle",))
    assert [(d.class_name, d.score) for d in fa] == [("garbage", 0.4)]
    assert pseudo_boxes(dets, im, ("vehicle",), 0.5) == (LabelledBox((200.0, 200.0, 330.0, 260.0), "vehicle"),)
    assert uncertain_boxes(dets, im, ("vehicle",), 0.25, 0.5) == [(300.0, 10.0, 420.0, 70.0)]


def test_crop_window_stays_inside() -> None:
    assert crop_window((10, 10), (1000, 800), 320) == (0, 0, 320, 320)
    assert crop_window((990, 790), (1000, 800), 320) == (680, 480, 1000, 800)
    assert crop_window((100, 100), (200, 150), 320) == (0, 0, 200, 150)
