"""Source recognition, held-out photo labels and card judgements (no training)."""

from __future__ import annotations

import json

import pytest

from patrol.errors import InputError
from patrol.train.card import EvalBlock
from patrol.train.evaluate import ClassScore
from patrol.train.labels import LabelledBox, LabelledImage
from patrol.train.pipeline import _dji0019_complete, choose_confidence, judgements, source_kind
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
    im = _dji0019_complete(folder)
    if im is None:
        pytest.skip("verify fixture with the completed DJI_0019 labels is not in this checkout")
    assert im.image_path.name == "DJI_0019.JPG"
    assert len(im.boxes) == 37  # 11 road cars from the data set + 26 hand-labelled parking-lot cars
    assert all(b.class_name == "vehicle" for b in im.boxes)


def test_choose_confidence_defaults_for_classes_without_evidence() -> None:
    scores = [ClassScore("vehicle", 10, 0.9, 0.9, 0.9, 0.55), ClassScore("garbage", 0, 0.0, 1.0, 0.0, 0.05),
              ClassScore("road_damage", 5, 0.0, 1.0, 0.0, 0.05)]
    assert choose_confidence(scores, 0.5) == {"vehicle": 0.55, "garbage": 0.5, "road_damage": 0.5}


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
