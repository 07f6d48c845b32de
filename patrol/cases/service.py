"""The cases stage and reviewer actions: lifecycle + matching applied to a Store, one transaction each.

``update_cases`` is what ``patrol process`` calls after findings: it is all-or-nothing and marks the
flight's ``cases`` stage in the same transaction, so a killed run either did it entirely (a rerun
skips it) or not at all (a rerun does it): no case is duplicated and no finding lost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from patrol.cases import lifecycle
from patrol.cases.matching import Coverage, MatchResult, match_findings
from patrol.cases.model import MATCHABLE_STATUSES, Case, CaseEvent, CaseStatus, EventSource, now_utc, utc
from patrol.errors import CaseError

CASES_STAGE = "cases"


@dataclass(frozen=True)
class CasesSummary:
    new: int  # cases opened
    reobserved: int  # existing cases a finding joined
    queued: int  # cases queued for before/after verification
    not_violations: int  # findings without a category (counted only)
    skipped: bool = False  # the stage had already run for this flight
    new_case_ids: tuple[int, ...] = ()
    reobserved_case_ids: tuple[int, ...] = ()
    queued_case_ids: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "reobserved": self.reobserved,
            "queued_for_verification": self.queued,
            "not_violations": self.not_violations,
            "skipped": self.skipped,
        }


def _search_bbox(findings: Sequence[Any], coverage: Sequence[Coverage], pad_m: float) -> tuple[float, float, float, float] | None:
    lons = [f.lon_deg for f in findings]
    lats = [f.lat_deg for f in findings]
    for c in coverage:
        if not c.polygon_wgs84.is_empty:
            x0, y0, x1, y1 = c.polygon_wgs84.bounds
            lons += [x0, x1]
            lats += [y0, y1]
    if not lats:
        return None
    pad_lat = pad_m / 111_000.0
    pad_lon = pad_lat / max(math.cos(math.radians(sum(lats) / len(lats))), 1e-6)
    return (min(lons) - pad_lon, min(lats) - pad_lat, max(lons) + pad_lon, max(lats) + pad_lat)


def update_cases(
    store: Any,
    flight_id: str,
    findings: Sequence[Any],
    *,
    radius_m: float | None = None,
    coverage: Sequence[Coverage] = (),
    max_verify_gsd_m: float | dict[str, float] | None = None,
    at: datetime | None = None,
    auto_dispatch: bool | None = None,
    settings: Any = None,
) -> CasesSummary:
    """Match a flight's findings to the store's cases, open new cases, record re-observations, link
    findings to cases and queue covered-but-unseen active cases for verification.

    The flight must exist in the store and its findings should be saved (``store.save_findings``)
    so they can be linked. Runs in one transaction with the ``cases`` stage marker; returns
    ``skipped=True`` without touching anything when the stage already ran for this flight.
    ``at`` is the time recorded on events (default now; pass the flight time for reproducible data).
    ``radius_m`` and ``auto_dispatch`` (dispatch every new case that has a responsible unit at once)
    default to ``settings`` (a CasesSettings; its defaults when None); ``max_verify_gsd_m`` (one
    limit or one per class) to the default ``VerifySettings().gsd_limits_m()``.
    """
    if settings is None:
        from patrol.config import CasesSettings

        settings = CasesSettings()
    radius_m = settings.match_radius_m if radius_m is None else radius_m
    if max_verify_gsd_m is None:
        from patrol.config import VerifySettings

        max_verify_gsd_m = VerifySettings().gsd_limits_m()
    auto_dispatch = getattr(settings, "auto_dispatch", False) if auto_dispatch is None else auto_dispatch
    at = utc(at) if at is not None else now_utc()
    with store.transaction():
        if store.stage_done(flight_id, CASES_STAGE):
            info = store.stages(flight_id).get(CASES_STAGE) or {}
            return CasesSummary(
                new=info.get("new", 0),
                reobserved=info.get("reobserved", 0),
                queued=info.get("queued_for_verification", 0),
                not_violations=info.get("not_violations", 0),
                skipped=True,
            )
        bbox = _search_bbox(findings, coverage, pad_m=max(radius_m, 1.0) * 3)
        candidates = [] if bbox is None else store.case_spots(statuses=MATCHABLE_STATUSES, bbox=bbox)
        result: MatchResult = match_findings(
            findings, candidates, radius_m=radius_m, coverage=coverage, max_verify_gsd_m=max_verify_gsd_m
        )
        new_ids, seen_ids = [], []
        for m in result.matches:
            f = m.finding
            if m.case_id is None:
                case, event = lifecycle.open_case(f, flight_id=flight_id, at=at)
                case = store.insert_case(case)
                store.add_event(replace(event, case_id=case.case_id))
                if auto_dispatch and case.unit:
                    case, dispatched = lifecycle.transition(
                        case, CaseStatus.DISPATCHED, at=at, source=EventSource.FLIGHT, flight_id=flight_id,
                        note=f"dispatched to {case.unit} (grid cell {case.grid_cell or '-'})",
                    )
                    store.update_case(case)
                    store.add_event(dispatched)
                new_ids.append(case.case_id)
            else:
                case, event = lifecycle.observe(store.get_case(m.case_id), f, flight_id=flight_id, at=at)
                store.update_case(case)
                store.add_event(event)
                seen_ids.append(case.case_id)
            store.link_finding(flight_id, f.finding_id, case.case_id)
        for req in result.to_verify:
            store.queue_verification(req.case_id, flight_id, req.frame, req.gsd_m)
        summary = CasesSummary(
            new=len(new_ids),
            reobserved=len(seen_ids),
            queued=len(result.to_verify),
            not_violations=result.not_violations,
            new_case_ids=tuple(new_ids),
            reobserved_case_ids=tuple(seen_ids),
            queued_case_ids=tuple(r.case_id for r in result.to_verify),
        )
        store.mark_stage(flight_id, CASES_STAGE, summary.as_dict())
        return summary


def set_status(
    store: Any,
    case_id: int,
    status: CaseStatus | str,
    *,
    source: EventSource | str = EventSource.REVIEWER,
    note: str = "",
    duplicate_of: int | None = None,
    flight_id: str | None = None,
    evidence: str | None = None,
    at: datetime | None = None,
) -> tuple[Case, CaseEvent]:
    """Change a case's status (a reviewer by default) and record the event, in one transaction.

    Raises CaseError for an unknown case or an unknown ``duplicate_of`` case, InvalidTransition for a
    change the lifecycle does not allow.
    """
    at = utc(at) if at is not None else now_utc()
    with store.transaction():
        case = store.get_case(case_id)
        if case is None:
            raise CaseError(f"no case {case_id}")
        if duplicate_of is not None:
            target = store.get_case(duplicate_of)
            if target is None:
                raise CaseError(f"case {case_id}: cannot mark as duplicate of case {duplicate_of}: no such case")
            if target.status == CaseStatus.DUPLICATE:
                raise CaseError(
                    f"case {case_id}: case {duplicate_of} is itself a duplicate of case {target.duplicate_of}; "
                    f"use --of {target.duplicate_of}"
                )
        new, event = lifecycle.transition(
            case, status, at=at, source=source, flight_id=flight_id, evidence=evidence, note=note, duplicate_of=duplicate_of
        )
        store.update_case(new)
        return new, store.add_event(event)


VERDICT_STATUS = {"fixed": CaseStatus.FIXED, "still_present": CaseStatus.STILL_PRESENT}


def apply_verdict(store: Any, verification: Any) -> Case | None:
    """Save a before/after VerificationRecord and move its case (``fixed`` / ``still_present``) with a
    ``verification`` event, in one transaction. ``inconclusive`` or a verdict the case's status does
    not allow (e.g. the case was closed meanwhile) only saves the record. Returns the updated case."""
    with store.transaction():
        store.save_verification(verification)
        to = VERDICT_STATUS.get(verification.verdict)
        case = store.get_case(verification.case_id)
        if to is None or case is None or case.status == to or not lifecycle.can_transition(case.status, to, EventSource.VERIFICATION):
            return case
        new, _ = set_status(
            store,
            case.case_id,
            to,
            source=EventSource.VERIFICATION,
            flight_id=verification.flight_id,
            evidence=verification.evidence_path,
            note=f"before/after verification: {verification.verdict}"
            + (f" (score {verification.score:.2f})" if verification.score is not None else ""),
            at=verification.at,
        )
        return new


def release_finding(store: Any, case_id: int, flight_id: str, *, at: datetime | None = None) -> Case | None:
    """Undo a re-observation that verification showed to be another object: the case's spot is clear,
    so the finding of ``flight_id`` that the cases stage matched to it (within the match radius: a
    car in the next lane) opens its own case instead. The old case gets its earlier evidence back.
    Returns the new case, or None when the case has no finding of that flight. One transaction."""
    at = utc(at) if at is not None else now_utc()
    with store.transaction():
        case = store.get_case(case_id)
        if case is None:
            raise CaseError(f"no case {case_id}")
        linked = store.findings_of_case(case_id)
        mine = [f for fl, f in linked if fl == flight_id]
        earlier = [f for fl, f in linked if fl != flight_id]
        if not mine:
            return None
        finding = mine[-1]
        new, event = lifecycle.open_case(finding, flight_id=flight_id, at=at)
        new = store.insert_case(new)
        store.add_event(replace(event, case_id=new.case_id, note=event.note + f"; not case {case_id}'s object (its spot is clear)"))
        store.link_finding(flight_id, finding.finding_id, new.case_id)
        if earlier:
            prev = earlier[-1]
            store.update_case(
                replace(
                    case, evidence_frame=prev.best_frame, evidence_bbox_xyxy_px=tuple(prev.best_bbox_xyxy_px),
                    observations=max(1, case.observations - 1),
                )
            )
        return new
