from __future__ import annotations

from datetime import timedelta

import pytest

from patrol.cases import lifecycle
from patrol.cases.model import CaseStatus, EventSource
from patrol.errors import InvalidTransition, PatrolError
from tests.cases.helpers import T0, case, finding

T1 = T0 + timedelta(days=1)


@pytest.mark.parametrize(
    "start, to, source, ok",
    [
        ("open", "dispatched", "reviewer", True),
        ("open", "dispatched", "verification", False),
        ("open", "fixed", "verification", True),
        ("dispatched", "fixed", "verification", True),
        ("dispatched", "still_present", "flight", True),
        ("dispatched", "open", "reviewer", False),
        ("still_present", "dispatched", "reviewer", True),
        ("fixed", "reopened", "flight", True),
        ("fixed", "closed", "reviewer", True),
        ("fixed", "dispatched", "reviewer", False),
        ("open", "closed_false_positive", "reviewer", True),
        ("open", "closed_false_positive", "flight", False),
        ("closed_false_positive", "reopened", "reviewer", True),
        ("closed_false_positive", "open", "reviewer", False),
        ("closed", "reopened", "reviewer", True),
        ("closed", "dispatched", "reviewer", False),
        ("reopened", "dispatched", "reviewer", True),
        ("duplicate", "reopened", "reviewer", True),
        ("duplicate", "closed", "reviewer", False),
    ],
)
def test_transition_table(start, to, source, ok) -> None:
    c = case(5, "road_damage", 0, 0, start)
    if ok:
        new, ev = lifecycle.transition(c, to, at=T1, source=source, flight_id="f2", note="n")
        assert new.status == to and new.updated_at == T1 and new.opened_at == c.opened_at
        assert (ev.from_status, ev.to_status, ev.source, ev.note, ev.case_id) == (start, to, source, "n", 5)
        assert new.duplicate_of is None
    else:
        with pytest.raises(InvalidTransition) as info:
            lifecycle.transition(c, to, at=T1, source=source, flight_id="f2")
        assert isinstance(info.value, PatrolError)
        msg = str(info.value)
        assert f"case 5: cannot go from {start} to {to}" in msg and "allowed from" in msg


def test_duplicate_needs_target_and_not_itself() -> None:
    c = case(5, "road_damage", 0, 0)
    new, ev = lifecycle.transition(c, "duplicate", at=T1, source="reviewer", duplicate_of=3)
    assert new.status == CaseStatus.DUPLICATE and new.duplicate_of == 3 and "case 3" in ev.note
    with pytest.raises(InvalidTransition, match="--of"):
        lifecycle.transition(c, "duplicate", at=T1, source="reviewer")
    with pytest.raises(InvalidTransition, match="itself"):
        lifecycle.transition(c, "duplicate", at=T1, source="reviewer", duplicate_of=5)
    with pytest.raises(InvalidTransition, match="only for status duplicate"):
        lifecycle.transition(c, "closed", at=T1, source="reviewer", duplicate_of=3)
    back, _ = lifecycle.transition(new, "reopened", at=T1, source="reviewer")
    assert back.duplicate_of is None


def test_every_status_has_a_way_out_and_every_target_is_a_status() -> None:
    for status in CaseStatus:
        assert lifecycle.allowed_targets(status), status
        for to in lifecycle.allowed_targets(status):
            assert to != status


def test_allowed_targets_by_source() -> None:
    assert lifecycle.allowed_targets("dispatched", "verification") == ["fixed", "still_present"]
    assert lifecycle.allowed_targets("closed_false_positive", EventSource.FLIGHT) == []


@pytest.mark.parametrize(
    "start, expected",
    [
        ("open", "open"),
        ("dispatched", "still_present"),
        ("still_present", "still_present"),
        ("reopened", "reopened"),
        ("fixed", "reopened"),
        ("closed_false_positive", "closed_false_positive"),
        ("duplicate", None),
        ("closed", None),
    ],
)
def test_observe(start, expected) -> None:
    c = case(2, "street_vending", 0, 0, start, score=0.5)
    f = finding("F9", "street_vending", 1, 0, score=0.7, frame="DJI_0100.JPG")
    if expected is None:
        with pytest.raises(InvalidTransition, match="does not take new findings"):
            lifecycle.observe(c, f, flight_id="f2", at=T1)
        return
    new, ev = lifecycle.observe(c, f, flight_id="f2", at=T1)
    assert new.status == expected
    assert (new.last_flight_id, new.last_seen_at, new.observations) == ("f2", T1, c.observations + 1)
    assert new.evidence_frame == "DJI_0100.JPG" and new.score == 0.7
    assert (new.lat_deg, new.lon_deg) == (c.lat_deg, c.lon_deg)  # the spot does not drift
    assert (ev.from_status, ev.to_status, ev.finding_id, ev.flight_id) == (start, expected, "F9", "f2")


def test_open_case_from_finding() -> None:
    f = finding("F1", "illegal_parking", 3, 4, grid_cell="G-7", unit="Team East")
    c, ev = lifecycle.open_case(f, flight_id="f1", at=T0)
    assert (c.case_id, c.status, c.category, c.class_name) == (0, "open", "illegal_parking", "vehicle")
    assert (c.grid_cell, c.unit, c.first_flight_id, c.last_flight_id) == ("G-7", "Team East", "f1", "f1")
    assert (c.lat_deg, c.lon_deg, c.evidence_frame) == (f.lat_deg, f.lon_deg, f.best_frame)
    assert ev.kind == "opened" and ev.finding_id == "F1"
    with pytest.raises(ValueError, match="no category"):
        lifecycle.open_case(finding("F2", None, 0, 0), flight_id="f1", at=T0)


def test_overdue_sorted_oldest_first() -> None:
    a = case(1, "road_damage", 0, 0, opened_at=T0 + timedelta(days=1))
    b = case(2, "road_damage", 0, 0, opened_at=T0)
    c = case(3, "road_damage", 0, 0, "fixed")
    d = case(4, "road_damage", 0, 0, opened_at=T0 + timedelta(days=9))
    assert [x.case_id for x in lifecycle.overdue([a, b, c, d], now=T0 + timedelta(days=10), overdue_days=2)] == [2, 1]
