from __future__ import annotations

from datetime import timedelta

import pytest

from patrol.cases.matching import Coverage
from patrol.cases.service import apply_verdict, set_status, update_cases
from patrol.errors import CaseError, InvalidTransition, StoreError
from patrol.store import VerificationRecord
from tests.cases.helpers import T0, finding, square


def _flight(store, fid, findings):
    store.begin_flight(fid, name=fid, source=f"/inbox/{fid}", n_files=3)
    store.save_findings(fid, findings)


def test_two_flights_open_reobserve_and_queue(store) -> None:
    f1 = [finding("a", "road_damage", 0, 0), finding("b", "street_vending", 50, 0), finding("v", None, 5, 5)]
    _flight(store, "F1", f1)
    s1 = update_cases(store, "F1", f1, radius_m=5, at=T0)
    assert (s1.new, s1.reobserved, s1.queued, s1.not_violations) == (2, 0, 0, 1)
    set_status(store, 1, "dispatched", note="to roads team", at=T0 + timedelta(hours=1))

    # flight 2 sees the pothole again (2 m away), not the stall (covered at fine GSD), and a new heap
    f2 = [finding("a2", "road_damage", 2, 0), finding("g", "exposed_garbage", 30, 0)]
    _flight(store, "F2", f2)
    cov = [Coverage("DJI_2.JPG", square(-20, -20, 80, 20), gsd_m=0.02)]
    s2 = update_cases(store, "F2", f2, radius_m=5, coverage=cov, at=T0 + timedelta(days=1))
    assert (s2.new, s2.reobserved, s2.queued) == (1, 1, 1)
    assert s2.reobserved_case_ids == (1,) and s2.queued_case_ids == (2,)
    pothole = store.get_case(1)
    assert pothole.status == "still_present" and pothole.observations == 2 and pothole.last_flight_id == "F2"
    assert [e.kind for e in store.events(1)] == ["opened", "transition", "transition"]
    assert [(q.case_id, q.flight_id, q.frame_path) for q in store.pending_verifications()] == [(2, "F2", "DJI_2.JPG")]
    assert [(fl, f.finding_id) for fl, f in store.findings_of_case(1)] == [("F1", "a"), ("F2", "a2")]
    assert sorted(c.category for c in store.list_cases()) == ["exposed_garbage", "road_damage", "street_vending"]

    # the verification says the stall is gone
    case = apply_verdict(store, VerificationRecord(2, "F2", T0 + timedelta(days=1, hours=1), "fixed", 0.9, evidence_path="ev.jpg"))
    assert case.status == "fixed"
    assert store.events(2)[-1].source == "verification" and store.events(2)[-1].evidence == "ev.jpg"
    assert store.pending_verifications() == []
    # an inconclusive verdict is stored but moves nothing
    assert apply_verdict(store, VerificationRecord(1, "F2", T0, "inconclusive")).status == "still_present"


def test_rerun_of_a_flight_changes_nothing(store) -> None:
    fs = [finding("a", "road_damage", 0, 0)]
    _flight(store, "F1", fs)
    update_cases(store, "F1", fs, radius_m=5, at=T0)
    before = store.dump()
    again = update_cases(store, "F1", fs, radius_m=5, at=T0 + timedelta(days=3))
    assert again.skipped and again.new == 1
    assert store.dump() == before


def test_a_failure_mid_stage_leaves_nothing(store, monkeypatch) -> None:
    fs = [finding(f"x{i}", "exposed_garbage", i * 20, 0) for i in range(5)]
    _flight(store, "F1", fs)
    calls = []
    real = store.add_event

    def flaky(ev):
        calls.append(ev)
        if len(calls) == 3:
            raise StoreError("disk full (simulated)")
        return real(ev)

    monkeypatch.setattr(store, "add_event", flaky)
    with pytest.raises(StoreError, match="simulated"):
        update_cases(store, "F1", fs, radius_m=5, at=T0)
    assert store.list_cases() == [] and not store.stage_done("F1", "cases")
    monkeypatch.setattr(store, "add_event", real)
    assert update_cases(store, "F1", fs, radius_m=5, at=T0).new == 5


@pytest.mark.parametrize(
    "args, error",
    [
        ((99, "closed"), CaseError),
        ((1, "duplicate"), InvalidTransition),  # without duplicate_of
        ((1, "open"), InvalidTransition),
    ],
)
def test_set_status_errors(store, args, error) -> None:
    fs = [finding("a", "road_damage", 0, 0)]
    _flight(store, "F1", fs)
    update_cases(store, "F1", fs, radius_m=5, at=T0)
    with pytest.raises(error):
        set_status(store, *args)
    assert store.get_case(1).status == "open" and len(store.events(1)) == 1


def test_duplicate_target_checks(store) -> None:
    fs = [finding(c, "road_damage", i * 30, 0) for i, c in enumerate("abc")]
    _flight(store, "F1", fs)
    update_cases(store, "F1", fs, radius_m=5, at=T0)
    with pytest.raises(CaseError, match="no such case"):
        set_status(store, 1, "duplicate", duplicate_of=42)
    set_status(store, 2, "duplicate", duplicate_of=1, note="same hole")
    with pytest.raises(CaseError, match="use --of 1"):
        set_status(store, 3, "duplicate", duplicate_of=2)
    c = store.get_case(2)
    assert c.status == "duplicate" and c.duplicate_of == 1 and store.events(2)[-1].note == "same hole"


def test_settings_defaults_and_auto_dispatch(store) -> None:
    from patrol.config import CasesSettings

    fs = [finding("a", "road_damage", 0, 0, unit="Roads"), finding("b", "road_damage", 50, 0, unit=None, grid_cell=None)]
    _flight(store, "F1", fs)
    update_cases(store, "F1", fs, settings=CasesSettings(auto_dispatch=True), at=T0)
    a, b = store.list_cases()
    assert (a.status, b.status) == ("dispatched", "open")  # no unit: nobody to dispatch to
    assert [(e.kind, e.source, e.note) for e in store.events(1)][1] == ("transition", "flight", "dispatched to Roads (grid cell G-01)")
    # the radius comes from settings when not given
    f2 = [finding("a2", "road_damage", 8, 0)]
    _flight(store, "F2", f2)
    s2 = update_cases(store, "F2", f2, settings=CasesSettings(match_radius_m=10.0), at=T0 + timedelta(days=1))
    assert s2.reobserved_case_ids == (1,) and store.get_case(1).status == "still_present"
