"""The dispatch sheets as files: HTML (screen and print, offline, same CSP as the reports) and CSV."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from patrol.office.dispatch import MAP_PX, UnitSheet, sheet_csv
from patrol.report.html import _csp, _env, _static
from patrol.report.thumbs import ThumbJob, safe_name, write_thumbnails

THUMB_PX = 240
READY_SCRIPT = 'document.documentElement.setAttribute("data-js", "ready");'


def _thumb_jobs(sheets: list[UnitSheet]) -> tuple[list[ThumbJob], dict[tuple[int, str], str]]:
    jobs, rels = [], {}
    for s in sheets:
        for r in s.rows:
            for part, ref in (("before", r.before), ("last", r.last)):
                if ref is not None:
                    key = f"{r.case_id}|{ref.path}|{ref.bbox_xyxy_px}"
                    rel = f"thumbs/{safe_name('d' + part, key)}"
                    rels[(r.case_id, part)] = rel
                    jobs.append(ThumbJob(ref, rel, THUMB_PX, draw_box=ref.bbox_xyxy_px is not None))
    return jobs, rels


def write_sheets(sheets: list[UnitSheet], out: Path, now: datetime, overdue_days: float) -> tuple[list[Path], Path]:
    """Write every sheet (HTML + CSV), their photo crops and an index; returns (sheet files, index)."""
    out.mkdir(parents=True, exist_ok=True)
    jobs, rels = _thumb_jobs(sheets)
    done = write_thumbnails(jobs, out)
    thumbs = {k: rel for k, rel in rels.items() if done.get(rel) is None}
    env = _env()
    common = dict(css=_static("report.css") + _static("dispatch.css"), script=READY_SCRIPT, csp=_csp(READY_SCRIPT),
                  now=now, overdue_days=overdue_days, map_px=MAP_PX)
    paths: list[Path] = []
    for s in sheets:
        html = env.get_template("dispatch.html.j2").render(sheet=s, thumbs=thumbs, **common)
        for suffix, text in ((".html", html), (".csv", sheet_csv(s, thumbs))):
            p = out / f"{s.slug}{suffix}"
            p.write_text(text, encoding="utf-8", newline="")
            paths.append(p)
    index = out / "index.html"
    index.write_text(env.get_template("dispatch_index.html.j2").render(sheets=sheets, **common), encoding="utf-8")
    return paths, index
