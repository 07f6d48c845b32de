"""`patrol dispatch`: one sheet per responsible unit of its open cases (HTML for screen and print, CSV),
and every case on a sheet marked ``dispatched`` once (one reviewer event each; a rerun adds none).

Pure part: ``dispatch_rows`` (cases -> rows) and ``spot_map`` (a small offline SVG map of the spot: the
case, its uncertainty, neighbouring open cases, a scale bar and north). The edge, ``write_dispatch``,
cuts the photo crops, writes the files and only then marks the cases, in one transaction.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from patrol.report.csv_export import safe_cell
from patrol.report.model import ImageRef

NO_UNIT = "(no unit)"
MAP_PX = 150
MAP_HALF_M = 60.0  # the spot map shows 120 m x 120 m around the case
M_PER_DEG_LAT = 111_320.0
CSV_COLUMNS = ("case_id", "category", "status", "unit", "grid_cell", "zone", "lat_deg", "lon_deg", "geo_uri",
               "first_seen", "last_seen", "age_days", "overdue_days", "before_photo", "last_evidence")


@dataclass(frozen=True)
class MapDot:
    """A point on a spot map, in map pixels (0..MAP_PX, y down)."""

    x_px: float
    y_px: float
    label: str


@dataclass(frozen=True)
class SpotMap:
    """What the inline SVG draws: the case at the centre, its uncertainty ring, the neighbours."""

    radius_px: float
    neighbours: tuple[MapDot, ...]
    scale_bar_px: float
    scale_bar_m: float


@dataclass(frozen=True)
class DispatchRow:
    """One open case on a unit's sheet. ``overdue_days`` is how far past the deadline (0 = not yet)."""

    case_id: int
    category: str
    status: str
    unit: str
    grid_cell: str | None
    zone: str | None
    lat_deg: float
    lon_deg: float
    first_seen_at: datetime
    last_seen_at: datetime | None
    age_days: float
    overdue_days: float
    spot: SpotMap
    before: ImageRef | None = None
    last: ImageRef | None = None

    @property
    def geo_uri(self) -> str:
        """RFC 5870 ``geo:`` URI: opens the phone's own (offline) map app at the spot."""
        return f"geo:{self.lat_deg:.6f},{self.lon_deg:.6f}?q={self.lat_deg:.6f},{self.lon_deg:.6f}"

    @property
    def where(self) -> str:
        """Address stand-in: the zone and the grid cell (the store holds no street addresses)."""
        parts = [p for p in (self.zone, f"cell {self.grid_cell}" if self.grid_cell else None) if p]
        return " · ".join(parts) or "—"


@dataclass(frozen=True)
class UnitSheet:
    unit: str
    rows: tuple[DispatchRow, ...]

    @property
    def slug(self) -> str:
        return "dispatch-" + (re.sub(r"[^A-Za-z0-9]+", "-", self.unit).strip("-").lower() or "unit")


def spot_map(case: Any, others: Sequence[Any]) -> SpotMap:
    """The spot map of ``case`` with the ``others`` (cases) that fall inside it. Pure."""
    scale = MAP_PX / (2 * MAP_HALF_M)  # px per metre
    cos_lat = max(math.cos(math.radians(case.lat_deg)), 1e-6)
    dots = []
    for o in others:
        if o.case_id == case.case_id:
            continue
        e = (o.lon_deg - case.lon_deg) * M_PER_DEG_LAT * cos_lat
        n = (o.lat_deg - case.lat_deg) * M_PER_DEG_LAT
        if abs(e) <= MAP_HALF_M and abs(n) <= MAP_HALF_M:
            dots.append(MapDot(MAP_PX / 2 + e * scale, MAP_PX / 2 - n * scale, f"case {o.case_id} {o.category}"))
    return SpotMap(max(2.0, case.uncertainty_m * scale), tuple(dots), 20.0 * scale, 20.0)


def dispatch_rows(
    cases: Sequence[Any], now: datetime, overdue_days: float, first_views: dict[int, ImageRef],
    last_views: dict[int, ImageRef], unit: str | None = None,
) -> list[UnitSheet]:
    """Active cases grouped by unit (one sheet each, most overdue first). ``first_views`` /
    ``last_views``: case id -> the first flight's best view and the latest evidence. Pure."""
    active = [c for c in cases if c.is_active]
    by_unit: dict[str, list[DispatchRow]] = {}
    for c in active:
        u = c.unit or NO_UNIT
        if unit is not None and u != unit:
            continue
        age = max(0.0, (now - c.opened_at).total_seconds() / 86400.0)
        last = last_views.get(c.case_id)
        before = first_views.get(c.case_id)
        by_unit.setdefault(u, []).append(DispatchRow(
            case_id=c.case_id, category=c.category, status=str(c.status), unit=u, grid_cell=c.grid_cell,
            zone=c.zone_name, lat_deg=c.lat_deg, lon_deg=c.lon_deg, first_seen_at=c.opened_at,
            last_seen_at=c.last_seen_at, age_days=age, overdue_days=max(0.0, age - overdue_days),
            spot=spot_map(c, active), before=before, last=None if last == before else last,
        ))
    return [UnitSheet(u, tuple(sorted(rows, key=lambda r: (-r.overdue_days, r.case_id)))) for u, rows in sorted(by_unit.items())]


