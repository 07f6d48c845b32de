from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrol.cases.matching import Coverage, match_findings
from tests.cases.helpers import FRAME, case, finding, square

R = 5.0


def _ids(result):
    return [m.case_id for m in result.matches]


@pytest.mark.parametrize(
    "finding_at, finding_cat, case_at, case_cat, case_status, expected",
    [
        ((0, 0), "road_damage", (3, 0), "road_damage", "open", 1),  # within radius
        ((0, 0), "road_damage", (4.9, 0), "road_damage", "dispatched", 1),
        ((0, 0), "road_damage", (5.2, 0), "road_damage", "open", None),  # just outside
        ((0, 0), "road_damage", (1, 0), "exposed_garbage", "open", None),  # other category
        ((0, 0), "road_damage", (1, 0), "road_damage", "fixed", 1),  # comes back -> reopen
        ((0, 0), "road_damage", (1, 0), "road_damage", "closed_false_positive", 1),  # absorbed
        ((0, 0), "road_damage", (1, 0), "road_damage", "closed", None),
        ((0, 0), "road_damage", (1, 0), "road_damage", "duplicate", None),
    ],
)
def test_single_match(finding_at, finding_cat, case_at, case_cat, case_status, expected) -> None:
    res = match_findings([finding("a", finding_cat, *finding_at)], [case(1, case_cat, *case_at, case_status)], radius_m=R)
    assert _ids(res) == [expected]
    if expected is not None:
        assert res.matches[0].distance_m == pytest.approx(math.dist(finding_at, case_at), abs=0.01)


def test_findings_without_category_are_counted_not_matched() -> None:
    res = match_findings([finding("a", None, 0, 0), finding("b", "road_damage", 0, 0)], [], radius_m=R)
    assert res.not_violations == 1 and [m.finding.finding_id for m in res.new] == ["b"]


def test_nearest_pairs_first_and_one_finding_per_case() -> None:
    cases = [case(1, "illegal_parking", 0, 0), case(2, "illegal_parking", 4, 0)]
    # b is nearest to case 1; a then takes case 2; c finds both taken -> new case
    fs = [finding("a", "illegal_parking", 1.5, 0), finding("b", "illegal_parking", 0.2, 0), finding("c", "illegal_parking", 0.5, 0)]
    res = match_findings(fs, cases, radius_m=R)
    assert _ids(res) == [2, 1, None]
    assert [m.finding.finding_id for m in res.new] == ["c"] and len(res.matched) == 2


def test_deterministic_tie_break_by_case_id() -> None:
    cases = [case(9, "road_damage", 2, 0), case(3, "road_damage", 2, 0), case(5, "road_damage", 2, 0)]
    assert _ids(match_findings([finding("a", "road_damage", 0, 0)], cases, radius_m=R)) == [3]


def test_coverage_queues_only_active_unseen_cases_at_usable_gsd() -> None:
    cases = [
        case(1, "road_damage", 10, 10),  # covered, not seen -> verify
        case(2, "road_damage", 200, 200),  # outside coverage -> untouched
        case(3, "road_damage", 20, 20),  # covered and seen -> not queued
        case(4, "road_damage", 30, 30, "fixed"),  # not active
        case(5, "road_damage", 40, 40, "closed_false_positive"),
        case(6, "exposed_garbage", 60, 60, "dispatched"),  # only in the coarse frame
        case(7, "exposed_garbage", 45, 45, "still_present"),  # in both frames -> the fine one
    ]
    cov = [
        Coverage("fine.JPG", square(0, 0, 50, 50), gsd_m=0.02),
        Coverage("coarse.JPG", square(40, 40, 100, 100), gsd_m=0.2),
        Coverage("fine2.JPG", square(44, 44, 46, 46), gsd_m=0.03),
    ]
    res = match_findings([finding("s", "road_damage", 20.5, 20)], cases, radius_m=R, coverage=cov, max_verify_gsd_m=0.05)
    assert _ids(res) == [3]
    assert [(v.case_id, v.frame, v.gsd_m) for v in res.to_verify] == [(1, "fine.JPG", 0.02), (7, "fine.JPG", 0.02)]


def test_no_coverage_no_queue_and_empty_inputs() -> None:
    res = match_findings([], [case(1, "road_damage", 0, 0)], radius_m=R)
    assert res.matches == () and res.to_verify == ()
    with pytest.raises(ValueError, match="radius_m"):
        match_findings([], [], radius_m=-1)
    with pytest.raises(ValueError, match="gsd_m"):
        Coverage("x", square(0, 0, 1, 1), gsd_m=0)


pts = st.tuples(st.floats(-40, 40), st.floats(-40, 40))
cats = st.sampled_from(["road_damage", "exposed_garbage"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(pts, cats), max_size=12), st.lists(st.tuples(pts, cats), max_size=12))
def test_matching_is_a_maximal_one_to_one_assignment_within_radius(fpts, cpts) -> None:
    fs = [finding(f"f{i}", c, *p) for i, (p, c) in enumerate(fpts)]
    cs = [case(i + 1, c, *p) for i, (p, c) in enumerate(cpts)]
    res = match_findings(fs, cs, radius_m=R)
    assert len(res.matches) == len(fs)
    taken = [m.case_id for m in res.matches if m.case_id is not None]
    assert len(taken) == len(set(taken))  # one finding per case
    by_id = {c.case_id: c for c in cs}

    def dist(f, c):
        fe, fn = FRAME.to_local(f.lat_deg, f.lon_deg)
        ce, cn = FRAME.to_local(c.lat_deg, c.lon_deg)
        return math.hypot(fe - ce, fn - cn)

    for m in res.matched:
        c = by_id[m.case_id]
        assert c.category == m.finding.category and dist(m.finding, c) <= R + 1e-6
    # maximal: no unmatched finding has a free same-category case within the radius
    free = [c for c in cs if c.case_id not in set(taken)]
    for m in res.new:
        assert all(c.category != m.finding.category or dist(m.finding, c) > R - 1e-3 for c in free)


@settings(max_examples=20, deadline=None)
@given(
    st.floats(-70, 70), st.floats(-179, 179),  # city origin
    st.floats(-20_000, 20_000), st.floats(-20_000, 20_000),  # a point up to 20 km away
    st.floats(0, 2 * math.pi), st.floats(0, 5),  # a second point within 5 m of it
)
def test_local_projection_agrees_with_localframe(lat0, lon0, e, n, theta, r) -> None:
    import numpy as np

    from patrol.cases.matching import _project
    from patrol.geo.crs import LocalFrame

    frame = LocalFrame(lat0, lon0)
    lat, lon = frame.to_wgs84(np.array([e, e + r * math.cos(theta)]), np.array([n, n + r * math.sin(theta)]))
    pe, pn = _project(lat, lon, (lat0, lon0))
    assert math.hypot(pe[1] - pe[0], pn[1] - pn[0]) == pytest.approx(r, abs=0.02)
