"""The case state machine, pure: (case, request) -> (new case, event). No I/O, no clock.

Modelled on Open311 / FixMyStreet: ``open`` -> ``dispatched`` (to the grid cell's unit) -> ``fixed``
(confirmed by a before/after verification) or ``still_present`` on a later flight; ``reopened`` when
a fixed or closed problem comes back; reviewers close a case as ``closed_false_positive``,
``duplicate`` (of case N) or ``closed``. Each allowed transition names the sources that may cause it.
An invalid transition raises InvalidTransition with the statuses allowed from where the case is.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from patrol.cases.model import Case, CaseEvent, CaseStatus, EventSource, utc
from patrol.errors import InvalidTransition

S = CaseStatus
F, V, R = EventSource.FLIGHT, EventSource.VERIFICATION, EventSource.REVIEWER

_REVIEW_CLOSE = {S.CLOSED_FALSE_POSITIVE: {R}, S.DUPLICATE: {R}, S.CLOSED: {R}}

#: from status -> to status -> sources allowed to make that change.
TRANSITIONS: dict[CaseStatus, dict[CaseStatus, frozenset[EventSource]]] = {
    k: {to: frozenset(src) for to, src in v.items()}
    for k, v in {
        S.OPEN: {S.DISPATCHED: {R, F}, S.FIXED: {V, R}, S.STILL_PRESENT: {V, F}, **_REVIEW_CLOSE},
        S.DISPATCHED: {S.FIXED: {V, R}, S.STILL_PRESENT: {V, F}, **_REVIEW_CLOSE},
        S.STILL_PRESENT: {S.DISPATCHED: {R, F}, S.FIXED: {V, R}, **_REVIEW_CLOSE},
        S.REOPENED: {S.DISPATCHED: {R, F}, S.FIXED: {V, R}, S.STILL_PRESENT: {V, F}, **_REVIEW_CLOSE},
        S.FIXED: {S.REOPENED: {F, R, V}, S.CLOSED: {R}, S.CLOSED_FALSE_POSITIVE: {R}, S.DUPLICATE: {R}},
        S.CLOSED_FALSE_POSITIVE: {S.REOPENED: {R}},
        S.DUPLICATE: {S.REOPENED: {R}},
        S.CLOSED: {S.REOPENED: {R, F}},
    }.items()
}


def allowed_targets(status: CaseStatus | str, source: EventSource | str | None = None) -> list[CaseStatus]:
    """Statuses reachable from ``status`` (by ``source`` when given), in declaration order."""
    targets = TRANSITIONS[CaseStatus(status)]
    if source is None:
        return list(targets)
    src = EventSource(source)
    return [to for to, sources in targets.items() if src in sources]


def can_transition(status: CaseStatus | str, to: CaseStatus | str, source: EventSource | str) -> bool:
    return EventSource(source) in TRANSITIONS[CaseStatus(status)].get(CaseStatus(to), frozenset())


def open_case(finding: Any, *, flight_id: str, at: datetime) -> tuple[Case, CaseEvent]:
    """A new ``open`` case (case_id 0, the store assigns it) from a Finding with a category, and its
    opening event. Raises ValueError for a finding without a category (it is not a violation)."""
    if getattr(finding, "category", None) is None:
        raise ValueError(f"finding {finding.finding_id} has no category: it cannot open a case")
    at = utc(at)
    case = Case(
        case_id=0,
        category=finding.category,
        class_name=finding.class_name,
        lat_deg=finding.lat_deg,
        lon_deg=finding.lon_deg,
        status=S.OPEN,
        opened_at=at,
        updated_at=at,
        first_flight_id=flight_id,
        last_flight_id=flight_id,
        grid_cell=finding.grid_cell,
        unit=finding.unit,
        zone_name=finding.zone_name,
        evidence_frame=finding.best_frame,
        evidence_bbox_xyxy_px=tuple(finding.best_bbox_xyxy_px),
        last_seen_at=at,
        observations=1,
        score=float(finding.score),
        uncertainty_m=float(finding.uncertainty_m),
    )
    event = CaseEvent(
        case_id=0,
        at=at,
        from_status=None,
        to_status=S.OPEN,
        source=F,
        flight_id=flight_id,
        finding_id=finding.finding_id,
        evidence=finding.best_frame,
        note=f"{finding.class_name} found (score {finding.score:.2f})",
    )
    return case, event


def transition(
    case: Case,
    to: CaseStatus | str,
    *,
    at: datetime,
    source: EventSource | str,
    flight_id: str | None = None,
    evidence: str | None = None,
    note: str = "",
    duplicate_of: int | None = None,
) -> tuple[Case, CaseEvent]:
    """Move ``case`` to status ``to``. ``duplicate_of`` is required for (and only for) ``duplicate``.

    Raises InvalidTransition when the change is not allowed from the case's status or not by this
    source; the message lists the statuses that are allowed.
    """
    to = CaseStatus(to)
    source = EventSource(source)
    if not can_transition(case.status, to, source):
        allowed = ", ".join(allowed_targets(case.status, source)) or "none"
        raise InvalidTransition(
            case.case_id,
            case.status,
            to,
            f"case {case.case_id}: cannot go from {case.status} to {to} by {source} "
            f"(allowed from {case.status} by {source}: {allowed})",
        )
    if to == S.DUPLICATE:
        if duplicate_of is None:
            raise InvalidTransition(case.case_id, case.status, to, f"case {case.case_id}: duplicate needs the case it duplicates (--of N)")
        if duplicate_of == case.case_id:
            raise InvalidTransition(case.case_id, case.status, to, f"case {case.case_id} cannot be a duplicate of itself")
    elif duplicate_of is not None:
        raise InvalidTransition(case.case_id, case.status, to, f"case {case.case_id}: duplicate_of is only for status duplicate")
    at = utc(at)
    new = replace(
        case,
        status=to,
        updated_at=at,
        duplicate_of=duplicate_of if to == S.DUPLICATE else None,
        last_flight_id=flight_id if (source == F and flight_id) else case.last_flight_id,
    )
    event = CaseEvent(
        case_id=case.case_id,
        at=at,
        from_status=case.status,
        to_status=to,
        source=source,
        flight_id=flight_id,
        evidence=evidence,
        note=note if to != S.DUPLICATE or note else f"duplicate of case {duplicate_of}",
    )
    return new, event


#: What a re-observation on a flight does to each status (same status = observed, no change).
_ON_OBSERVE: dict[CaseStatus, CaseStatus] = {
    S.OPEN: S.OPEN,
    S.REOPENED: S.REOPENED,
    S.STILL_PRESENT: S.STILL_PRESENT,
    S.DISPATCHED: S.STILL_PRESENT,  # the unit was told, and the problem is still there
    S.FIXED: S.REOPENED,  # it came back
    S.CLOSED_FALSE_POSITIVE: S.CLOSED_FALSE_POSITIVE,  # a known false positive: absorbed, not re-raised
}


def observe(case: Case, finding: Any, *, flight_id: str, at: datetime) -> tuple[Case, CaseEvent]:
    """A finding of a later flight matched ``case``: update last seen, evidence and count, and move
    the status where a sighting means something (dispatched -> still_present, fixed -> reopened).

    Raises InvalidTransition for a ``duplicate`` or ``closed`` case (those never take findings).
    """
    if case.status not in _ON_OBSERVE:
        raise InvalidTransition(
            case.case_id, case.status, case.status, f"case {case.case_id} is {case.status}: it does not take new findings"
        )
    at = utc(at)
    to = _ON_OBSERVE[case.status]
    new = replace(
        case,
        status=to,
        updated_at=at,
        last_flight_id=flight_id,
        last_seen_at=at,
        observations=case.observations + 1,
        evidence_frame=finding.best_frame,
        evidence_bbox_xyxy_px=tuple(finding.best_bbox_xyxy_px),
        score=max(case.score, float(finding.score)),
        # a case keeps its first-known unit unless it had none
        grid_cell=case.grid_cell or finding.grid_cell,
        unit=case.unit or finding.unit,
    )
    note = "re-observed" if to == case.status else f"re-observed: {case.status} -> {to}"
    if case.status == S.CLOSED_FALSE_POSITIVE:
        note = "re-observed a known false positive (suppressed)"
    event = CaseEvent(
        case_id=case.case_id,
        at=at,
        from_status=case.status,
        to_status=to,
        source=F,
        flight_id=flight_id,
        finding_id=finding.finding_id,
        evidence=finding.best_frame,
        note=note,
    )
    return new, event


def overdue(cases: list[Case], *, now: datetime, overdue_days: float) -> list[Case]:
    """The active cases opened more than ``overdue_days`` before ``now``, oldest first."""
    return sorted((c for c in cases if c.is_overdue(now, overdue_days)), key=lambda c: (c.opened_at, c.case_id))