def sheet_csv(sheet: UnitSheet, thumbs: dict[tuple[int, str], str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for r in sheet.rows:
        w.writerow([safe_cell(v) for v in (
            r.case_id, r.category, r.status, r.unit, r.grid_cell, r.zone, round(r.lat_deg, 7), round(r.lon_deg, 7),
            r.geo_uri, r.first_seen_at.isoformat(timespec="seconds"),
            r.last_seen_at.isoformat(timespec="seconds") if r.last_seen_at else None, round(r.age_days, 2),
            round(r.overdue_days, 2), thumbs.get((r.case_id, "before")), thumbs.get((r.case_id, "last")),
        )])
    return buf.getvalue()


@dataclass(frozen=True)
class DispatchResult:
    sheets: tuple[Path, ...]  # HTML and CSV files written
    index: Path
    dispatched: tuple[int, ...]  # cases marked dispatched by this run (empty on a rerun)
    cases: int  # cases on the sheets


def _views(store: Any, cases: Sequence[Any]) -> tuple[dict[int, ImageRef], dict[int, ImageRef]]:
    """The first flight's best view (before photo) and the latest evidence of each case."""
    first: dict[int, ImageRef] = {}
    last: dict[int, ImageRef] = {}
    latest_check: dict[int, str] = {}
    for v in store.verifications():
        if v.evidence_path:
            latest_check[v.case_id] = v.evidence_path
    for c in cases:
        found = store.findings_of_case(c.case_id)
        if found:
            f = found[0][1]
            first[c.case_id] = ImageRef(f.best_frame, tuple(f.best_bbox_xyxy_px))
        elif c.evidence_frame:
            first[c.case_id] = ImageRef(c.evidence_frame, c.evidence_bbox_xyxy_px)
        if c.case_id in latest_check:
            last[c.case_id] = ImageRef(latest_check[c.case_id])
        elif c.evidence_frame:
            last[c.case_id] = ImageRef(c.evidence_frame, c.evidence_bbox_xyxy_px)
    return first, last


def write_dispatch(store: Any, out_dir: str | Path, settings: Any = None, unit: str | None = None,
                   now: datetime | None = None) -> DispatchResult:
    """Write ``out_dir/index.html`` and per unit ``dispatch-<unit>.html`` + ``.csv`` (+ ``thumbs/``),
    then mark every active case with a unit that is not ``dispatched`` yet as dispatched (one event).

    Raises ConfigError for a ``unit`` no case has."""
    from patrol.cases.lifecycle import transition
    from patrol.cases.model import CaseStatus, EventSource
    from patrol.errors import ConfigError
    from patrol.office.dispatch_html import write_sheets

    now = now or datetime.now(timezone.utc)
    overdue_days = float(settings.cases.overdue_days) if settings is not None else 2.0
    cases = store.list_cases()
    if unit is not None and unit not in {c.unit or NO_UNIT for c in cases}:
        known = ", ".join(sorted({c.unit for c in cases if c.unit})) or "none"
        raise ConfigError(f"--unit {unit!r}: no case has this unit (units in the store: {known})")
    active = [c for c in cases if c.is_active]
    first, last = _views(store, active)
    sheets = dispatch_rows(cases, now, overdue_days, first, last, unit)
    if unit is not None and not sheets:
        sheets = [UnitSheet(unit, ())]
    paths, index = write_sheets(sheets, Path(out_dir), now, overdue_days)
    marked = []
    with store.transaction():
        for sheet in sheets:
            for r in sheet.rows:
                case = store.get_case(r.case_id)
                if case is None or not case.unit or case.status == CaseStatus.DISPATCHED:
                    continue
                new, event = transition(case, CaseStatus.DISPATCHED, at=now, source=EventSource.REVIEWER,
                                        note=f"dispatched to {case.unit} (sheet {sheet.slug}.html)")
                store.update_case(new)
                store.add_event(event)
                marked.append(case.case_id)
    return DispatchResult(tuple(paths), index, tuple(marked), sum(len(s.rows) for s in sheets))
