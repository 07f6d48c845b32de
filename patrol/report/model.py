"""View models: the plain, validated values every report and export is rendered from.

Renderers (html, geojson, kml, csv, open311) are pure functions of these records; only the adapter in
``patrol.report.from_store`` reads the store. Paths that end up in a report are *relative* names:
``__post_init__`` rejects an absolute path so that no path of the processing machine can leak into
HTML handed to a reviewer. Source images for thumbnails are held separately (``ImageRef``) and never
rendered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath, PureWindowsPath

#: Case outcomes a flight can produce, in the order the summary shows them.
FLIGHT_OUTCOMES: tuple[str, ...] = ("new", "still_present", "fixed", "inconclusive", "not_found")
VERDICTS: tuple[str, ...] = ("fixed", "still_present", "inconclusive", "not_found")  # not_found: citizen reports

#: Colour per violation category (and per detector class for counted-only objects). Colour-blind
#: friendly (Okabe-Ito); anything else is grey.
CATEGORY_COLOURS: dict[str, str] = {
    "illegal_parking": "#D55E00",
    "street_vending": "#E69F00",
    "road_damage": "#CC79A7",
    "exposed_garbage": "#009E73",
    "vehicle": "#0072B2",
}
OTHER_COLOUR = "#777777"


def category_colour(category: str) -> str:
    return CATEGORY_COLOURS.get(category, OTHER_COLOUR)


def _check_latlon(lat_deg: float, lon_deg: float, what: str) -> None:
    if not (math.isfinite(lat_deg) and -90.0 <= lat_deg <= 90.0):
        raise ValueError(f"{what}: lat_deg must be in [-90, 90], got {lat_deg}")
    if not (math.isfinite(lon_deg) and -180.0 <= lon_deg <= 180.0):
        raise ValueError(f"{what}: lon_deg must be in [-180, 180], got {lon_deg}")


def _check_ring(ring: tuple[tuple[float, float], ...], what: str) -> None:
    if len(ring) < 3:
        raise ValueError(f"{what}: a ring needs at least 3 (lon, lat) points, got {len(ring)}")
    for p in ring:
        if len(p) != 2:
            raise ValueError(f"{what}: points must be (lon_deg, lat_deg), got {p}")
        _check_latlon(p[1], p[0], what)


def is_absolute_path(name: str) -> bool:
    """True for a POSIX or Windows absolute path (``/x``, ``C:\\x``, ``\\\\host\\x``, ``~/x``)."""
    return (
        PurePosixPath(name).is_absolute()
        or PureWindowsPath(name).is_absolute()
        or name.startswith(("\\", "~"))
    )


def _check_relative(name: str | None, what: str) -> None:
    if name is not None and is_absolute_path(name):
        raise ValueError(f"{what} must be a relative name, not an absolute path: {name!r}")


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


@dataclass(frozen=True)
class ImageRef:
    """Where a thumbnail is cut from: an image file (or a video and a frame index) and a box in it.

    ``bbox_xyxy_px`` None = the whole image (downscaled). ``path`` may be absolute: it is only read,
    never rendered.
    """

    path: str
    bbox_xyxy_px: tuple[float, float, float, float] | None = None
    frame_index: int | None = None

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("ImageRef.path must not be empty")
        if self.bbox_xyxy_px is not None:
            x1, y1, x2, y2 = self.bbox_xyxy_px
            if not (x2 > x1 and y2 > y1):
                raise ValueError(f"bbox_xyxy_px must have x2>x1 and y2>y1, got {self.bbox_xyxy_px}")


REVIEW_VERDICTS: tuple[str, ...] = ("confirmed", "false_positive", "duplicate", "category")


@dataclass(frozen=True)
class ReviewMark:
    """How a reviewer judged a case: ``verdict`` (one of REVIEW_VERDICTS) and a short text for people
    ("duplicate of case 4", "category road_damage (was street_vending)")."""

    verdict: str
    text: str

    def __post_init__(self) -> None:
        if self.verdict not in REVIEW_VERDICTS:
            raise ValueError(f"review verdict must be one of {REVIEW_VERDICTS}, got {self.verdict!r}")


@dataclass(frozen=True)
class FindingCard:
    """One finding of one flight as a reviewer sees it.

    ``category`` is the violation category, or None for an object that is only counted (then
    ``class_name`` labels it). ``outcome`` is what the flight did to its case ("new",
    "still_present", or None when it made no case). ``frames_seen`` are frame names (relative).
    """

    finding_id: str
    class_name: str
    category: str | None
    lat_deg: float
    lon_deg: float
    confidence: float
    frames_seen: tuple[str, ...]
    zone: str | None = None
    grid_cell: str | None = None
    unit: str | None = None
    uncertainty_m: float = 0.0
    case_id: str | None = None
    outcome: str | None = None
    polygon_wgs84: tuple[tuple[float, float], ...] | None = None
    evidence: ImageRef | None = None
    review: ReviewMark | None = None  # the latest review of its case

    def __post_init__(self) -> None:
        if not self.finding_id:
            raise ValueError("finding_id must not be empty")
        _check_latlon(self.lat_deg, self.lon_deg, f"finding {self.finding_id}")
        if not (0.0 <= self.confidence <= 1.0):
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        for name in self.frames_seen:
            _check_relative(name, "frames_seen entry")
        if self.polygon_wgs84 is not None:
            _check_ring(self.polygon_wgs84, f"finding {self.finding_id}")
        if self.outcome is not None and self.outcome not in FLIGHT_OUTCOMES:
            raise ValueError(f"outcome must be one of {FLIGHT_OUTCOMES} or None, got {self.outcome!r}")

    @property
    def label(self) -> str:
        """The category, or the detector class for a counted-only object."""
        return self.category or self.class_name

    @property
    def is_violation(self) -> bool:
        return self.category is not None


@dataclass(frozen=True)
class VerificationCard:
    """One before/after verification of a case on this flight.

    ``evidence`` is the composite (before | after aligned | difference) written by the verify stage;
    ``before``/``after`` are the crops when there is no composite. Frame names are relative.
    """

    case_id: str
    category: str
    verdict: str
    lat_deg: float
    lon_deg: float
    before_frame: str | None = None
    after_frame: str | None = None
    score: float | None = None
    reason: str = ""
    evidence: ImageRef | None = None
    before: ImageRef | None = None
    after: ImageRef | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        _check_latlon(self.lat_deg, self.lon_deg, f"verification of case {self.case_id}")
        _check_relative(self.before_frame, "before_frame")
        _check_relative(self.after_frame, "after_frame")


@dataclass(frozen=True)
class FailedInput:
    """An input file that could not be used, by relative name, and why."""

    name: str
    reason: str

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("FailedInput.name must not be empty")
        _check_relative(self.name, "FailedInput.name")


@dataclass(frozen=True)
class ZoneShape:
    """A zone or grid cell to draw: rings as (lon_deg, lat_deg) pairs (exterior first per polygon)."""

    name: str
    kind: str
    polygons: tuple[tuple[tuple[tuple[float, float], ...], ...], ...]
    unit: str | None = None

    def __post_init__(self) -> None:
        for poly in self.polygons:
            if not poly:
                raise ValueError(f"zone {self.name!r}: empty polygon")
            for ring in poly:
                _check_ring(ring, f"zone {self.name!r}")


@dataclass(frozen=True)
class FramePoint:
    """One frame of the flight on the map: camera position and, when known, its ground footprint."""

    name: str
    lat_deg: float
    lon_deg: float
    footprint_wgs84: tuple[tuple[float, float], ...] | None = None

    def __post_init__(self) -> None:
        _check_relative(self.name, "FramePoint.name")
        _check_latlon(self.lat_deg, self.lon_deg, f"frame {self.name}")
        if self.footprint_wgs84 is not None:
            _check_ring(self.footprint_wgs84, f"frame {self.name}")


@dataclass(frozen=True)
class FlightReportData:
    """Everything the per-flight report shows."""

    flight_id: str
    title: str
    frames_read: int
    frames_failed: int
    area_covered_m2: float
    findings: tuple[FindingCard, ...]
    verifications: tuple[VerificationCard, ...] = ()
    failed_inputs: tuple[FailedInput, ...] = ()
    frames: tuple[FramePoint, ...] = ()
    zones: tuple[ZoneShape, ...] = ()
    started_at: datetime | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    source_name: str | None = None  # the input folder's name (never its full path)
    frames_unplaced: int = 0  # read, but without a usable geotag/pose (not on the map, not searched)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.flight_id:
            raise ValueError("flight_id must not be empty")
        if self.frames_read < 0 or self.frames_failed < 0:
            raise ValueError("frame counts must be >= 0")
        if not (math.isfinite(self.area_covered_m2) and self.area_covered_m2 >= 0.0):
            raise ValueError(f"area_covered_m2 must be >= 0, got {self.area_covered_m2}")
        _check_relative(self.source_name, "source_name")
        object.__setattr__(self, "started_at", _aware(self.started_at))
        object.__setattr__(self, "generated_at", _aware(self.generated_at))
        ids = [f.finding_id for f in self.findings]
        if len(set(ids)) != len(ids):
            raise ValueError("finding ids must be unique within a flight")

    @property
    def violations(self) -> tuple[FindingCard, ...]:
        """Findings with a violation category: each gets a card (and a case)."""
        return tuple(f for f in self.findings if f.is_violation)

    @property
    def counted(self) -> tuple[FindingCard, ...]:
        """Objects only counted (no violation here, e.g. a vehicle outside no-parking zones)."""
        return tuple(f for f in self.findings if not f.is_violation)

    def findings_by_category(self) -> dict[str, int]:
        """Count per label (category, or detector class for counted-only objects), largest first."""
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.label] = counts.get(f.label, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def case_outcomes(self) -> dict[str, int]:
        """Cases new / still present (from findings) and fixed / inconclusive (from verifications).

        A verification that says "still_present" counts there too, once per case.
        """
        counts = dict.fromkeys(FLIGHT_OUTCOMES, 0)
        still: set[str] = set()
        for f in self.findings:
            if f.outcome == "new":
                counts["new"] += 1
            elif f.outcome == "still_present":
                still.add(f.case_id or f.finding_id)
        for v in self.verifications:
            if v.verdict == "still_present":
                still.add(v.case_id)
            else:
                counts[v.verdict] += 1
        counts["still_present"] = len(still)
        return counts


@dataclass(frozen=True)
class CaseRow:
    """One case on the case board and in the exports.

    ``active`` = the problem is believed to be on the ground; ``overdue`` = active past the deadline.
    ``age_days`` counts from ``opened_at`` to the board's ``now``.
    """

    case_id: str
    category: str
    status: str
    lat_deg: float
    lon_deg: float
    opened_at: datetime
    updated_at: datetime
    age_days: float
    active: bool
    overdue: bool
    unit: str | None = None
    grid_cell: str | None = None
    zone: str | None = None
    class_name: str | None = None
    observations: int = 1
    last_flight_id: str | None = None
    last_flight_name: str | None = None
    last_verdict: str | None = None
    confidence: float | None = None
    evidence: ImageRef | None = None
    review: ReviewMark | None = None
    source: str = "drone"  # drone | citizen | hotline: who reported the case first

    def __post_init__(self) -> None:
        if not self.case_id:
            raise ValueError("case_id must not be empty")
        if not self.category:
            raise ValueError("category must not be empty")
        _check_latlon(self.lat_deg, self.lon_deg, f"case {self.case_id}")
        object.__setattr__(self, "opened_at", _aware(self.opened_at))
        object.__setattr__(self, "updated_at", _aware(self.updated_at))
        if not math.isfinite(self.age_days) or self.age_days < 0:
            raise ValueError(f"age_days must be >= 0, got {self.age_days}")
        if self.overdue and not self.active:
            raise ValueError(f"case {self.case_id}: only an active case can be overdue")


@dataclass(frozen=True)
class CaseBoardData:
    """The whole store's cases at ``now``."""

    cases: tuple[CaseRow, ...]
    now: datetime
    overdue_days: float
    title: str = "Case board"
    hidden_closed: int = 0  # closed cases left off the page (older than the board's window)
    closed_window_days: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "now", _aware(self.now))

    def open_by_unit_and_category(self) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
        """(units, categories, counts) over active cases; unit None shows as "(no unit)"."""
        counts: dict[tuple[str, str], int] = {}
        for c in self.cases:
            if c.active:
                key = (c.unit or "(no unit)", c.category)
                counts[key] = counts.get(key, 0) + 1
        units = sorted({k[0] for k in counts})
        cats = sorted({k[1] for k in counts})
        return units, cats, counts
