"""`patrol dispatch`, `patrol stats` and `patrol serve`: the command centre's office work."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

from patrol.cli.app import ConfigOpt, DbOpt, app, guarded, load


def _open(config: Path | None, db: str | None):
    from patrol.store import open_store

    settings = load(config)
    return settings, open_store(db or settings.store.url, create=False)


@app.command("dispatch")
def dispatch_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for index.html and one HTML + CSV sheet per unit.")],
    unit: Annotated[str | None, typer.Option("--unit", help="Only this responsible unit's sheet.")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write a dispatch sheet (HTML + CSV) per responsible unit of its open cases and mark them dispatched."""

    def run() -> None:
        from patrol.office.dispatch import write_dispatch

        settings, store = _open(config, db)
        with store:
            res = write_dispatch(store, out, settings, unit=unit)
        for p in res.sheets:
            typer.echo(str(p))
        typer.echo(f"{res.cases} open case(s) on {len(res.sheets) // 2} sheet(s); {len(res.dispatched)} newly dispatched; index {res.index}")

    guarded(run)


def parse_since(text: str | None) -> datetime | None:
    """``--since YYYY-MM-DD`` (or an ISO date-time) -> aware UTC datetime; ConfigError naming the option."""
    from patrol.errors import ConfigError

    if text is None:
        return None
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise ConfigError(f"--since {text!r}: expected a date such as 2026-11-01") from e
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


@app.command("stats")
def stats_cmd(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write (charts inline, works offline).")] = Path("stats.html"),
    since: Annotated[str | None, typer.Option("--since", help="Only cases opened on or after this date (YYYY-MM-DD).")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write the city's statistics as one offline HTML page of charts (opened/closed, time to fix, overdue, reviews)."""

    def run() -> None:
        from patrol.office.stats_page import write_stats_page

        start = parse_since(since)
        settings, store = _open(config, db)
        with store:
            path = write_stats_page(store, out, settings, since=start)
        typer.echo(str(path))

    guarded(run)


@app.command("serve")
def serve_cmd(
    db: DbOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default; others need --token).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="PATROL_SERVE_TOKEN", help="Access token (>= 16 characters); required off loopback."),
    ] = None,
    media: Annotated[
        list[Path], typer.Option("--media", help="Extra folder whose images may be shown (repeatable), e.g. report evidence.")
    ] = [],  # noqa: B006 - typer needs a literal default
    config: ConfigOpt = None,
) -> None:
    """Serve the case board as a local web app where reviewers record reviews (localhost, CSRF-protected)."""

    def run() -> None:
        from patrol.errors import ConfigError
        from patrol.serve.app import ServeConfig, run_server
        from patrol.store import open_store

        settings = load(config)
        url = db or settings.store.url
        open_store(url, create=False).close()  # a missing database is one clear line, before listening
        for m in media:
            if not m.is_dir():
                raise ConfigError(f"--media {m}: not a folder")
        cfg = ServeConfig(db_url=url, host=host, port=port, token=token, media_dirs=tuple(m.resolve() for m in media),
                          overdue_days=float(settings.cases.overdue_days))
        try:
            run_server(cfg, log=lambda s: typer.echo(s, err=True))
        except OSError as e:
            raise ConfigError(f"--host {host} --port {port}: cannot listen: {e.strerror or e}") from e

    guarded(run)
