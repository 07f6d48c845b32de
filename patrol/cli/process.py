"""`patrol process FLIGHT` and `patrol nightly --inbox DIR`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from patrol.cli.app import (
    EXIT_INPUT_FAILED,
    EXIT_OK,
    ConfigOpt,
    DbOpt,
    JsonOpt,
    app,
    err,
    guarded,
    load,
    progress_enabled,
)

ZonesOpt = Annotated[
    Path | None, typer.Option("--zones", help="Zones GeoJSON (road, sidewalk, no_parking, no_vending, grid_cell with unit).")
]
DetectorOpt = Annotated[
    str,
    typer.Option(
        "--detector",
        help="onnx (the bundled model, or the one named in the config file), ultralytics (.pt), or truth (simulated flights: "
        "the true boxes from the flight's truth.json, to test later stages without model errors).",
    ),
]


def make_detector(kind: str, settings: Any, paths: list[Path]) -> Any:
    """A zero-argument factory for the chosen detector (loaded only when a flight needs detection)."""
    import dataclasses

    from patrol.errors import ConfigError

    kind = kind.strip().lower()
    if kind == "truth":
        return lambda: _TruthByFolder()
    if kind not in ("onnx", "ultralytics"):
        raise ConfigError(f"--detector: unknown detector {kind!r}; expected onnx, ultralytics or truth")

    def real() -> Any:
        from patrol.detect import load_detector

        return load_detector(dataclasses.replace(settings.detect, backend=kind))

    return real


class _TruthByFolder:
    """The simulator's truth detector, loaded per flight folder on first use (so one factory serves
    every flight of a nightly run). ModelError for a frame outside a simulated flight."""

    def __init__(self) -> None:
        self._by_dir: dict[Path, Any] = {}

    def detect_path(self, path: str | Path, image: Any = None) -> list[Any]:
        from patrol.sim import TruthDetector

        folder = Path(path).resolve().parent
        if folder not in self._by_dir:
            self._by_dir[folder] = TruthDetector.for_paths([path])
        return self._by_dir[folder].detect_path(path, image)

    def detect(self, image: Any) -> list[Any]:
        from patrol.errors import ModelError

        raise ModelError("--detector truth answers by file name only (simulated flights)")


def _settings(config: Path | None, db: str | None) -> Any:
    overrides = {"store": {"url": db}} if db else None
    return load(config, overrides)


@app.command()
def process(
    flight: Annotated[list[Path], typer.Argument(help="The flight: a folder of photos/videos, or files.", show_default=False)],
    zones: ZonesOpt = None,
    db: DbOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the flight's reports (default: no report files).")] = None,
    detector: DetectorOpt = "onnx",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Process one flight: ingest -> detect -> findings -> cases -> verify -> report.

    Re-running a processed flight changes nothing; a run that was killed resumes where it stopped.
    Prints a summary: frames read and failed, detections, findings by category, cases new /
    re-observed / queued for verification. Exit 1 when some frame could not be read.
    """

    def run() -> int:
        from patrol.pipeline import process_flight
        from patrol.progress import StderrProgress
        from patrol.store import open_store
        from patrol.zones import load_zones

        settings = _settings(config, db)
        zs = load_zones(zones)
        det = make_detector(detector, settings, list(flight))
        progress = StderrProgress() if progress_enabled() and not as_json else None
        from patrol.faults import StopFlag, stop_on_signals
        from patrol.route.service import revisit_outcomes

        with open_store(settings.store.url, busy_timeout_s=settings.store.busy_timeout_s) as store, stop_on_signals(StopFlag()) as stop:
            summary = process_flight(list(flight), settings, store, det, out, zones=zs, progress=progress, stop=stop)
            revisits = revisit_outcomes(store, summary.flight_id)
        for f in summary.failures:
            err(f"{f.path}: {f.reason}")
        for w in summary.warnings:
            err(f"warning: {w}")
        if as_json:
            typer.echo(json.dumps({**summary.as_dict(), "revisits": [
                {"route_id": r.route_id, "route": r.route_name, "cases": [[c, o] for c, o in r.case_outcomes]} for r in revisits]}, indent=2))
        else:
            for line in summary.lines():
                typer.echo(line)
            for r in revisits:
                typer.echo(f"  {r.line()}")
            typer.echo(f"  database: {settings.store.url}")
        return EXIT_INPUT_FAILED if summary.frames_failed else EXIT_OK

    code = guarded(run)
    raise typer.Exit(code)


@app.command()
def nightly(
    inbox: Annotated[Path, typer.Option("--inbox", help="Folder whose sub-folders are flights (one folder per flight).")],
    db: DbOpt = None,
    zones: ZonesOpt = None,
    log: Annotated[Path | None, typer.Option("--log", help="Log file to append to (default INBOX/patrol-nightly.log).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Reports go to OUT/<flight folder> (default: no report files).")] = None,
    lock: Annotated[Path | None, typer.Option("--lock", help="Lock file (default INBOX/.patrol-nightly.lock).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="If another run holds the lock, wait for it instead of exiting.")] = False,
    min_age: Annotated[
        float, typer.Option("--min-age", min=0, help="Seconds a folder must be unchanged before it counts as arrived.")
    ] = 60.0,
    detector: DetectorOpt = "onnx",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Process every flight folder in the inbox not processed yet, oldest first.

    One flight's failure is logged and the others go on. A lock file keeps two runs from working at
    once: the second exits with a message (or waits, with --wait). Exit 0 when every flight succeeded,
    1 when some failed. Meant for a systemd timer or cron (see scripts/).
    """

    def run() -> int:
        from patrol.nightly import run_nightly
        from patrol.store import open_store
        from patrol.zones import load_zones

        settings = _settings(config, db)
        zs = load_zones(zones)
        for w in zs.warnings:
            err(f"warning: {w}")
        det = make_detector(detector, settings, [])

        def on_flight(folder: str, summary: Any, error: str | None) -> None:
            if error is not None:
                err(f"{folder}: {error}")
            elif not as_json and summary is not None and not summary.skipped:
                typer.echo(f"processed {folder}: {summary.findings} findings, {summary.cases_new} new cases")

        with open_store(settings.store.url, busy_timeout_s=settings.store.busy_timeout_s) as store:
            result = run_nightly(
                inbox, settings, store, det, out_dir=out, zones=zs, log_path=log, lock_path=lock, wait=wait,
                min_age_s=min_age, progress=None, on_flight=on_flight,
            )
        if result.locked:
            err(result.lines()[0])
            return EXIT_OK
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "processed": [s.as_dict() for s in result.processed],
                        "failed": [[f.folder, f.error] for f in result.failed],
                        "already_done": list(result.already_done),
                        "waiting": list(result.waiting),
                        "log": result.log_path,
                    },
                    indent=2,
                )
            )
        else:
            for line in result.lines():
                typer.echo(line)
        return result.exit_code

    code = guarded(run)
    raise typer.Exit(code)
