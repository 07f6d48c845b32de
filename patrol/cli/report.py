"""`patrol report` (HTML for reviewers) and `patrol export` (GeoJSON, KML, CSV, Open311 JSON)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from patrol.cli.app import EXIT_USAGE, ConfigOpt, DbOpt, app, err, guarded, load


class ExportFormat(str, Enum):
    geojson = "geojson"
    kml = "kml"
    csv = "csv"
    open311 = "open311"


def _open(config: Path | None, db: str | None):
    from patrol.store import open_store

    settings = load(config)
    return settings, open_store(db or settings.store.url, create=False)


@app.command("report")
def report_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder to write index.html and thumbs/ into.")],
    flight: Annotated[str | None, typer.Option("--flight", help="Write the report of this flight (its id).")] = None,
    cases: Annotated[bool, typer.Option("--cases", help="Write the case board of the whole store.")] = False,
    closed_days: Annotated[
        float | None,
        typer.Option("--closed-days", min=0, help="Case board: list closed cases updated in this many days (default 90)."),
    ] = 90.0,
    zones: Annotated[
        Path | None, typer.Option("--zones", help="Zones GeoJSON to draw on the flight's map.")
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write an HTML report: one flight's (--flight ID) or the case board (--cases). Works offline."""
    if (flight is None) == (not cases):
        err("error: give exactly one of --flight ID or --cases")
        raise typer.Exit(EXIT_USAGE)

    def run() -> None:
        from patrol.report.from_store import write_case_board, write_flight_report

        settings, store = _open(config, db)
        with store:
            if cases:
                paths = write_case_board(store, out, settings, closed_window_days=closed_days)
            else:
                zs = None
                if zones is not None:
                    from patrol.zones import load_zones

                    zs = load_zones(zones)
                paths = write_flight_report(store, flight, out, settings, zones=zs)  # type: ignore[arg-type]
        for p in paths:
            typer.echo(str(p))

    guarded(run)


@app.command("export")
def export_cmd(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="geojson, kml, csv or open311 (GeoReport v2 JSON).")],
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: standard output).")] = None,
    flight: Annotated[
        str | None, typer.Option("--flight", help="Only this flight: its findings and the cases it touched.")
    ] = None,
    active: Annotated[bool, typer.Option("--active", help="Only cases believed still on the ground.")] = False,
    media_base_url: Annotated[
        str | None,
        typer.Option("--media-base-url", help="Open311 media_url prefix: where the case board folder is published."),
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Export cases (and with --flight, that flight's findings) for GIS, Google Earth, spreadsheets or dispatch."""

    def run() -> None:
        from patrol.report.from_store import export_text

        settings, store = _open(config, db)
        with store:
            text = export_text(
                store, fmt.value, settings, flight_id=flight, active_only=active, media_base_url=media_base_url
            )
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8", newline="")
            typer.echo(str(out), err=True)

    guarded(run)
