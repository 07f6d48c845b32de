"""The edges: verify_flight as the pipeline's verify stage (generated before/after flights laid out
like tests/pipeline_world.py, with real pixels: the garbage is removed between the flights and the
light changes), save/apply to the store, and best-after-frame selection."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from patrol.cases.model import CaseStatus
from patrol.config import Settings
from patrol.pipeline import process_flight
from patrol.store import open_store
from patrol.verify import Verdict, verify_flight
from patrol.verify.service import best_after_frame
from patrol.zones import load_zones
from tests.pipeline_world import LOCAL, OBJECTS, BoxDetector, install, write_zones
from tests.verify.flights import pixel_flights as flights  # noqa: F401 - pytest fixture


def test_pipeline_verify_stage_confirms_the_removed_garbage(flights, tmp_path):
    before, after, zones = flights
    db = tmp_path / "p.db"
    det = BoxDetector([before, after])
    with open_store(db) as store:
        process_flight([before.folder], Settings(), store, det, tmp_path / "out1", zones=zones)
        s = process_flight([after.folder], Settings(), store, det, tmp_path / "out2", zones=zones)
        recs = store.verifications(flight_id=s.flight_id)
        assert len(recs) == s.cases_queued + s.cases_reobserved, recs
        (rec,) = [r for r in recs if r.verdict == "fixed"]
        case = store.get_case(rec.case_id)
        assert case.category == "exposed_garbage"
        assert rec.verdict == "fixed", rec.details
        assert case.status == CaseStatus.FIXED
        assert rec.evidence_path and Path(rec.evidence_path).is_file()
        img = cv2.imread(rec.evidence_path)
        assert img is not None and img.shape[1] > 900
        assert rec.details["registration"].startswith("features")
        assert store.stage_done(s.flight_id, "verify")
        assert store.pending_verifications(s.flight_id) == []
        events = store.events(case.case_id)
        assert events[-1].to_status == CaseStatus.FIXED and events[-1].source == "verification"


def test_verify_flight_again_changes_nothing(flights, tmp_path):
    before, after, zones = flights
    det = BoxDetector([before, after])
    with open_store(tmp_path / "p.db") as store:
        process_flight([before.folder], Settings(), store, det, None, zones=zones)
        s = process_flight([after.folder], Settings(), store, det, None, zones=zones)
        n_events = sum(len(store.events(c.case_id)) for c in store.list_cases())
        again = verify_flight(store, s.flight_id, Settings())
        assert again == []  # nothing pending any more
        assert sum(len(store.events(c.case_id)) for c in store.list_cases()) == n_events


def test_best_after_frame_prefers_the_finest_view_of_the_spot(flights):
    _, after, _ = flights
    metas = list(after.metas.values())
    garbage = next(o for o in OBJECTS if o.oid == "garbage")
    lat, lon = LOCAL.to_wgs84(*garbage.centre_en)
    best = best_after_frame(metas, lat, lon, Settings())
    assert best is not None
    far = LOCAL.to_wgs84(5000.0, 5000.0)
    assert best_after_frame(metas, *far, Settings()) is None


def test_unrelated_pixels_give_inconclusive_and_leave_the_case_for_review(tmp_path, monkeypatch):
    # pipeline_world's own frames are independent noise: nothing can be compared, so no verdict
    from tests.pipeline_world import make_flight

    before = make_flight(tmp_path / "a", seed=1)
    after = make_flight(tmp_path / "b", seed=2, objects=[o for o in OBJECTS if o.oid != "garbage"])
    install([before, after], monkeypatch)
    zones = load_zones(write_zones(tmp_path / "zones.geojson"))
    det = BoxDetector([before, after])
    with open_store(tmp_path / "p.db") as store:
        process_flight([before.folder], Settings(), store, det, None, zones=zones)
        s = process_flight([after.folder], Settings(), store, det, None, zones=zones)
        recs = store.verifications(flight_id=s.flight_id)
        assert len(recs) == s.cases_queued + s.cases_reobserved
        (rec,) = [r for r in recs if store.get_case(r.case_id).category == "exposed_garbage"]
        assert rec.verdict == "inconclusive"
        assert rec.details["inconclusive_reason"] == "registration_failed"
        assert rec.details["needs_review"] is True
        assert store.get_case(rec.case_id).status == CaseStatus.OPEN
        # the re-observed cases: their detection lies where the poses put the spot (still present),
        # but nothing unaligned ever becomes fixed
        assert all(r.verdict != "fixed" for r in recs)


def test_reobserved_cases_are_checked_on_their_spot_and_become_still_present(flights, tmp_path):
    before, after, zones = flights
    det = BoxDetector([before, after])
    with open_store(tmp_path / "p.db") as store:
        first = process_flight([before.folder], Settings(), store, det, None, zones=zones)
        s = process_flight([after.folder], Settings(), store, det, tmp_path / "out", zones=zones)
        recs = {r.case_id: r for r in store.verifications(flight_id=s.flight_id)}
        cases = {c.case_id: c for c in store.list_cases()}
        assert len(recs) == s.cases_queued + s.cases_reobserved
        for cid, rec in recs.items():
            c = cases[cid]
            if c.category == "exposed_garbage":
                assert rec.verdict == "fixed"
            else:  # re-observed: the flight found it again, on its spot
                assert rec.verdict == "still_present", rec.details
                assert c.status == CaseStatus.STILL_PRESENT
                # compared with the first flight's evidence, not with this flight's own frame
                assert rec.before_frame in {f.path for f in store.load_frames(first.flight_id)}
                assert rec.after_frame in {f.path for f in store.load_frames(s.flight_id)}


def test_verify_reobserved_off_leaves_reobserved_cases_alone(flights, tmp_path):
    import dataclasses

    before, after, zones = flights
    det = BoxDetector([before, after])
    base = Settings()
    settings = dataclasses.replace(base, verify=dataclasses.replace(base.verify, verify_reobserved=False))
    with open_store(tmp_path / "p.db") as store:
        process_flight([before.folder], settings, store, det, None, zones=zones)
        s = process_flight([after.folder], settings, store, det, None, zones=zones)
        (rec,) = store.verifications(flight_id=s.flight_id)
        assert rec.verdict == "fixed"
        for c in store.list_cases():
            if c.case_id != rec.case_id:
                assert all(e.source != "verification" for e in store.events(c.case_id))
