from __future__ import annotations

import cv2
import numpy as np
import pytest

from patrol.detect.base import Detection, Detector
from patrol.errors import InputError, ModelError
from patrol.sim import TruthDetector, load_truth
from patrol.sim.truth import Truth


def test_round_trip(small_flight) -> None:
    t = load_truth(small_flight.folder / "truth.json")
    assert Truth.from_json(t.to_json()) == t
    assert t == small_flight.truth


def test_load_truth_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="no truth.json"):
        load_truth(tmp_path)
    (tmp_path / "truth.json").write_text("{not json")
    with pytest.raises(InputError, match="not a valid truth file"):
        load_truth(tmp_path)


def test_truth_detector_by_path_and_by_image(small_flight) -> None:
    d = TruthDetector.for_paths([small_flight.folder])
    assert isinstance(d, Detector)
    f = small_flight.truth.frames[1]
    want = [lb for lb in f.labels if lb.visible_frac >= 0.3]
    got = d.detect_path(small_flight.folder / f.file)
    assert [x.bbox_xyxy_px for x in got] == [lb.bbox_xyxy_px for lb in want]
    assert all(isinstance(x, Detection) and x.score == 1.0 for x in got)
    img = cv2.imread(str(small_flight.folder / f.file))
    assert d.detect(img) == got
    assert d.for_frame(small_flight.folder / f.file).detect(img) == got
    # a frame given by its path inside the folder also finds the flight
    assert TruthDetector.for_paths([small_flight.folder / f.file]).detect_path(small_flight.folder / f.file) == got


def test_truth_detector_refuses_what_it_does_not_know(small_flight, tmp_path) -> None:
    d = TruthDetector(small_flight.folder)
    with pytest.raises(ModelError, match="whole"):
        d.detect(np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(ModelError, match="not one of"):
        d.detect(np.full((600, 800, 3), 255, np.uint8))
    with pytest.raises(ModelError):
        d.detect_path(tmp_path / "DJI_0001.JPG")
    with pytest.raises(ModelError, match="no truth.json"):
        TruthDetector.for_paths([tmp_path])


def test_seen_problems_are_labelled_in_some_frame(small_flight) -> None:
    t = small_flight.truth
    seen = t.seen_problems()
    labelled = {lb.object_id for f in t.frames for lb in f.labels if lb.visible_frac >= 0.3}
    assert {o.id for o in seen} <= labelled
    assert all(o.violation for o in seen)
    assert t.seen_ids(0.0) >= t.seen_ids(0.9)
