"""Simulated reviews from the simulator's truth (the demo's reviewer)."""

from __future__ import annotations

import pytest

from patrol.office.simreview import TrueProblem, simulate_reviews, simulated_verdict
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
