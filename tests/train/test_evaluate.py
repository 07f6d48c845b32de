"""Detection metrics: matching, AP50, operating point, small-object recall; and the model card."""

from __future__ import annotations

import numpy as np
import pytest

from patrol.detect.base import Detection
from patrol.train.card import CardData, EvalBlock, render_card, weights_licence
from patrol.train.evaluate import (
    average_precision,
    best_f1_confidence,
    iou_matrix,
    match_image,
    pr_curve,
    score_class,
    small_recall,
)
from patrol.train.labels import LabelledBox

T1 = LabelledBox((0, 0, 10, 10), "vehicle")
T2 = LabelledBox((100, 100, 110, 110), "vehicle")


def D(box, score, cls="vehicle"):
    return Detection(tuple(float(v) for v in box), cls, score)


def test_iou_matrix() -> None:
    m = iou_matrix(np.array([[0, 0, 10, 10]], float), np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], float))
    assert m[0] == pytest.approx([1.0, 1 / 3, 0.0])


@pytest.mark.parametrize(
    ("dets", "truth", "scored", "n"),
    [
        ([D((0, 0, 10, 10), 0.9)], [T1], [(0.9, True)], 1),
        ([D((0, 0, 10, 10), 0.9), D((1, 0, 11, 10), 0.8)], [T1], [(0.9, True), (0.8, False)], 1),  # duplicate = FP
        ([D((50, 50, 60, 60), 0.7)], [T1], [(0.7, False)], 1),
        ([D((0, 0, 10, 10), 0.9, "garbage")], [T1], [], 1),  # other class ignored
        ([], [T1, T2], [], 2),
    ],
)
def test_match_image(dets, truth, scored, n) -> None:
    assert match_image(dets, truth, "vehicle") == (scored, n)


@pytest.mark.parametrize(
    ("scored", "n", "ap"),
    [
        ([(0.9, True), (0.8, True)], 2, 1.0),
        ([(0.9, True)], 2, 0.5),
        ([(0.9, False), (0.8, True)], 1, 0.5),
        ([(0.9, True), (0.8, False), (0.7, True)], 2, 0.5 + 0.5 * 2 / 3),
        ([], 3, 0.0),
    ],
)
def test_average_precision(scored, n, ap) -> None:
    _, p, r = pr_curve(scored, n)
    assert average_precision(p, r) == pytest.approx(ap)


def test_operating_point_is_best_f1_not_a_fixed_number() -> None:
    # many confident true positives, then a tail of low-score false positives
    scored = [(0.9 - i * 0.01, True) for i in range(20)] + [(0.3 - i * 0.01, False) for i in range(20)]
    s, p, r = pr_curve(scored, 20)
    conf = best_f1_confidence(s, p, r)
    assert 0.65 <= conf <= 0.75
    pairs = [([D((i * 20, 0, i * 20 + 10, 10), sc) for i, (sc, _) in enumerate(scored[:20])], [LabelledBox((i * 20, 0, i * 20 + 10, 10), "vehicle") for i in range(20)])]
    cs = score_class(pairs, "vehicle")
    assert cs.ap50 == pytest.approx(1.0) and cs.recall == 1.0 and cs.precision == 1.0
    assert cs.n_true == 20 and cs.curve


def test_small_recall_counts_only_small_boxes() -> None:
    big = LabelledBox((0, 0, 200, 100), "vehicle")
    small = LabelledBox((300, 300, 340, 330), "vehicle")
    pairs = [([D((300, 300, 340, 330), 0.6), D((0, 0, 200, 100), 0.2)], [big, small])]
    assert small_recall(pairs, "vehicle", 0.5, 64) == (1.0, 1)
    assert small_recall(pairs, "vehicle", 0.7, 64) == (0.0, 1)


def test_card_states_licence_and_numbers() -> None:
    from patrol.train.evaluate import ClassScore

    block = EvalBlock("Real: aerial-cars val", "held-out video", 11, (ClassScore("vehicle", 280, 0.91, 0.88, 0.86, 0.55),))
    card = CardData(
        model_file="patrol.onnx", classes=("vehicle",), architecture="yolov8s", init_note="scratch",
        sources=("aerial-cars", "road-damage-uavpdd", "sim"), tile_px=320, stride_px=256, scales=(1.0, 0.5),
        tiles={"train": 10, "val": 5}, objects={"train": {"vehicle": 3}}, val_groups=("video:A",), epochs=3,
        train_minutes=12.0, hardware="2 cores", confidence={"vehicle": 0.55}, default_confidence=0.55, evals=(block,),
    )
    text = render_card(card)
    assert "CC BY-SA" in text and "CC BY 3.0" in text and "10.5281/zenodo.8429208" in text and "AGPL-3.0" in text
    assert "| vehicle | 280 | 0.91 | 0.88 | 0.86 | 0.55 |" in text
    assert weights_licence(["sim"]) != weights_licence(["aerial-cars"])


def test_operating_point_falls_back_when_nothing_is_right() -> None:
    s, p, r = pr_curve([(0.9, False), (0.4, False)], 3)
    assert best_f1_confidence(s, p, r, fallback=0.5) == 0.5
    s, p, r = pr_curve([], 3)
    assert best_f1_confidence(s, p, r, fallback=0.45) == 0.45
