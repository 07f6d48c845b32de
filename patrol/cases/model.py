"""Case and CaseEvent: one problem at one place across flights, and every change to it.

Statuses follow municipal issue trackers (Open311 / FixMyStreet): a case is ``open`` when first seen,
``dispatched`` to the grid cell's responsible unit, then ``fixed`` (confirmed by a before/after
verification) or ``still_present`` on a later flight; ``reopened`` when a fixed or closed problem
comes back; a reviewer may close it as ``closed_false_positive``, ``duplicate`` (of another case) or
``closed``. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum


class CaseStatus(StrEnum):
    OPEN = "open"
    DISPATCHED = "dispatched"
    FIXED = "fixed"
    STILL_PRESENT = "still_present"
    REOPENED = "reopened"
    CLOSED_FALSE_POSITIVE = "closed_false_positive"
    DUPLICATE = "duplicate"
    CLOSED = "closed"


class EventSource(StrEnum):
    """Who caused a transition: a processed flight, a before/after verification, or a person."""

    FLIGHT = "flight"
    VERIFICATION = "verification"
    REVIEWER = "reviewer"


#: Statuses in which the problem is believed to be on the ground (a reviewer or a unit must act).
ACTIVE_STATUSES: frozenset[CaseStatus] = frozenset(
    {CaseStatus.OPEN, CaseStatus.DISPATCHED, CaseStatus.STILL_PRESENT, CaseStatus.REOPENED}
)
#: Statuses a new finding may be matched to. ``fixed`` is included so that a problem that comes back
#: reopens its case; ``closed_false_positive`` so that a known false positive is absorbed instead of
#: opening a fresh case on every flight. ``duplicate`` and ``closed`` never take new findings.
MATCHABLE_STATUSES: frozenset[CaseStatus] = ACTIVE_STATUSES | {CaseStatus.FIXED, CaseStatus.CLOSED_FALSE_POSITIVE}

CATEGORIES: tuple[str, ...] = ("illegal_parking", "street_vending", "road_damage", "exposed_garbage")


def utc(dt: datetime) -> datetime:
    """``dt`` as an aware UTC datetime (a naive datetime is taken to be UTC already)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat(timespec="seconds")


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Case:
    """One problem (a violation category) at one place, tracked across flights.

    ``case_id`` is 0 for a case not saved yet; the store assigns the real id. ``lat_deg``/``lon_deg``
    is the spot (the first finding's ground point, kept fixed so that a case does not drift).
    ``evidence_frame`` is the path of the best view and ``evidence_bbox_xyxy_px`` the box in it.
    ``duplicate_of`` is set only for status ``duplicate``.
    """

    case_id: int
    category: str
    class_name: str
    lat_deg: float
    lon_deg: float
    status: CaseStatus
    opened_at: datetime
    updated_at: datetime
    first_flight_id: str
    last_flight_id: str
    grid_cell: str | None = None
    unit: str | None = None
    zone_name: str | None = None
    evidence_frame: str | None = None
    evidence_bbox_xyxy_px: tuple[float, float, float, float] | None = None
    duplicate_of: int | None = None
    last_seen_at: datetime | None = None  # last flight in which a finding matched it
    observations: int = 1  # number of flights in which it was seen
    score: float = 0.0  # best detector score seen
    uncertainty_m: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", CaseStatus(self.status))
        if self.case_id < 0:
            raise ValueError(f"case_id must be >= 0, got {self.case_id}")
        if not self.category:
            raise ValueError("category must not be empty")
        if not (math.isfinite(self.lat_deg) and -90.0 <= self.lat_deg <= 90.0):
            raise ValueError(f"lat_deg out of range: {self.lat_deg}")
        if not (math.isfinite(self.lon_deg) and -180.0 <= self.lon_deg <= 180.0):
            raise ValueError(f"lon_deg out of range: {self.lon_deg}")
        object.__setattr__(self, "opened_at", utc(self.opened_at))
        object.__setattr__(self, "updated_at", utc(self.updated_at))
        if self.last_seen_at is not None:
            object.__setattr__(self, "last_seen_at", utc(self.last_seen_at))
        if (self.status == CaseStatus.DUPLICATE) != (self.duplicate_of is not None):
            raise ValueError(
                f"duplicate_of must be set exactly when status is duplicate (status={self.status}, "
                f"duplicate_of={self.duplicate_of})"
            )
        if self.duplicate_of is not None and self.duplicate_of == self.case_id:
            raise ValueError(f"case {self.case_id} cannot be a duplicate of itself")
        if self.evidence_bbox_xyxy_px is not None:
            box = tuple(float(v) for v in self.evidence_bbox_xyxy_px)
            if len(box) != 4 or not (box[2] > box[0] and box[3] > box[1]):
                raise ValueError(f"evidence_bbox_xyxy_px must be (x1, y1, x2, y2) with x2>x1, y2>y1, got {box}")
            object.__setattr__(self, "evidence_bbox_xyxy_px", box)
        if self.observations < 0:
            raise ValueError(f"observations must be >= 0, got {self.observations}")

    @property
    def is_active(self) -> bool:
        """True while the problem is believed to be on the ground."""
        return self.status in ACTIVE_STATUSES

    def is_overdue(self, now: datetime, overdue_days: float) -> bool:
        """Active and opened more than ``overdue_days`` days before ``now``."""
        return self.is_active and (utc(now) - self.opened_at).total_seconds() > overdue_days * 86400.0

    @property
    def __geo_interface__(self) -> dict:
        return {"type": "Point", "coordinates": (self.lon_deg, self.lat_deg)}

    def as_dict(self) -> dict:
        """JSON-ready dict (times as ISO 8601 UTC, status as its string)."""
        return {
            "case_id": self.case_id,
            "category": self.category,
            "class_name": self.class_name,
            "status": str(self.status),
            "lat_deg": self.lat_deg,
            "lon_deg": self.lon_deg,
            "grid_cell": self.grid_cell,
            "unit": self.unit,
            "zone_name": self.zone_name,
            "opened_at": _iso(self.opened_at),
            "updated_at": _iso(self.updated_at),
            "last_seen_at": _iso(self.last_seen_at),
            "first_flight_id": self.first_flight_id,
            "last_flight_id": self.last_flight_id,
            "evidence_frame": self.evidence_frame,
            "evidence_bbox_xyxy_px": list(self.evidence_bbox_xyxy_px) if self.evidence_bbox_xyxy_px else None,
            "duplicate_of": self.duplicate_of,
            "observations": self.observations,
            "score": self.score,
            "uncertainty_m": self.uncertainty_m,
        }


