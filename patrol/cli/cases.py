"""`patrol cases list|show|set-status`: the reviewer's view of the case store."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from patrol.cli.app import ConfigOpt, DbOpt, JsonOpt, app, guarded, load

cases_app = typer.Typer(
    help="Review cases: list them, show one with its history, change a status (false positive, duplicate...).",
    no_args_is_help=True,
)
app.add_typer(cases_app, name="cases")

# Reviewer words -> lifecycle statuses (hyphens, underscores and the short forms all work).
STATUS_WORDS: dict[str, str] = {
    "false-positive": "closed_false_positive",
    "false_positive": "closed_false_positive",
    "closed-false-positive": "closed_false_positive",
    "closed_false_positive": "closed_false_positive",
    "fp": "closed_false_positive",
    "duplicate": "duplicate",
    "dispatched": "dispatched",
    "closed": "closed",
    "reopened": "reopened",
    "reopen": "reopened",
    "fixed": "fixed",
    "still-present": "still_present",
    "still_present": "still_present",
}


def _open(config, db):
    from patrol.store import open_store

    settings = load(config)
    return settings, open_store(db or settings.store.url, create=False)


def _status_word(word: str) -> str:
    from patrol.errors import ConfigError

    key = word.strip().lower()
    if key not in STATUS_WORDS:
        raise ConfigError(
            f"unknown status {word!r}; expected one of: false-positive, duplicate (with --of N), dispatched, "
            "closed, reopened, fixed, still-present"
        )
    return STATUS_WORDS[key]


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), *(fmt.format(*r) for r in rows)])


@cases_app.command("list")
def list_cmd(
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only these statuses (repeatable), e.g. open, dispatched.")
    ] = None,
    category: Annotated[str | None, typer.Option("--category", help="Only this violation category.")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Only cases of this responsible unit.")] = None,
    active: Annotated[bool, typer.Option("--active", help="Only cases believed still on the ground.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only active cases older than [cases] overdue_days.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many cases.")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List cases (id, status, category, unit, grid cell, when opened and last seen, overdue flag)."""

    def run() -> None:
        from patrol.cases.model import ACTIVE_STATUSES, CaseStatus, now_utc
        from patrol.errors import ConfigError

        settings, store = _open(config, db)
        with store:
            try:
                statuses = None if not status else [CaseStatus(s.strip().lower().replace("-", "_")) for s in status]
            except ValueError as e:
                raise ConfigError(f"--status: {e}; expected one of {', '.join(CaseStatus)}") from e
            if active or overdue:
                statuses = [s for s in (statuses or ACTIVE_STATUSES) if s in ACTIVE_STATUSES]
            cases = store.list_cases(statuses=statuses, categories=[category] if category else None, unit=unit)
            from patrol.store.revisits import case_sources

            sources = case_sources(store, [c.case_id for c in cases])
        now = now_utc()
        days = settings.cases.overdue_days
        if overdue:
            cases = [c for c in cases if c.is_overdue(now, days)]
        if limit is not None:
            cases = cases[:limit]
        if as_json:
            typer.echo(json.dumps([{**c.as_dict(), "source": sources[c.case_id], "overdue": c.is_overdue(now, days)} for c in cases], indent=2))
            return
        rows = [
            [
                str(c.case_id),
                str(c.status),
                c.category,
                sources[c.case_id],
                c.unit or "-",
                c.grid_cell or "-",
                _day(c.opened_at),
                _day(c.last_seen_at),
                str(c.observations),
                "OVERDUE" if c.is_overdue(now, days) else "",
            ]
            for c in cases
        ]
        typer.echo(_table(rows, ["id", "status", "category", "source", "unit", "grid", "opened", "last seen", "seen", ""]))
        typer.echo(f"{len(cases)} case(s)")

    guarded(run)


def _day(dt: datetime | None) -> str:
    return "-" if dt is None else dt.strftime("%Y-%m-%d %H:%M")


