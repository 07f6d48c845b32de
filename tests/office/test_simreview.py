"""Simulated reviews from the simulator's truth (the demo's reviewer)."""

from __future__ import annotations

import pytest

from patrol.office.simreview import TrueProblem, score_flight, simulate_reviews, simulated_verdict
from patrol.store import open_store
from patrol.store.reviews import latest_reviews
from tests.cases.helpers import case, latlon
from tests.office.world import make_world


@pytest.mark.parametrize("east_m, category, want", [
    (0.5, "road_damage", "confirmed"),
    (0.5, "exposed_garbage", "category:road_damage"),
    (10.0, "road_damage", "false_positive"),
])
def test_verdict(east_m, category, want) -> None:
    lat, lon = latlon(0.0, 0.0)
    c = case(1, category, east_m, 0.0)
    assert simulated_verdict(c, [TrueProblem("road_damage", lat, lon)]).label == want


def test_simulate_on_a_store(tmp_path) -> None:
    w = make_world(tmp_path)
    with open_store(w.db) as s:
        cases = s.list_cases()
        real = [TrueProblem(c.category, c.lat_deg, c.lon_deg) for c in cases if c.case_id in (2, 3)]
        counts = simulate_reviews(s, real, n=4)
        assert counts == {"confirmed": 2, "false_positive": 2}
        assert sorted(latest_reviews(s)) == [2, 3, 4, 5]  # case 1 is fixed (not active)
        assert simulate_reviews(s, real, n=2) == {"false_positive": 2}  # the next two unreviewed


def test_score_flight_counts_false_positives_and_recall() -> None:
    lat0, lon0 = latlon(0.0, 0.0)
    lat1, lon1 = latlon(50.0, 0.0)
    lat2, lon2 = latlon(100.0, 0.0)
    problems = [TrueProblem("road_damage", lat0, lon0), TrueProblem("road_damage", lat1, lon1),
                TrueProblem("exposed_garbage", lat2, lon2)]
    cases = [
        case(1, "road_damage", 0.5, 0.0),  # confirmed
        case(2, "road_damage", 0.0, 1.0),  # the same problem again: confirmed, not a false positive
        case(3, "road_damage", 200.0, 0.0),  # nothing there: false positive
        case(4, "road_damage", 20.0, 0.0),  # 20 m from both road damages: false positive
        case(5, "street_vending", 100.0, 0.5),  # garbage there: wrong category, and finds no garbage
    ]
    s = score_flight(cases, problems)
    assert (s["all"].cases, s["all"].confirmed, s["all"].wrong_category, s["all"].false_positives) == (5, 2, 1, 2)
    assert (s["all"].problems, s["all"].found) == (3, 1)
    assert s["all"].fp_rate == pytest.approx(0.4) and s["all"].recall == pytest.approx(1 / 3)
    rd = s["road_damage"]
    assert (rd.cases, rd.false_positives, rd.problems, rd.found) == (4, 2, 2, 1)
    assert rd.fp_rate == pytest.approx(0.5) and rd.recall == pytest.approx(0.5)
    assert (s["exposed_garbage"].cases, s["exposed_garbage"].problems, s["exposed_garbage"].found) == (0, 1, 0)
    assert s["exposed_garbage"].fp_rate == 0.0
    assert (s["street_vending"].cases, s["street_vending"].wrong_category, s["street_vending"].problems) == (1, 1, 0)
    assert score_flight([], problems)["all"].recall == 0.0
    assert score_flight([], [])["all"].recall == 1.0
