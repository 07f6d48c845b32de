"""HTML reports for reviewers: the per-flight report and the case board.

Rendering is pure (view model in, HTML text out) through jinja2 with autoescape on for everything, so
a file or zone name is always shown as text. Extra safety for a page that may be opened from a mail
attachment: a Content-Security-Policy that forbids any network access and allows only the page's own
inline script (by its SHA-256), so even markup that slipped through could not run or phone home.
Machine-readable data embedded in the page goes through ``script_json`` (no ``</script>`` break-out).

``write_flight_report_html`` / ``write_case_board_html`` are the edges: they cut thumbnails next to
the HTML (relative links only) and write ``index.html``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from patrol.report.model import (
    FLIGHT_OUTCOMES,
    CaseBoardData,
    CaseRow,
    FlightReportData,
    category_colour,
)
from patrol.report.svgmap import VERDICT_COLOURS, build_svg_map
from patrol.report.thumbs import ThumbJob, safe_name, write_thumbnails

THUMB_DIR = "thumbs"
_OUTCOME_ORDER = {"new": 0, "still_present": 1}
CARD_THUMB_PX = 320
EVIDENCE_PX = 960
BOARD_THUMB_PX = 160


def script_json(value: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` or
    line separators survive literally, so a value can never close the element."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _static(name: str) -> str:
    return resources.files("patrol.report").joinpath("templates", name).read_text(encoding="utf-8")


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; img-src 'self' data: file:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def _fmt_dt(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "—"


def _fmt_area(m2: float) -> str:
    if m2 >= 1e6:
        return f"{m2 / 1e6:.2f} km²"
    if m2 >= 1e4:
        return f"{m2 / 1e4:.1f} ha"
    return f"{m2:.0f} m²"


def _humanize(s: str | None) -> str:
    return (s or "").replace("_", " ")


def _env():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("patrol.report", "templates"),
        autoescape=True,  # every template, whatever its extension
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(dt=_fmt_dt, area=_fmt_area, colour=category_colour, human=_humanize)
    env.globals.update(verdict_colour=VERDICT_COLOURS.get)
    return env


def flight_thumb_jobs(data: FlightReportData) -> list[ThumbJob]:
    """The thumbnails a flight report needs (one per finding, evidence per verification)."""
    jobs: list[ThumbJob] = []
    for f in data.violations:  # counted objects get no thumbnail: a 500-frame flight has thousands
        if f.evidence is not None:
            jobs.append(ThumbJob(f.evidence, f"{THUMB_DIR}/{safe_name('f', f.finding_id)}", CARD_THUMB_PX))
    for v in data.verifications:
        for part, ref in (("ev", v.evidence), ("before", v.before), ("after", v.after)):
            if ref is not None:
                px = EVIDENCE_PX if part == "ev" else CARD_THUMB_PX
                rel = f"{THUMB_DIR}/{safe_name('v' + part, v.case_id)}"
                jobs.append(ThumbJob(ref, rel, px, draw_box=part != "ev"))
    return jobs


def board_thumb_rel(row: CaseRow) -> str | None:
    """Thumbnail path of a case on the board; the name depends on the evidence, so a new best view
    gets a new file and an unchanged one is reused by the next nightly run."""
    if row.evidence is None:
        return None
    key = f"{row.evidence.path}|{row.evidence.frame_index}|{row.evidence.bbox_xyxy_px}"
    return f"{THUMB_DIR}/{safe_name('c', row.case_id + '-' + hashlib.sha1(key.encode()).hexdigest()[:8])}"


def render_flight_report(data: FlightReportData, thumbs: dict[str, str] | None = None) -> str:
    """The per-flight report as one HTML page. ``thumbs`` maps a job's rel_path to None when the
    thumbnail exists (see ``write_thumbnails``); a missing entry shows a placeholder."""
    thumbs = thumbs or {}

    def thumb(prefix: str, key: str) -> str | None:
        rel = f"{THUMB_DIR}/{safe_name(prefix, key)}"
        return rel if rel in thumbs and thumbs[rel] is None else None

    script = _static("report.js")
    summary = {
        "flight_id": data.flight_id,
        "frames_read": data.frames_read,
        "frames_failed": data.frames_failed,
        "area_covered_m2": round(data.area_covered_m2, 1),
        "findings_by_category": data.findings_by_category(),
        "cases": data.case_outcomes(),
        "findings": [
            {"id": f.finding_id, "label": f.label, "lat_deg": f.lat_deg, "lon_deg": f.lon_deg,
             "zone": f.zone, "grid_cell": f.grid_cell, "unit": f.unit, "confidence": f.confidence,
             "case_id": f.case_id, "outcome": f.outcome}
            for f in data.findings
        ],
    }
    return _env().get_template("flight.html.j2").render(
        d=data,
        svg=build_svg_map(data),
        outcomes=FLIGHT_OUTCOMES,
        by_category=data.findings_by_category(),
        counted_labels={f.label for f in data.counted} - {f.label for f in data.violations},
        # New problems first, then those still there; within each by category, surest first.
        cards=sorted(data.violations, key=lambda f: (_OUTCOME_ORDER.get(f.outcome, 2), f.label, -f.confidence, f.finding_id)),
        case_counts=data.case_outcomes(),
        thumb=thumb,
        css=_static("report.css"),
        script=script,
        csp=_csp(script),
        data_json=script_json(summary),
    )


def _id_key(case_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order (2 before 10), anything else after them."""
    return (0, int(case_id), "") if case_id.isdigit() else (1, 0, case_id)


