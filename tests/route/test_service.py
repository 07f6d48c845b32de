"""The store side of revisit routes: waiting cases, route records, which route a flight flew and what
it found at each case; the upgrade of an existing database; the simulator's waypoint path."""

from __future__ import annotations

from datetime import timedelta

import pytest

from patrol.cases.citizen import ReportInput, add_report
from patrol.cases.service import set_status, update_cases
from patrol.config import Settings
from patrol.ingest.frame import FrameMeta
from patrol.route.service import (
    RouteFormat,
    RouteRequest,
    category_max_gsd_m,
    link_flight,
    plan_revisit,
    revisit_outcomes,
    waiting_cases,
)
from patrol.store import open_store
from patrol.store.repo import VerificationRecord
from patrol.store.revisits import case_sources, list_routes
from patrol.zones import Zones
from tests.cases.helpers import T0, finding, latlon

S = Settings()


def _cases(store):
    store.begin_flight("F1", name="f1", source="/f1", n_files=1, started_at=T0)
    fs = [finding("a", "exposed_garbage", 0, 0), finding("b", "exposed_garbage", 200, 0), finding("c", "illegal_parking", 400, 0),
          finding("d", "exposed_garbage", 600, 0)]
    store.save_findings("F1", fs)
    update_cases(store, "F1", fs, at=T0)
    for cid in (1, 2, 3):
        set_status(store, cid, "dispatched", at=T0)
    lat, lon = latlon(800, 0)
    add_report(store, S, ReportInput("road_damage", lat_deg=lat, lon_deg=lon, reported_at=T0), Zones.empty())


def test_waiting_cases_are_dispatched_and_reported(store) -> None:
    _cases(store)
    assert [c.case_id for c in waiting_cases(store, S)] == [1, 2, 3, 5]  # case 4 is open: a reviewer's turn
    assert [c.case_id for c in waiting_cases(store, S, category="illegal_parking")] == [3]
    assert waiting_cases(store, S, overdue=True, now=T0 + timedelta(hours=1)) == []
    assert len(waiting_cases(store, S, overdue=True, now=T0 + timedelta(days=3))) == 4
    assert case_sources(store) == {1: "drone", 2: "drone", 3: "drone", 4: "drone", 5: "citizen"}


def test_category_gsd_from_the_settings() -> None:
    # vehicle: detected at 5 cm/px ([detect] class_gsd_m), verifiable at 4.5 m / 40 px = 11 cm/px
    assert category_max_gsd_m("illegal_parking", S) == 0.05
    assert category_max_gsd_m("road_damage", S) == pytest.approx(0.02)  # 0.5 m / 25 px
    assert category_max_gsd_m("exposed_garbage", S) == pytest.approx(0.05)  # 1 m / 20 px
    assert category_max_gsd_m("pothole_reported_by_phone", S) == 0.05  # no rule makes it: the default
    import dataclasses

    fine = dataclasses.replace(S, detect=dataclasses.replace(S.detect, class_gsd_m={"vehicle": 0.02}))
    assert category_max_gsd_m("illegal_parking", fine) == 0.02
    coarse_gate = dataclasses.replace(S, verify=dataclasses.replace(S.verify, min_object_px={"vehicle": 150.0}))
    assert category_max_gsd_m("illegal_parking", coarse_gate) == pytest.approx(0.03)  # 4.5 m / 150 px


def _frame(store, flight_id: str, name: str, e: float, n: float) -> None:
    lat, lon = latlon(e, n)
    store.save_frame(flight_id, name, FrameMeta(path=name, size_wh=(100, 100), lat_deg=lat, lon_deg=lon))


def test_a_flight_over_the_waypoints_is_tied_to_its_route(store, tmp_path) -> None:
    _cases(store)
    res = plan_revisit(store, S, RouteRequest(out=tmp_path / "rv.kmz", fmt=RouteFormat.KMZ), now=T0)
    (route,) = list_routes(store)
    assert route.case_ids == (1, 2, 3, 5) and res.files == (tmp_path / "rv.kmz",)
    # the revisit photographs 3 of 4 waypoints: case 1 fixed, case 2 seen again, case 3 no photo, 5 not found
    store.begin_flight("F2", name="f2", source="/f2", n_files=3, started_at=T0 + timedelta(days=1))
    for w in route.waypoints:
        if 3 not in w.case_ids:
            e_n = {1: (1, 2), 2: (203, -4), 5: (806, 3)}[w.case_ids[0]]
            _frame(store, "F2", f"wp{w.index}.jpg", *e_n)
    store.save_findings("F2", [finding("b2", "exposed_garbage", 201, 1)])
    update_cases(store, "F2", [finding("b2", "exposed_garbage", 201, 1)], at=T0 + timedelta(days=1))
    store.save_verification(VerificationRecord(1, "F2", T0, "fixed"))
    store.save_verification(VerificationRecord(5, "F2", T0, "not_found"))
    assert link_flight(store, "F2") == [route.route_id]
    (out,) = revisit_outcomes(store, "F2")
    assert dict(out.case_outcomes) == {1: "fixed", 2: "still present", 3: "not seen", 5: "not found"}
    assert out.line() == "revisit rv (route 1) for 4 cases: 1 fixed, 1 still present, 1 not found, 1 not seen"
    # a flight elsewhere flew no route
    store.begin_flight("F3", name="f3", source="/f3", n_files=1)
    _frame(store, "F3", "x.jpg", 5000, 5000)
    assert link_flight(store, "F3") == [] and revisit_outcomes(store, "F3") == []


def test_an_existing_database_is_upgraded(tmp_path, monkeypatch) -> None:
    from patrol.store import repo
    from patrol.store.schema import MIGRATIONS

    db = tmp_path / "old.db"
    monkeypatch.setattr(repo, "MIGRATIONS", MIGRATIONS[:1])
    with open_store(db) as s:
        s.begin_flight("F1", name="f1", source="/f1", n_files=1, started_at=T0)
        update_cases(s, "F1", [finding("a", "exposed_garbage", 0, 0)], at=T0)
    monkeypatch.setattr(repo, "MIGRATIONS", MIGRATIONS)
    with open_store(db) as s:
        assert "0003_reports_and_routes" in s.applied_migrations()
        assert case_sources(s) == {1: "drone"} and list_routes(s) == []


def test_sim_waypoint_path() -> None:
    from patrol.sim.flight import FlightSpec, plan_poses
    from patrol.sim.world import DEFAULT_ORIGIN

    lat, lon = DEFAULT_ORIGIN
    spec = FlightSpec(path="waypoints", waypoints=((lat, lon, 30.0, -90.0), (lat + 0.0001, lon, 40.0, -60.0)), frames=2)
    poses = plan_poses(spec, None)
    assert [(round(p.east_m, 3), round(p.height_m), p.pitch_deg) for p in poses] == [(0.0, 30, -90.0), (0.0, 40, -60.0)]
    assert poses[1].north_m == pytest.approx(11.1, abs=0.1)
    with pytest.raises(ValueError, match="path waypoints needs waypoints"):
        FlightSpec(path="waypoints")
    with pytest.raises(ValueError, match="pitch -90..-20"):
        FlightSpec(path="waypoints", waypoints=((lat, lon, 30.0, 0.0),))
