"""Citizen and hotline reports: a phone photo's GPS or a typed point opens a case (or re-observes an
open one of the same category within the match radius), and the next drone flight over the spot
checks it.

A phone photo from the street cannot be registered against a drone frame, so the drone's check of
a report is a detection on the spot, not a before/after comparison: the flight found the problem
there (its finding matched the case) -> confirmed, ``still_present``; the flight saw the spot at a
usable GSD and found nothing -> ``not_found``, which is NOT ``fixed``: the case stays as it is until
a reviewer closes it. Both are recorded as verifications and in the case's history. Once a drone
frame shows the problem, the case's evidence is that frame and later flights verify it before/after
like any drone case.

Reports are recorded in ``flights`` as a one-file record (``report-...``; cases and events name a
flight), with a ``reports`` row holding the source, time, photo and note.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from patrol.cases import lifecycle
from patrol.cases.model import (
    ACTIVE_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    EventSource,
    now_utc,
    utc,
)
from patrol.errors import CaseError, ConfigError, InputError
from patrol.store import revisits

#: Typical horizontal accuracy of a phone's GNSS fix in a street (metres), kept as the case's
#: position uncertainty; a typed point is taken as exact.
PHONE_GPS_SIGMA_M = 5.0
#: A report's case may take a later report or a drone finding while active, or reopen when fixed.
REPORT_MATCHABLE = ACTIVE_STATUSES | {CaseStatus.FIXED}
NOT_FOUND = "not_found"


@dataclass(frozen=True)
class ReportInput:
    """One report as typed: ``photo`` (its GPS is the spot) or ``lat_deg``/``lon_deg``."""

    category: str
    source: str = "citizen"
    photo: Path | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    note: str = ""
    reported_at: datetime | None = None

    def __post_init__(self) -> None:
        if (self.photo is None) == (self.lat_deg is None or self.lon_deg is None):
            raise ConfigError("a report needs exactly one of --photo or --point")
        if self.source not in revisits.REPORT_SOURCES:
            raise ConfigError(f"--source: expected {' or '.join(revisits.REPORT_SOURCES)}, got {self.source!r}")


@dataclass(frozen=True)
class ReportResult:
    case: Case
    opened: bool  # False: the report re-observed an existing case
    report: revisits.CaseReport
    event: CaseEvent


def class_for_category(category: str, rules: dict[str, dict[str, str]]) -> str:
    """The detector class whose rules give ``category`` (ConfigError for an unknown category)."""
    for cls, kinds in rules.items():
        if category in kinds.values():
            return cls
    cats = sorted({c for kinds in rules.values() for c in kinds.values()})
    raise ConfigError(f"--category: unknown category {category!r}; expected one of {', '.join(cats)}")


def distance_outside_m(zones: Any, lat_deg: float, lon_deg: float) -> float:
    """Metres from the point to the nearest zone (0 inside one; inf without zones)."""
    from shapely import Point
    from shapely.affinity import scale

    if len(zones) == 0:
        return math.inf
    k = math.cos(math.radians(lat_deg))
    p = Point(lon_deg * k, lat_deg)
    return min(scale(z.geometry, xfact=k, yfact=1.0, origin=(0, 0)).distance(p) for z in zones) * 111_195.0


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(2**20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class _Where:
    lat_deg: float
    lon_deg: float
    at: datetime
    photo: str | None
    sha256: str | None
    uncertainty_m: float


def _locate(rep: ReportInput, now: datetime) -> _Where:
    """The report's spot and time: the photo's GPS and EXIF time, or the point. InputError for a
    photo without GPS (naming it)."""
    if rep.photo is None:
        assert rep.lat_deg is not None and rep.lon_deg is not None
        return _Where(rep.lat_deg, rep.lon_deg, utc(rep.reported_at or now), None, None, 0.0)
    from patrol.ingest import read_frame, require_position

    meta = require_position(read_frame(rep.photo))
    try:
        sha = _sha256(rep.photo)
    except OSError as e:
        raise InputError(rep.photo, f"cannot read: {e.strerror or e}") from e
    at = rep.reported_at or meta.time or now  # a naive EXIF time is taken as UTC
    return _Where(float(meta.lat_deg), float(meta.lon_deg), utc(at), str(Path(rep.photo).resolve()), sha, PHONE_GPS_SIGMA_M)


def add_report(store: Any, settings: Any, rep: ReportInput, zones: Any, *, max_outside_m: float = 200.0,
               now: datetime | None = None) -> ReportResult:
    """Open a case from a report, or re-observe the nearest matchable case of its category within
    ``[cases] match_radius_m``; one transaction. InputError (naming the photo or the point) for a
    photo without GPS, a photo already reported, or a spot more than ``max_outside_m`` from every
    zone (when zones are given)."""
    from patrol.cases.matching import match_findings

    now = utc(now) if now is not None else now_utc()
    cls = class_for_category(rep.category, settings.rules.rules)
    w = _locate(rep, now)
    label = rep.photo if rep.photo is not None else f"point {w.lat_deg:.6f},{w.lon_deg:.6f}"
    out_m = distance_outside_m(zones, w.lat_deg, w.lon_deg)
    if len(zones) and out_m > max_outside_m:
        raise InputError(label, f"the spot ({w.lat_deg:.6f}, {w.lon_deg:.6f}) is {out_m / 1000:.1f} km outside every zone "
                                f"of {zones.source or 'the zones file'}: not in this city")
    place = zones.place(cls, w.lat_deg, w.lon_deg, settings.rules.rules)
    key = hashlib.sha256(f"{rep.source}|{rep.category}|{w.lat_deg:.7f}|{w.lon_deg:.7f}|{w.at.isoformat()}|{w.sha256}".encode()).hexdigest()
    flight_id = f"report-{key[:24]}"
    with store.transaction():
        if w.sha256 is not None:
            known = revisits.report_with_photo(store, w.sha256)
            if known is not None:
                raise InputError(label, f"this photo was already reported (case {known.case_id})")
        store.begin_flight(flight_id, name=f"{rep.source} report", source=str(label), n_files=0 if rep.photo is None else 1, started_at=w.at)
        store.finish_flight(flight_id, status="done")
        probe = _Probe(f"report:{key[:12]}", rep.category, w.lat_deg, w.lon_deg)
        cands = store.case_spots(statuses=REPORT_MATCHABLE, bbox=_bbox(w.lat_deg, w.lon_deg, settings.cases.match_radius_m * 3))
        match = match_findings([probe], cands, radius_m=settings.cases.match_radius_m).matches[0]
        what = f"{rep.source} report" + (f" (photo {Path(rep.photo).name})" if rep.photo is not None else " (a point)")
        text = what + (f": {rep.note}" if rep.note else "")
        if match.case_id is None:
            case = store.insert_case(Case(
                case_id=0, category=rep.category, class_name=cls, lat_deg=w.lat_deg, lon_deg=w.lon_deg, status=CaseStatus.OPEN,
                opened_at=w.at, updated_at=w.at, first_flight_id=flight_id, last_flight_id=flight_id, grid_cell=place.grid_cell,
                unit=place.unit, zone_name=place.zone_name, evidence_frame=w.photo, last_seen_at=w.at, observations=1,
                uncertainty_m=w.uncertainty_m,
            ))
            event = store.add_event(CaseEvent(case.case_id, w.at, None, CaseStatus.OPEN, EventSource.FLIGHT, flight_id=flight_id,
                                              evidence=w.photo, note=f"opened from a {text}; the next drone flight over the spot checks it"))
            opened = True
        else:
            case, event = _observe(store, store.get_case(match.case_id), flight_id, w, text)
            opened = False
        report = revisits.save_report(store, revisits.CaseReport(
            case_id=case.case_id, opened_case=opened, source=rep.source, reported_at=w.at, category=rep.category,
            lat_deg=w.lat_deg, lon_deg=w.lon_deg, flight_id=flight_id, photo=w.photo, photo_sha256=w.sha256, note=rep.note,
        ))
    return ReportResult(case, opened, report, event)


@dataclass(frozen=True)
class _Probe:
    """The report as matching sees a finding."""

    finding_id: str
    category: str
    lat_deg: float
    lon_deg: float


def _bbox(lat: float, lon: float, pad_m: float) -> tuple[float, float, float, float]:
    dlat = pad_m / 111_195.0
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return (lon - dlon, lat - dlat, lon + dlon, lat + dlat)


def _observe(store: Any, case: Case, flight_id: str, w: _Where, text: str) -> tuple[Case, CaseEvent]:
    """A report of a problem a case already tracks: dispatched -> still_present, fixed -> reopened,
    else the same status; the drone's evidence (if any) stays the case's evidence."""
    to = {CaseStatus.DISPATCHED: CaseStatus.STILL_PRESENT, CaseStatus.FIXED: CaseStatus.REOPENED}.get(case.status, case.status)
    note = f"re-observed by a {text}" + ("" if to == case.status else f": {case.status} -> {to}")
    if to != case.status:
        new, event = lifecycle.transition(case, to, at=w.at, source=EventSource.FLIGHT, flight_id=flight_id, evidence=w.photo, note=note)
    else:
        new = replace(case, updated_at=w.at, last_flight_id=flight_id)
        event = CaseEvent(case.case_id, w.at, case.status, case.status, EventSource.FLIGHT, flight_id=flight_id, evidence=w.photo, note=note)
    new = replace(new, observations=case.observations + 1, last_seen_at=w.at,
                  evidence_frame=case.evidence_frame or w.photo)
    store.update_case(new)
    return new, store.add_event(event)


# --- the drone's check of reported cases (the pipeline calls this before before/after verification) ----


def _drone_confirmed_before(store: Any, case_id: int, flight_id: str) -> bool:
    return any(fl != flight_id for fl, _ in store.findings_of_case(case_id))


def check_reported_cases(store: Any, flight_id: str, settings: Any) -> dict[str, int]:
    """Check every reported case this flight looked at that no drone has confirmed yet: found (a
    finding of this flight matched it) -> ``still_present``; its spot covered at a usable GSD with
    nothing found (the flight queued it) -> ``not_found`` (status unchanged). Saves a verification
    record each and writes the case history; queued checks it answers are marked done, so the
    before/after stage skips them. Idempotent. Returns verdict -> count."""
    from patrol.store.repo import VerificationRecord

    reported = {cid for cid, src in revisits.case_sources(store).items() if src != revisits.DRONE_SOURCE}
    done = {v.case_id for v in store.verifications(flight_id=flight_id)}
    flight = store.get_flight(flight_id)
    at = utc(flight.started_at) if flight is not None and flight.started_at is not None else now_utc()
    counts = {"still_present": 0, NOT_FOUND: 0}
    seen = revisits.cases_seen_on_flight(store, flight_id)
    with store.transaction():
        for cid in sorted((seen & reported) - done):
            if _drone_confirmed_before(store, cid, flight_id):
                continue
            case = store.get_case(cid)
            if case is None or case.first_flight_id == flight_id:
                continue
            frame = case.evidence_frame
            store.save_verification(VerificationRecord(cid, flight_id, at, "still_present", None, None, frame, None,
                                                       {"check": "detection_on_spot", "needs_review": False}))
            note = (f"drone check of the report (flight {flight_id[:12]}): {case.class_name} detected at the reported spot in {frame}: "
                    "confirmed, still present (a phone photo cannot be registered against a drone frame: detection on the spot)")
            _record(store, case, CaseStatus.STILL_PRESENT, at, flight_id, frame, note)
            counts["still_present"] += 1
        for q in store.pending_verifications(flight_id):
            if q.case_id not in reported or q.case_id in done or _drone_confirmed_before(store, q.case_id, flight_id):
                continue
            case = store.get_case(q.case_id)
            if case is None:
                raise CaseError(f"queued check for unknown case {q.case_id}")
            store.save_verification(VerificationRecord(q.case_id, flight_id, at, NOT_FOUND, None, None, q.frame_path, None,
                                                       {"check": "detection_on_spot", "gsd_m": q.gsd_m, "needs_review": True}))
            note = (f"drone check of the report (flight {flight_id[:12]}): spot seen in {q.frame_path} at {q.gsd_m * 100:.1f} cm/px, "
                    f"no {case.class_name} detected: not found. Not 'fixed': a phone photo cannot be registered against a drone "
                    f"frame, so a reviewer closes the case (patrol cases set-status {q.case_id} closed)")
            _record(store, case, case.status, at, flight_id, q.frame_path, note)
            counts[NOT_FOUND] += 1
    return counts


def _record(store: Any, case: Case, to: CaseStatus, at: datetime, flight_id: str, evidence: str | None, note: str) -> None:
    if to != case.status and lifecycle.can_transition(case.status, to, EventSource.VERIFICATION):
        new, event = lifecycle.transition(case, to, at=at, source=EventSource.VERIFICATION, flight_id=flight_id, evidence=evidence, note=note)
        store.update_case(new)
        store.add_event(event)
        return
    store.add_event(CaseEvent(case.case_id, at, case.status, case.status, EventSource.VERIFICATION, flight_id=flight_id,
                              evidence=evidence, note=note))
