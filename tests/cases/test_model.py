from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from patrol.cases.model import CaseEvent, CaseStatus, EventSource
from tests.cases.helpers import T0, case


@pytest.mark.parametrize(
    "changes, error",
    [
        ({}, None),
        ({"lat_deg": 91.0}, "lat_deg"),
        ({"lon_deg": float("nan")}, "lon_deg"),
        ({"case_id": -1}, "case_id"),
        ({"category": ""}, "category"),
        ({"status": "duplicate"}, "duplicate_of"),  # duplicate without duplicate_of
        ({"duplicate_of": 3}, "duplicate_of"),  # duplicate_of on an open case
        ({"status": "duplicate", "duplicate_of": 7}, "itself"),
        ({"evidence_bbox_xyxy_px": (5, 5, 1, 1)}, "evidence_bbox"),
        ({"status": "bogus"}, "bogus"),
    ],
)
def test_case_validation(changes, error) -> None:
    base = case(7, "road_damage", 0, 0)
    if error is None:
        assert replace(base, **changes) == base
    else:
        with pytest.raises(ValueError, match=error):
            replace(base, **changes)


def test_naive_times_are_utc_and_status_is_enum() -> None:
    c = replace(case(1, "road_damage", 0, 0), opened_at=datetime(2026, 1, 1, 12), status="open")
    assert c.opened_at == datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    assert c.status is CaseStatus.OPEN


@pytest.mark.parametrize(
    "status, age_days, overdue_days, expected",
    [
        ("open", 3, 2, True),
        ("open", 1, 2, False),
        ("dispatched", 5, 2, True),
        ("fixed", 5, 2, False),
        ("closed_false_positive", 5, 2, False),
    ],
)
def test_overdue(status, age_days, overdue_days, expected) -> None:
    c = case(1, "exposed_garbage", 0, 0, status)
    assert c.is_overdue(T0 + timedelta(days=age_days), overdue_days) is expected


def test_event_kind_and_flight_source_needs_flight_id() -> None:
    e = CaseEvent(case_id=1, at=T0, from_status=None, to_status="open", source="flight", flight_id="f")
    assert e.kind == "opened" and e.source is EventSource.FLIGHT
    assert replace(e, from_status="open").kind == "observed"
    assert replace(e, from_status="dispatched", to_status="still_present").kind == "transition"
    with pytest.raises(ValueError, match="flight_id"):
        CaseEvent(case_id=1, at=T0, from_status=None, to_status="open", source="flight")


def test_as_dict_is_json_ready() -> None:
    import json

    d = case(4, "street_vending", 0, 0, evidence_bbox_xyxy_px=(1, 2, 3, 4)).as_dict()
    assert json.loads(json.dumps(d))["status"] == "open"
    assert d["evidence_bbox_xyxy_px"] == [1.0, 2.0, 3.0, 4.0]
    c = case(4, "street_vending", 0, 0)
    assert c.__geo_interface__ == {"type": "Point", "coordinates": (c.lon_deg, c.lat_deg)}
