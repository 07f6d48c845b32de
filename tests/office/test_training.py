"""`patrol train --from-reviews`: reviewed findings as labels, hard negatives and relabelled boxes,
unreviewed detections greyed out, split by flight."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from patrol.cli import app
from patrol.detect.base import CLASSES, Detection
from patrol.office.review import parse_review, review_case
from patrol.office.training import GREY, build_review_dataset, build_review_images, crop_around
from patrol.store import open_store
from tests.office.world import make_world

runner = CliRunner()


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    with open_store(w.db) as s:
        review_case(s, 2, parse_review("confirmed"))  # garbage, seen on flights A and B
        review_case(s, 3, parse_review("false_positive"))  # a stall that is not one
        review_case(s, 4, parse_review("category:street_vending"))  # not a car: a stall
        review_case(s, 7, parse_review("confirmed"))  # road damage, flight B only
        review_case(s, 5, parse_review("duplicate:7"))  # labelled as case 7 says
        # an unreviewed detection next to case 2's box on flight A's frame
        f2 = dict(s.findings_of_case(2))["flightA"]
        x1, y1, x2, y2 = f2.best_bbox_xyxy_px
        s.save_detections("flightA", f2.best_frame, [Detection((x1, y1, x2, y2), "garbage", 0.9),
                                                      Detection((x2 + 20, y1, x2 + 60, y2), "vehicle", 0.7)])
    return w


def test_crop_around_stays_inside() -> None:
    assert crop_around((10, 10, 50, 50), (1200, 900), 320) == (0, 0, 320, 320)
    assert crop_around((1150, 850, 1190, 890), (1200, 900), 320) == (880, 580, 1200, 900)
    assert crop_around((100, 100, 700, 300), (1200, 900), 320) == (0, 0, 900, 900)  # grows for a big box


def test_labels_negatives_relabels_and_grey(world, tmp_path) -> None:
    with open_store(world.db) as s:
        rd = build_review_images(s, tmp_path / "r")
    assert rd.counts == {"confirmed": 5, "relabelled": 2, "hard_negative": 2}
    by_name = {im.image_path.name.split("-")[0] + "/" + im.group: im for im in rd.images}
    assert {im.group for im in rd.images} == {"reviews:flightA", "reviews:flightB"}
    assert all(im.source == "reviews" for im in rd.images)
    own = {im.image_path.name.split("-")[0]: im for im in rd.images if im.group == "reviews:flightA"}
    # case 5's box lies in case 2's crop (and the other way round): both labelled in both
    assert sorted(b.class_name for b in own["case2"].boxes) == ["garbage", "road_damage"]
    assert own["case3"].boxes == ()  # a hard negative: the region, no box
    assert [b.class_name for b in own["case4"].boxes] == ["vendor_stall"]
    assert sorted(b.class_name for b in own["case5"].boxes) == ["garbage", "road_damage"]  # dup of confirmed 7
    # the unreviewed "vehicle" detection beside case 2 is greyed out; the reviewed box is not
    img = cv2.imread(str(own["case2"].image_path))
    box = next(b for b in own["case2"].boxes if b.class_name == "garbage")
    bx1, by1, bx2, by2 = (int(v) for v in box.bbox_xyxy_px)
    gx1 = bx2 + 20 + 4
    assert np.abs(img[by1 + 5:by2 - 5, gx1:gx1 + 30].astype(int) - GREY).max() <= 8  # JPEG noise
    assert np.abs(img[by1 + 5:by2 - 5, bx1 + 5:bx2 - 5].astype(int) - GREY).max() > 20
    assert len(by_name) == len(rd.images)


def test_dataset_split_by_flight_and_cli(world, tmp_path) -> None:
    with open_store(world.db) as s:
        rd, ds = build_review_dataset(s, tmp_path / "d")
    assert set(ds.groups) == {"reviews:flightA", "reviews:flightB"} and set(ds.groups.values()) == {"train", "val"}
    assert sum(ds.tiles.values()) == len(rd.images)  # every crop kept, empty ones too
    labels = sorted((tmp_path / "d" / "dataset" / "labels").rglob("*.txt"))
    empty = [p for p in labels if not p.read_text().strip()]
    assert len(empty) == sum(1 for im in rd.images if not im.boxes) >= 1  # FP crops (unless a labelled box is near)
    classes = {CLASSES[int(line.split()[0])] for p in labels for line in p.read_text().splitlines()}
    assert classes == {"garbage", "vendor_stall", "road_damage"}

    r = runner.invoke(app, ["train", "--from-reviews", str(world.db), "--out", str(tmp_path / "c"), "--dataset-only"])
    assert r.exit_code == 0, r.output
    assert "2 false positives as hard negatives" in r.stderr and (tmp_path / "c" / "dataset" / "data.yaml").is_file()
    r = runner.invoke(app, ["train", "--out", str(tmp_path / "c"), "--dataset-only"])
    assert r.exit_code == 2 and "--from-reviews" in r.stderr
