"""`patrol eval` and the model card compute one AP: the same boxes give the same number in both stacks."""

from __future__ import annotations

import numpy as np
import pytest

from patrol.detect.base import Detection
from patrol.detect.evaluate import GtBox, score
from patrol.metrics import ap_from_curve, ap_from_flags
from patrol.train.evaluate import score_class
from patrol.train.labels import LabelledBox


def _scene(rng: np.random.Generator, n_gt: int, n_det: int):
    gts = [(float(x), float(y), float(x + 20), float(y + 20)) for x, y in rng.integers(0, 500, (n_gt, 2))]
    dets = []
    for k in range(n_det):
        if k < n_gt and rng.random() < 0.7:  # near a true box
            x1, y1, x2, y2 = gts[k]
            dx, dy = rng.normal(0, 4, 2)
            box = (x1 + dx, y1 + dy, x2 + dx, y2 + dy)
        else:
            x, y = rng.integers(0, 500, 2)
            box = (float(x), float(y), float(x + 20), float(y + 20))
        dets.append(Detection(box, "vehicle", float(rng.random())))
    return gts, dets


@pytest.mark.parametrize("seed", range(5))
def test_eval_and_card_give_the_same_ap(seed: int) -> None:
    rng = np.random.default_rng(seed)
    images = [_scene(rng, int(rng.integers(1, 12)), int(rng.integers(0, 15))) for _ in range(6)]
    eval_pairs = [([GtBox(b, "vehicle") for b in gts], dets) for gts, dets in images]
    card_pairs = [(dets, tuple(LabelledBox(b, "vehicle") for b in gts)) for gts, dets in images]
    ap_eval = score(eval_pairs, ["vehicle"], 0.5)[0].ap50
    ap_card = score_class(card_pairs, "vehicle").ap50
    assert ap_eval == pytest.approx(ap_card, abs=1e-9)
    assert 0.0 <= ap_card <= 1.0


def test_all_point_ap_known_values() -> None:
    # two hits then a miss, 2 objects: AP 1.0; one miss before the hit, 1 object: precision 0.5 at recall 1
    assert ap_from_flags(np.array([0.9, 0.8, 0.7]), np.array([1, 1, 0], bool), 2) == pytest.approx(1.0)
    assert ap_from_flags(np.array([0.9, 0.8]), np.array([0, 1], bool), 1) == pytest.approx(0.5)
    assert ap_from_flags(np.array([]), np.array([], bool), 3) == 0.0
    assert ap_from_flags(np.array([0.5]), np.array([True]), 0) is None
    assert ap_from_curve(np.array([1.0, 0.5]), np.array([0.5, 0.5])) == pytest.approx(0.5)
