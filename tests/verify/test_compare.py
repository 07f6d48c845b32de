from __future__ import annotations

import numpy as np
import pytest

from patrol.verify.compare import (
    ChangeStats,
    DetectionMatch,
    Inconclusive,
    SpotEvidence,
    Verdict,
    box_mask,
    change_map,
    decide,
    iou_xyxy,
    match_detections,
    normalise_lab,
    region_change,
    sharpness,
)
from tests.verify.scene import camera, ground_texture, render


def _crop() -> np.ndarray:
    return render(ground_texture(5), camera(pitch=-90.0, north=0.0, height=30.0))[200:400, 300:500].copy()


@pytest.mark.parametrize("gain, offset", [(0.6, 30.0), (1.4, -40.0), (1.0, 0.0)])
def test_normalisation_removes_a_global_lighting_change(gain: float, offset: float) -> None:
    b = _crop()
    a = np.clip(b.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)
    raw_b, raw_a = normalise_lab(b, b, np.ones(b.shape[:2], bool))
    lb, la = normalise_lab(b, a, np.ones(b.shape[:2], bool))
    d = change_map(lb, la)
    assert float(np.median(d)) < 4.0
    if gain != 1.0:  # without normalisation the same pair reads as changed
        lb2 = raw_b
        la2 = normalise_lab(a, a, np.ones(b.shape[:2], bool))[0]
        assert float(np.median(change_map(lb2, la2))) > 2.0 * float(np.median(d)) + 4.0


def test_change_map_tolerates_a_small_shift_but_not_a_new_object() -> None:
    b = _crop()
    shifted = np.roll(b, 2, axis=1)
    lb, la = normalise_lab(b, shifted, np.ones(b.shape[:2], bool))
    d = change_map(lb, la, shift_px=2)
    assert float(np.median(d[:, 5:-5])) < 4.0
    a = b.copy()
    a[80:120, 80:120] = (30, 30, 220)
    lb, la = normalise_lab(b, a, ~box_mask(b.shape[:2], (80, 80, 120, 120)))
    d = change_map(lb, la)
    st = region_change(d, box_mask(b.shape[:2], (80, 80, 120, 120)), ~box_mask(b.shape[:2], (70, 70, 130, 130)))
    assert st.region_changed_frac > 0.8 and st.surround_changed_frac < 0.15


@pytest.mark.parametrize(
    "a, b, expect",
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
        ((0, 0, 10, 10), (5, 0, 15, 10), 1 / 3),
        ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),
    ],
)
def test_iou(a, b, expect: float) -> None:
    assert iou_xyxy(a, b) == pytest.approx(expect)


@pytest.mark.parametrize(
    "boxes, classes, found",
    [
        ([(0, 0, 10, 10)], ["vehicle"], True),
        ([(0, 0, 10, 10)], ["garbage"], False),  # another class is not the case's object
        ([(30, 30, 40, 40)], ["vehicle"], False),  # elsewhere
        ([(2, 2, 9, 8)], ["vehicle"], True),  # smaller box of the same object (IoU 0.42)
        ([(3, 3, 7, 7)], ["vehicle"], True),  # a smaller object inside the footprint (IoU 0.16): on the spot
        ([(4, 0, 14, 10)], ["vehicle"], True),  # another car half a footprint on (IoU 0.43, 60% of the smaller box)
        ([(8, 0, 18, 10)], ["vehicle"], False),  # a car in the next bay touching the edge: 20% of the smaller box
        ([(0, 9, 10, 19)], ["vehicle"], False),  # the next lane: 10%
        ([(-20, -20, 30, 30)], ["vehicle"], True),  # a bus over the whole spot (IoU 0.04)
        ([], [], False),
    ],
)
def test_match_detections(boxes, classes, found: bool) -> None:
    m = match_detections((0, 0, 10, 10), "vehicle", boxes, classes, [0.8] * len(boxes))
    assert m.found is found


def _stats(frac: float) -> ChangeStats:
    return ChangeStats(frac, 0.1, 20.0, 10.0, 5.0)