@dataclass(frozen=True, slots=True)
class CaseSpot:
    """The few fields matching needs (a light view of a Case, cheap to load by the 100,000)."""

    case_id: int
    category: str
    status: CaseStatus
    lat_deg: float
    lon_deg: float
    class_name: str = ""  # the detector class (its verification GSD gate)


@dataclass(frozen=True)
class CaseEvent:
    """One change to a case: a transition (``from_status`` != ``to_status``), a re-observation on a
    flight (equal statuses), or the opening (``from_status`` None).

    ``flight_id`` names the flight that caused or observed it; ``evidence`` is a file path (frame or
    before/after image) or None; ``note`` is free text (a reviewer's reason). ``event_id`` is 0 until
    saved.
    """

    case_id: int
    at: datetime
    from_status: CaseStatus | None
    to_status: CaseStatus
    source: EventSource
    flight_id: str | None = None
    finding_id: str | None = None
    evidence: str | None = None
    note: str = ""
    event_id: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", utc(self.at))
        object.__setattr__(self, "to_status", CaseStatus(self.to_status))
        if self.from_status is not None:
            object.__setattr__(self, "from_status", CaseStatus(self.from_status))
        object.__setattr__(self, "source", EventSource(self.source))
        if self.source == EventSource.FLIGHT and not self.flight_id:
            raise ValueError("an event from a flight must name its flight_id")

    def as_dict(self) -> dict:
        return {
            "event_id": self.event_id,
            "case_id": self.case_id,
            "at": _iso(self.at),
            "kind": self.kind,
            "from_status": None if self.from_status is None else str(self.from_status),
            "to_status": str(self.to_status),
            "source": str(self.source),
            "flight_id": self.flight_id,
            "finding_id": self.finding_id,
            "evidence": self.evidence,
            "note": self.note,
        }

    @property
    def kind(self) -> str:
        """"opened", "observed" (no status change) or "transition"."""
        if self.from_status is None:
            return "opened"
        return "observed" if self.from_status == self.to_status else "transition"
