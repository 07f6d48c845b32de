"""`patrol verify CASE_ID` and `patrol compare BEFORE AFTER --point LAT,LON`: before/after checks."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from patrol.cli.app import EXIT_INPUT_FAILED, ConfigOpt, DbOpt, JsonOpt, app, err, guarded, load


def _print(v, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(v.to_dict(), indent=1))
        return
    verdict = str(v.verdict) + (f" ({v.inconclusive_reason})" if v.inconclusive_reason else "")
    typer.echo(f"verdict: {verdict}  confidence {v.confidence:.2f}  alignment {v.registration}")
    for r in v.reasons:
        typer.echo(f"  - {r}")
    if v.evidence_path:
        typer.echo(f"evidence: {v.evidence_path}")


def _detector(settings, use: bool):
    """The configured detector at ``[verify] detect_confidence`` (the sensitive threshold a clear
    spot is checked at), or None when not wanted or not loadable (said on stderr): then a clear spot
    is inconclusive, never fixed."""
    if not use:
        return None
    import dataclasses

    from patrol.detect import load_detector
    from patrol.errors import ModelError

    try:
        return load_detector(dataclasses.replace(settings.detect, confidence=settings.verify.detect_confidence))
    except ModelError as e:
        err(f"warning: cannot load the detector ({e}); verifying without re-running it")
        return None


def _point(text: str) -> tuple[float, float]:
    from patrol.errors import ConfigError

    try:
        lat_s, lon_s = text.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError as e:
        raise ConfigError(f"--point must be LAT,LON in degrees (e.g. 53.9012,27.5567), got {text!r}") from e
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ConfigError(f"--point out of range: {text!r}")
    return lat, lon


@app.command("verify")
def verify_cmd(
    case_id: Annotated[int, typer.Argument(help="The case to verify (see `patrol cases list`).")],
    flight: Annotated[
        str | None, typer.Option("--flight", help="Verify on this flight (default: the flight that queued it, else the latest that shows the spot).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the evidence image (before | after | difference).")] = None,
    rerun_detector: Annotated[
        bool, typer.Option("--detector/--no-detector", help="Re-run the detector around the spot (default) or use the flight's stored detections.")
    ] = True,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the verdict without saving it or changing the case.")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify one case before/after: align the after frame to the case's evidence, compare, re-detect.

    Saves the verdict and moves the case to fixed or still_present (inconclusive leaves it open,
    flagged for review). Exit 1 when the verification is inconclusive.
    """

    def run():
        from patrol.store import open_store
        from patrol.verify.adhoc import verify_case_id

        settings = load(config)
        with open_store(db or settings.store.url, create=False) as store:
            det = _detector(settings, rerun_detector)
            return verify_case_id(store, case_id, settings, flight_id=flight, detector=det, evidence_dir=out, save=not dry_run)

    v = guarded(run)
    _print(v, as_json)
    if str(v.verdict) == "inconclusive":
        raise typer.Exit(EXIT_INPUT_FAILED)


@app.command("compare")
def compare_cmd(
    before: Annotated[Path, typer.Argument(help="Before photo (geotagged, with drone pose metadata).")],
    after: Annotated[Path, typer.Argument(help="After photo of the same spot.")],
    point: Annotated[str, typer.Option("--point", help="The spot as LAT,LON in degrees.")],
    radius_m: Annotated[
        float, typer.Option("--radius-m", min=0.1, help="How far from the point the object may be, metres (without one: the spot's half-size).")
    ] = 2.5,
    class_name: Annotated[str, typer.Option("--class", help="Detector class of the object at the spot.")] = "vehicle",
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the evidence image compare.jpg.")] = None,
    rerun_detector: Annotated[
        bool, typer.Option("--detector/--no-detector", help="Run the detector (default); without it a clear spot is inconclusive, never fixed.")
    ] = True,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ad-hoc before/after check of a spot in two geotagged photos: fixed, still present or inconclusive.

    The spot is the footprint of the object found at the point in the before photo; "fixed" needs the
    detector to find nothing on it in the after photo.

    Exit 1 when a photo cannot be read or the verification is inconclusive.
    """

    def run():
        from patrol.verify.adhoc import compare_photos

        settings = load(config)
        lat, lon = _point(point)
        det = _detector(settings, rerun_detector)
        ev = (out / "compare.jpg") if out is not None else None
        return compare_photos(before, after, lat, lon, settings, radius_m=radius_m, detector=det, class_name=class_name, evidence_path=ev)

    v = guarded(run)
    _print(v, as_json)
    if str(v.verdict) == "inconclusive":
        raise typer.Exit(EXIT_INPUT_FAILED)
