"""Source recognition, held-out photo labels and card judgements (no training)."""

from __future__ import annotations

import json

import pytest

from patrol.detect.base import Detection

from patrol.errors import InputError
from patrol.train import pipeline
from patrol.train.card import EvalBlock
from patrol.train.evaluate import ClassScore
from patrol.train.labels import LabelledBox, LabelledImage
from patrol.train.pipeline import _dji0019_complete, judgements, source_kind
from tests.conftest import shared_path


@pytest.mark.parametrize(
    ("files", "kind"),
    [
        ({"aerial.names": "car\n"}, "aerial-cars"),
        ({"samples_manifest.json": "{}", "annotations/x.xml": "<a/>"}, "road-damage-uavpdd"),
        ({"f1/truth.json": "{}"}, "sim"),
        ({"truth.json": "{}"}, "sim"),
        ({"a/b/img.txt": "0 0.5 0.5 0.1 0.1"}, "yolo"),
    ],
)
def test_source_kind(tmp_path, files, kind) -> None:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    assert source_kind(tmp_path) == kind


def test_source_kind_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="not a folder"):
        source_kind(tmp_path / "missing")
    with pytest.raises(InputError, match="no labels found"):
        source_kind(tmp_path)


def test_dji0019_gets_the_completed_labels() -> None:
    folder = shared_path("aerial-cars")
    for name in ("DJI_0019.JPG", "DJI_0019.txt", "aerial.names"):
        shared_path("aerial-cars", name)  # the photo and its data-set labels are sample data: skipped when absent
    # the hand-labelled cars are committed: a checkout without them is broken, so this fails
    assert pipeline.VERIFY_FIXTURE.is_file(), f"committed fixture missing: {pipeline.VERIFY_FIXTURE}"
    im = _dji0019_complete(folder)
    assert im is not None, "DJI_0019 and its labels are there but got no completed labels"
    assert im.image_path.name == "DJI_0019.JPG"
    assert len(im.boxes) == 37  # 11 road cars from the data set + 26 hand-labelled parking-lot cars
    assert all(b.class_name == "vehicle" for b in im.boxes)


def _d(box, cls, score):
    return Detection(tuple(float(v) for v in box), cls, score)


def test_operating_points_from_real_val_and_false_alarm_bound() -> None:
    from patrol.train.operating import choose_operating_points, raise_for_false_alarms

    crack = LabelledBox((0, 0, 10, 40), "road_damage")
    # real road damage: 6 cracks found at 0.4-0.9, plus a 0.35 false box on the pavement
    rdd = [([_d((0, 0, 10, 40), "road_damage", 0.4 + 0.1 * k), _d((50, 50, 60, 60), "road_damage", 0.35)], (crack,)) for k in range(6)]
    # street frames with no road damage: branch shadows at 0.5 in 2 of 10 frames, a sim-only garbage class firing at 0.7 once
    streets = [([_d((5, 5, 30, 30), "road_damage", 0.5)] if k < 2 else [], ()) for k in range(9)]
    streets.append(([_d((5, 5, 30, 30), "garbage", 0.7)], ()))
    pile = LabelledBox((0, 0, 20, 20), "garbage")
    sim = [([_d((0, 0, 20, 20), "garbage", 0.6)], (pile,)) for _ in range(4)]
    points = choose_operating_points({"road-damage-rdd2022": rdd, "aerial-cars": streets, "sim": sim},
                                     ("road_damage", "garbage"), max_false_alarms_per_100=10.0)
    rd, gb = points["road_damage"], points["garbage"]
    assert "real val" in rd.chosen_on and rd.negative_frames == 10
    # best F1 on real alone would sit at 0.35-0.4; the shadows push it past 0.5 (1 alarm allowed in 10 frames)
    assert rd.confidence > 0.5 and rd.false_alarms <= 1
    assert "synthetic" in gb.chosen_on and gb.negative_frames == 16  # streets + pavement (RDD has no garbage)
    assert gb.confidence == pytest.approx(0.6) and gb.false_alarms == 1  # 1 alarm in 16 frames is within 10 per 100
    strict = choose_operating_points({"aerial-cars": streets, "sim": sim}, ("garbage",), max_false_alarms_per_100=0.0)
    assert strict["garbage"].confidence == pytest.approx(0.75) and strict["garbage"].false_alarms == 0
    assert "raised from 0.60" in strict["garbage"].chosen_on
    assert raise_for_false_alarms(streets, "road_damage", 0.1, 0.0) == pytest.approx(0.55)
    # a synthetic-only class whose best F1 sits at a low score is held at the floor
    weak = [([_d((0, 0, 20, 20), "garbage", 0.1)], (pile,)) for _ in range(4)]
    low = choose_operating_points({"sim": weak}, ("garbage",))["garbage"]
    assert low.confidence == pytest.approx(0.5) and "floor" in low.chosen_on
    assert choose_operating_points({"sim": weak}, ("garbage",), synthetic_floor=0.05)["garbage"].confidence < 0.5


def test_judgements_follow_numbers_and_data(tmp_path) -> None:
    good_block = EvalBlock("Real: aerial-cars val", "", 3, (ClassScore("vehicle", 100, 0.91, 0.9, 0.85, 0.5),
                                                             ClassScore("garbage", 4, 0.2, 0.5, 0.25, 0.5)))
    images = [
        LabelledImage(tmp_path / "a.jpg", (10, 10), (LabelledBox((0, 0, 5, 5), "vehicle"),), "video:A", "aerial-cars"),
        LabelledImage(tmp_path / "s.jpg", (10, 10), (LabelledBox((0, 0, 5, 5), "garbage"),), "simworld:1", "sim"),
    ]
    good, bad = judgements([good_block], {"train": {"vehicle": 1, "garbage": 1}}, images, {"video:A": "train", "simworld:1": "train"})
    assert any("`vehicle`" in g and "0.91" in g for g in good)
    assert any("`garbage`" in b and "0.20" in b for b in bad)
    assert any("`garbage` was learnt from synthetic images only" in b for b in bad)
    assert not any("`vehicle` was learnt from synthetic" in b for b in bad)
    json.dumps([good, bad])
