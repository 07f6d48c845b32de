"""CSV of cases or findings for spreadsheets.

Text cells that a spreadsheet would run as a formula (starting with = + - @ or a tab/CR) get a
leading apostrophe (OWASP "CSV injection"); numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from patrol.report.model import CaseRow, FindingCard

CASE_COLUMNS = ("case_id", "category", "status", "active", "overdue", "age_days", "opened_at", "updated_at",
                "unit", "grid_cell", "zone", "lat_deg", "lon_deg", "observations", "last_flight_id", "last_verdict")
FINDING_COLUMNS = ("finding_id", "category", "class_name", "confidence", "lat_deg", "lon_deg", "uncertainty_m",
                   "zone", "grid_cell", "unit", "case_id", "outcome", "frames_seen")


def safe_cell(value: object) -> object:
    """Neutralise a text cell a spreadsheet would evaluate; leave numbers and None alone."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def _write(header: tuple[str, ...], rows: Iterable[tuple]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow([safe_cell(v) for v in r])
    return buf.getvalue()


def cases_csv(cases: Iterable[CaseRow]) -> str:
    return _write(CASE_COLUMNS, (
        (c.case_id, c.category, c.status, c.active, c.overdue, round(c.age_days, 3), c.opened_at.isoformat(),
         c.updated_at.isoformat(), c.unit, c.grid_cell, c.zone, round(c.lat_deg, 7), round(c.lon_deg, 7),
         c.observations, c.last_flight_id, c.last_verdict)
        for c in cases
    ))


def findings_csv(findings: Iterable[FindingCard]) -> str:
    return _write(FINDING_COLUMNS, (
        (f.finding_id, f.category, f.class_name, round(f.confidence, 4), round(f.lat_deg, 7), round(f.lon_deg, 7),
         round(f.uncertainty_m, 2), f.zone, f.grid_cell, f.unit, f.case_id, f.outcome, ";".join(f.frames_seen))
        for f in findings
    ))
