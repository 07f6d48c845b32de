"""score_cases: cases against the simulator's true problems."""

from __future__ import annotations

import pytest

from patrol.sim import FlightSpec, run_flight
from patrol.sim.truth import load_truth, score_cases


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    out = tmp_path_factory.mktemp("flight")
    run_flight(out, FlightSpec(seed=3, frames=2, scenario="before"))
    return load_truth(out)


def test_truth_problems_score_perfectly_and_noise_does_not(truth) -> None:
    problems = truth.seen_problems()
    assert problems
    exact = [(o.violation, o.center_lat_deg, o.center_lon_deg) for o in problems]
    sc = score_cases(truth, exact)
    assert (sc.matched, sc.precision, sc.recall) == (len(problems), 1.0, 1.0)
    # wrong category, or 50 m away: no match
    wrong = [("not_a_category", lat, lon) for _, lat, lon in exact] + [(c, lat + 0.00045, lon) for c, lat, lon in exact]
    sc = score_cases(truth, wrong)
    assert sc.matched == 0 and sc.precision == 0.0 and sc.recall == 0.0
    # each problem matches at most one case
    sc = score_cases(truth, exact + exact)
    assert sc.matched == len(problems) and sc.precision == pytest.approx(0.5)