def render_case_board(board: CaseBoardData, thumbs: dict[str, str] | None = None) -> str:
    """The case board (every case in the store, filterable and sortable in the page)."""
    return _env().get_template("cases.html.j2").render(**case_board_context(board, thumbs))


def case_board_context(board: CaseBoardData, thumbs: dict[str, str] | None = None) -> dict[str, Any]:
    """The template variables of the case board (``patrol serve`` adds its own to these)."""
    thumbs = thumbs or {}

    def thumb(row: CaseRow) -> str | None:
        rel = board_thumb_rel(row)
        return rel if rel is not None and rel in thumbs and thumbs[rel] is None else None

    script = _static("board.js")
    units, cats, counts = board.open_by_unit_and_category()
    rows = sorted(board.cases, key=lambda c: (not c.active, not c.overdue, -c.age_days, _id_key(c.case_id)))
    return dict(
        b=board,
        rows=rows,
        units=units,
        cats=cats,
        counts=counts,
        all_units=sorted({c.unit or "(no unit)" for c in board.cases}),
        all_cats=sorted({c.category for c in board.cases}),
        all_statuses=sorted({c.status for c in board.cases}),
        n_active=sum(c.active for c in board.cases),
        n_overdue=sum(c.overdue for c in board.cases),
        thumb=thumb,
        css=_static("report.css"),
        script=script,
        csp=_csp(script),
        serve=None,
    )


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place: a full disk or a
    kill mid-write leaves the previous file (or none), never half a page. OSError on failure."""
    import os

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_flight_report_html(data: FlightReportData, out_dir: str | Path) -> Path:
    """Write ``out_dir/index.html`` and ``out_dir/thumbs/*.jpg``; returns the HTML path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    thumbs = write_thumbnails(flight_thumb_jobs(data), out)
    path = out / "index.html"
    write_atomic(path, render_flight_report(data, thumbs))
    return path


def write_case_board_html(board: CaseBoardData, out_dir: str | Path) -> Path:
    """Write ``out_dir/index.html`` with a small thumbnail per active case (existing ones reused)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs: list[ThumbJob] = []
    done: dict[str, str | None] = {}
    for c in board.cases:
        rel = board_thumb_rel(c)
        if rel is None or not c.active:
            continue
        if (out / rel).is_file():
            done[rel] = None
        else:
            jobs.append(ThumbJob(c.evidence, rel, BOARD_THUMB_PX))  # type: ignore[arg-type]
    done.update(write_thumbnails(jobs, out))
    path = out / "index.html"
    write_atomic(path, render_case_board(board, done))
    return path