@cases_app.command("show")
def show_cmd(
    case_id: Annotated[int, typer.Argument(help="Case number.")],
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one case: where, what, who is responsible, evidence, and its full event history."""

    def run() -> None:
        from patrol.errors import CaseError

        _, store = _open(config, db)
        with store:
            case = store.get_case(case_id)
            if case is None:
                raise CaseError(f"no case {case_id}")
            events = store.events(case_id)
            checks = store.verifications(case_id=case_id)
            findings = store.findings_of_case(case_id)
            from patrol.store.revisits import case_sources, reports_of_case

            source = case_sources(store, [case_id])[case_id]
            reports = reports_of_case(store, case_id)
        if as_json:
            out = case.as_dict()
            out["source"] = source
            out["reports"] = [{"source": r.source, "reported_at": r.reported_at.isoformat(timespec="seconds"), "photo": r.photo,
                               "note": r.note, "opened_case": r.opened_case} for r in reports]
            out["events"] = [e.as_dict() for e in events]
            out["verifications"] = [
                {
                    "flight_id": v.flight_id,
                    "at": v.at.isoformat(timespec="seconds"),
                    "verdict": v.verdict,
                    "score": v.score,
                    "before_frame": v.before_frame,
                    "after_frame": v.after_frame,
                    "evidence_path": v.evidence_path,
                    "inconclusive_reason": (v.details or {}).get("inconclusive_reason"),
                    "reasons": list((v.details or {}).get("reasons") or []),
                }
                for v in checks
            ]
            out["findings"] = [{"flight_id": fl, "finding_id": f.finding_id, "frames": list(f.frames)} for fl, f in findings]
            typer.echo(json.dumps(out, indent=2))
            return
        lines = [
            f"case {case.case_id}: {case.category} ({case.class_name}) — {case.status}",
            f"  source     {source}" + (f" ({len(reports)} report(s))" if reports else ""),
            f"  where      {case.lat_deg:.6f}, {case.lon_deg:.6f}  (±{case.uncertainty_m:.1f} m)",
            f"  unit       {case.unit or '-'}   grid cell {case.grid_cell or '-'}   zone {case.zone_name or '-'}",
            f"  opened     {_day(case.opened_at)}  last seen {_day(case.last_seen_at)}  seen on {case.observations} flight(s)",
            f"  evidence   {case.evidence_frame or '-'} {list(case.evidence_bbox_xyxy_px or [])}",
        ]
        if case.duplicate_of is not None:
            lines.append(f"  duplicate of case {case.duplicate_of}")
        lines.append("  history")
        for e in events:
            change = str(e.to_status) if e.from_status is None else f"{e.from_status} -> {e.to_status}"
            lines.append(f"    {_day(e.at)}  {e.source:<12} {change:<28} {e.note}")
        for v in checks:
            d = v.details or {}
            why = f" ({d['inconclusive_reason']})" if d.get("inconclusive_reason") else ""
            lines.append(f"  verification {_day(v.at)} {v.verdict}{why} {v.evidence_path or ''}".rstrip())
            reasons = list(d.get("reasons") or [])
            if reasons:  # why: the first reason says what decided it (or why it could not)
                lines.append(f"    {reasons[0]}")
        typer.echo("\n".join(lines))

    guarded(run)


@cases_app.command("set-status")
def set_status_cmd(
    case_id: Annotated[int, typer.Argument(help="Case number.")],
    status: Annotated[
        str, typer.Argument(help="false-positive | duplicate | dispatched | closed | reopened | fixed | still-present")
    ],
    of: Annotated[int | None, typer.Option("--of", help="For duplicate: the case this one duplicates.")] = None,
    note: Annotated[str, typer.Option("--note", help="The reviewer's reason, kept in the case history.")] = "",
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a case's status as a reviewer (recorded as an event with your note)."""

    def run() -> None:
        from patrol.cases.service import set_status
        from patrol.errors import ConfigError

        target = _status_word(status)
        if target == "duplicate" and of is None:
            raise ConfigError("duplicate needs --of N (the case this one duplicates)")
        if target != "duplicate" and of is not None:
            raise ConfigError("--of is only for the duplicate status")
        _, store = _open(config, db)
        with store:
            case, event = set_status(store, case_id, target, note=note, duplicate_of=of)
        if as_json:
            typer.echo(json.dumps({"case": case.as_dict(), "event": event.as_dict()}, indent=2))
        else:
            typer.echo(f"case {case.case_id}: {event.from_status} -> {event.to_status}")

    guarded(run)


@cases_app.command("review")
def review_cmd(
    case_id: Annotated[int, typer.Argument(help="Case number.")],
    verdict: Annotated[
        str,
        typer.Option("--as", help="confirmed | false_positive | duplicate:M | category:C (C a violation category)."),
    ],
    note: Annotated[str, typer.Option("--note", help="The reviewer's reason, kept with the review.")] = "",
    reviewer: Annotated[str, typer.Option("--reviewer", help="Who reviewed (kept with the review).")] = "",
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Review a case: confirmed, false positive, duplicate of case M, or wrong category (recorded as an event)."""

    def run() -> None:
        from patrol.office.review import parse_review, review_case

        request = parse_review(verdict)
        _, store = _open(config, db)
        with store:
            review, changed = review_case(store, case_id, request, note=note, reviewer=reviewer)
            case = store.get_case(case_id)
        if as_json:
            typer.echo(json.dumps({"case": case.as_dict(), "review": review.request.label, "recorded": changed,
                                   "event_id": review.event_id}, indent=2))
        elif changed:
            typer.echo(f"case {case_id}: reviewed as {review.describe()} (now {case.status})")
        else:
            typer.echo(f"case {case_id}: already reviewed as {review.describe()}; nothing changed")

    guarded(run)


@cases_app.command("add")
def add_cmd(
    category: Annotated[str, typer.Option("--category", help="Violation category: illegal_parking, street_vending, road_damage, exposed_garbage.")],
    photo: Annotated[list[Path] | None, typer.Option("--photo", help="A phone photo with GPS (JPEG or HEIC); repeatable, one report each.")] = None,
    point: Annotated[str | None, typer.Option("--point", help="The spot as LAT,LON (a hotline call, a map click).")] = None,
    note: Annotated[str, typer.Option("--note", help="What the reporter said, kept in the case history.")] = "",
    source: Annotated[str, typer.Option("--source", help="citizen or hotline.")] = "citizen",
    reported_at: Annotated[str | None, typer.Option("--reported-at", help="When it was reported, ISO 8601 (default: the photo's time, else now).")] = None,
    zones: Annotated[Path | None, typer.Option("--zones", help="Zones GeoJSON: grid cell and unit of the spot; spots far outside every zone are refused.")] = None,
    max_outside_m: Annotated[float, typer.Option("--max-outside-m", min=0.0, help="With --zones: refuse spots farther than this from every zone.")] = 200.0,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a citizen or hotline report: a phone photo's GPS (EXIF, HEIC too) or a point opens a case,
    or re-observes an open case of that category within the match radius. The photo is kept as the
    case's first evidence; the next drone flight over the spot checks it (`patrol route` includes it).
    A photo without GPS, or far outside every zone, is refused with the reason (exit 1, the others go on).
    """

    def run() -> int:
        from patrol.cases.citizen import ReportInput, add_report
        from patrol.cli.app import EXIT_INPUT_FAILED, EXIT_OK, err
        from patrol.cli.route import parse_latlon
        from patrol.errors import ConfigError, InputError
        from patrol.zones import load_zones

        if bool(photo) == (point is not None):
            raise ConfigError("give --photo PHOTO... or --point LAT,LON (one of them)")
        at = None
        if reported_at is not None:
            try:
                at = datetime.fromisoformat(reported_at)
            except ValueError as e:
                raise ConfigError(f"--reported-at: expected ISO 8601 (2026-11-21T14:10:00+08:00), got {reported_at!r}") from e
        zs = load_zones(zones)
        latlon = parse_latlon(point, "--point") if point is not None else None
        reports = ([ReportInput(category, source, lat_deg=latlon[0], lon_deg=latlon[1], note=note, reported_at=at)] if latlon
                   else [ReportInput(category, source, photo=p, note=note, reported_at=at) for p in photo or []])
        settings = load(config, {"store": {"url": db}} if db else None)
        from patrol.store import open_store

        done, failed = [], 0
        with open_store(settings.store.url) as store:
            for rep in reports:
                try:
                    done.append(add_report(store, settings, rep, zs, max_outside_m=max_outside_m))
                except InputError as e:
                    err(f"refused: {e}")
                    failed += 1
        if as_json:
            typer.echo(json.dumps([{"case": r.case.as_dict(), "opened": r.opened, "source": r.report.source,
                                    "report_id": r.report.report_id} for r in done], indent=2))
        for r in done if not as_json else []:
            c = r.case
            verb = "opened" if r.opened else "re-observed"
            typer.echo(f"case {c.case_id} {verb}: {c.category} at {c.lat_deg:.6f}, {c.lon_deg:.6f} ({r.report.source}; "
                       f"unit {c.unit or '-'}, grid cell {c.grid_cell or '-'}) — {c.status}")
        return EXIT_INPUT_FAILED if failed else EXIT_OK

    raise typer.Exit(guarded(run))
