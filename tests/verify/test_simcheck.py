"""Verification against the simulator's truth: one before/after city (problems fixed or remaining,
legal cars moved, a different sun, drone pose noise). The detections on each after view are the true
boxes (the simulator's truth, like patrol.sim's TruthDetector); the full table over several seeds is
in scripts/bench_verify.py --sim."""

from __future__ import annotations

import pytest

from patrol.verify.simcheck import SimReport, run_seed


@pytest.fixture(scope="module")
def report() -> SimReport:
    return run_seed(2, detector="truth", max_legal_cars=8)


def test_problems_covered_by_both_flights(report, capsys) -> None:
    conf = report.confusion("problem")
    with capsys.disabled():
        print("\nsim seed 2, problems (expected, got):", dict(conf), " legal cars:", dict(report.confusion("legal_car")))
    assert sum(conf.values()) >= 5
    # one seed has only a handful of problems: the >= 95% over 42 problems (seeds 1-6, 11) is
    # measured by scripts/bench_verify.py --sim; here one miss is tolerated, a false `fixed` is not
    assert report.accuracy("problem") >= 0.85
    assert report.false_fixed("problem") == 0  # no moved car, shadow, light or pose error became a false `fixed`


def test_both_verdicts_occur(report) -> None:
    got = {c.got for c in report.cases}
    assert {"fixed", "still_present"} <= got


def test_unknown_detector_mode_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="detector must be one of"):
        run_seed(1, detector="magic")