WEAK = SpotEvidence((Inconclusive.WEAK_REGISTRATION, "aligned by the camera poses only"))
NO_DET = SpotEvidence((Inconclusive.NO_DETECTOR, "no detector"))


@pytest.mark.parametrize(
    "match, frac, evidence, verdict, conf_range",
    [
        (DetectionMatch(True, 0.9, 0.7), 0.0, SpotEvidence(), Verdict.STILL_PRESENT, (0.9, 0.99)),
        (DetectionMatch(True, 0.9, 0.7), 0.9, SpotEvidence(), Verdict.STILL_PRESENT, (0.85, 0.95)),  # replaced by another
        (DetectionMatch(True, 0.9, 0.7), 0.9, WEAK, Verdict.STILL_PRESENT, (0.85, 0.95)),  # seen: weak alignment is no matter
        (DetectionMatch(False), 0.9, SpotEvidence(), Verdict.FIXED, (0.85, 0.95)),
        (DetectionMatch(False), 0.3, SpotEvidence(), Verdict.FIXED, (0.6, 0.65)),
        (DetectionMatch(False), 0.9, WEAK, Verdict.INCONCLUSIVE, (0.5, 0.5)),  # change alone never makes fixed
        (DetectionMatch(False), 0.9, NO_DET, Verdict.INCONCLUSIVE, (0.5, 0.5)),
        (DetectionMatch(False), 0.05, SpotEvidence(), Verdict.STILL_PRESENT, (0.7, 0.9)),  # missed by the detector
        (DetectionMatch(False), 0.05, NO_DET, Verdict.STILL_PRESENT, (0.7, 0.9)),  # unchanged: still there
    ],
)
def test_decide(match, frac, evidence, verdict, conf_range) -> None:
    d = decide("vehicle", match, _stats(frac), change_threshold=0.25, evidence=evidence)
    assert d.verdict is verdict
    assert conf_range[0] <= d.confidence <= conf_range[1]
    assert d.reasons
    assert (d.inconclusive_reason is not None) == (verdict is Verdict.INCONCLUSIVE)
    if evidence.weak is not None and verdict is Verdict.INCONCLUSIVE:
        assert d.inconclusive_reason is evidence.weak[0] and evidence.weak[1] in d.reasons


def test_change_stats_validates_fractions() -> None:
    with pytest.raises(ValueError, match="region_changed_frac"):
        ChangeStats(1.5, 0.1, 20.0, 1.0, 1.0)


def test_sharpness_is_blind_to_gain_but_not_to_blur() -> None:
    import cv2

    g = cv2.cvtColor(_crop(), cv2.COLOR_BGR2GRAY)
    dark = (g.astype(np.float32) * 0.5).astype(np.uint8)
    blurred = cv2.GaussianBlur(g, (0, 0), 4)
    assert sharpness(dark) == pytest.approx(sharpness(g), rel=0.2)
    assert sharpness(blurred) < 0.1 * sharpness(g)


def test_texture_term_sees_a_flattened_patch() -> None:
    b = _crop()
    a = b.copy()
    mean = b[80:120, 80:120].reshape(-1, 3).mean(axis=0)
    a[80:120, 80:120] = mean.astype(np.uint8)  # same average colour, texture gone
    lb, la = normalise_lab(b, a, ~box_mask(b.shape[:2], (80, 80, 120, 120)))
    colour_only = change_map(lb, la)[85:115, 85:115].mean()
    with_texture = change_map(lb, la, texture_weight=2.0)[85:115, 85:115].mean()
    assert with_texture > colour_only


def test_centre_tolerance_matches_a_shifted_box_of_similar_size() -> None:
    m0 = match_detections((0, 0, 10, 10), "vehicle", [(14, 0, 24, 10)], ["vehicle"], [0.9])
    m1 = match_detections((0, 0, 10, 10), "vehicle", [(14, 0, 24, 10)], ["vehicle"], [0.9], centre_tol_px=20.0)
    m2 = match_detections((0, 0, 10, 10), "vehicle", [(14, 0, 64, 50)], ["vehicle"], [0.9], centre_tol_px=80.0)
    assert (m0.found, m1.found, m2.found) == (False, True, False)  # m2: 25x the area, not the same object
