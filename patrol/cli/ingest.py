"""`patrol ingest` (where every frame was taken and where it looked) and `patrol telemetry` (DJI SRT)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from patrol.cli.app import EXIT_INPUT_FAILED, EXIT_OK, ConfigOpt, JsonOpt, app, err, guarded, load, progress_enabled

TABLE_HEADER = ["file", "time", "lat", "lon", "rel alt m", "gimbal yaw", "pitch", "GSD cm/px", "area m2"]


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _row(s) -> list[str]:
    m = s.meta
    name = s.path if m is None or m.frame_index is None else f"{s.path}@{m.video_time_s:.1f}s"
    if m is None:
        return [name, "-", "-", "-", "-", "-", "-", "-", "-"]
    return [
        name,
        m.time.isoformat(sep=" ", timespec="seconds") if m.time else "-",
        _fmt(m.lat_deg, ".7f"),
        _fmt(m.lon_deg, ".7f"),
        _fmt(m.rel_alt_m, ".1f"),
        _fmt(m.gimbal_yaw_deg, ".1f"),
        _fmt(m.gimbal_pitch_deg, ".1f"),
        _fmt(s.gsd_m * 100 if s.gsd_m is not None else None, ".2f"),
        _fmt(s.footprint_area_m2, ".0f"),
    ]


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(TABLE_HEADER)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*TABLE_HEADER), *(fmt.format(*r) for r in rows)])


def _progress(items, after_s: float = 1.0, every_s: float = 0.2):
    """Pass ``items`` through, counting them on stderr once the run has lasted ``after_s``."""
    import sys
    import time

    t0 = last = time.monotonic()
    n = 0
    shown = False
    for x in items:
        n += 1
        now = time.monotonic()
        if now - t0 >= after_s and now - last >= every_s:
            sys.stderr.write(f"\ringest: {n} frames")
            sys.stderr.flush()
            last, shown = now, True
        yield x
    if shown:
        sys.stderr.write(f"\ringest: {n} frames\n")


@app.command("ingest")
def ingest_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Photos, videos (with a sidecar .SRT) or folders (recursive).")],
    json_out: JsonOpt = False,
    geojson: Annotated[
        Path | None, typer.Option("--geojson", help="Write camera points and footprints to this GeoJSON file.")
    ] = None,
    interval: Annotated[
        float | None, typer.Option("--interval", help="Seconds between sampled video frames (default from config).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Processes for reading many photos (0 = one per CPU).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Read where every frame was taken and where it looked: position, height, gimbal angles, GSD, footprint.

    Prints a table (or one JSON object per frame with --json). A file that cannot be read gives one
    line on stderr and the run goes on; the exit code is then 1.
    """

    def run() -> int:
        from patrol.ingest.summary import ingest, write_geojson

        overrides: dict = {}
        if interval is not None:
            overrides.setdefault("ingest", {})["video_interval_s"] = interval
        if workers is not None:
            overrides.setdefault("ingest", {})["workers"] = workers
        settings = load(config, overrides or None)
        rows = []
        failed = 0
        show = progress_enabled() and not json_out
        it = ingest([str(p) for p in paths], settings)
        items = _progress(it) if show else it
        for s in items:
            rows.append(s)
            if s.failed:
                failed += 1
                err(f"{s.path}: {s.error}")
            if json_out:
                typer.echo(json.dumps(s.to_json(), ensure_ascii=False))
        if not json_out:
            typer.echo(_table([_row(s) for s in rows]))
            for s in rows:
                if not s.failed and s.note:
                    typer.echo(f"note: {s.path}: {s.note}")
        if geojson is not None:
            write_geojson(rows, geojson)
        return EXIT_INPUT_FAILED if failed else EXIT_OK

    code = guarded(run)
    raise typer.Exit(code)


@app.command("telemetry")
def telemetry_cmd(
    srt: Annotated[Path, typer.Argument(help="A DJI .SRT telemetry file.")],
    json_out: JsonOpt = False,
) -> None:
    """Parse a DJI video telemetry (.SRT) file: one sample per subtitle block.

    With --json, one JSON object per sample. Damaged or truncated blocks are reported on stderr
    (exit code 1); an empty or unreadable file is an error (exit code 1).
    """

    def run() -> int:
        from patrol.ingest.srt import read_srt

        t = read_srt(srt)
        for w in t.warnings:
            err(f"{srt}: {w}")
        if json_out:
            for s in t.samples:
                typer.echo(json.dumps(s.to_dict(), ensure_ascii=False))
        else:
            header = ["#", "start s", "time", "lat", "lon", "rel alt m", "abs alt m", "gimbal yaw", "pitch"]
            rows = [
                [
                    str(s.index),
                    _fmt(s.start_s, ".3f"),
                    s.time.isoformat(sep=" ", timespec="milliseconds") if s.time else "-",
                    _fmt(s.lat_deg, ".6f"),
                    _fmt(s.lon_deg, ".6f"),
                    _fmt(s.rel_alt_m, ".1f"),
                    _fmt(s.abs_alt_m, ".1f"),
                    _fmt(s.gimbal_yaw_deg, ".1f"),
                    _fmt(s.gimbal_pitch_deg, ".1f"),
                ]
                for s in t.samples
            ]
            widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
            fmt = "  ".join(f"{{:<{w}}}" for w in widths)
            typer.echo("\n".join([fmt.format(*header), *(fmt.format(*r) for r in rows)]))
            order = f", legacy GPS tuples read as {t.latlon_order} ({t.order_evidence})" if t.latlon_order else ""
            typer.echo(f"{len(t.samples)} samples, {len(t.positioned)} with a position{order}")
        return EXIT_INPUT_FAILED if t.warnings else EXIT_OK

    raise typer.Exit(guarded(run))
