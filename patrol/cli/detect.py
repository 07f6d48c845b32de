"""`patrol detect` (tiled detection on photos, with ground positions) and `patrol eval` (AP50, P/R)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from patrol.cli.app import (
    EXIT_INPUT_FAILED,
    EXIT_OK,
    ConfigOpt,
    JsonOpt,
    app,
    err,
    guarded,
    load,
    progress_enabled,
)

ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Model file (.onnx; .pt with --backend ultralytics). Default: models/patrol.onnx.")
]
BackendOpt = Annotated[
    str | None, typer.Option("--backend", help="Detector backend: onnx (default, no torch) or ultralytics.")
]
ConfidenceOpt = Annotated[
    float | None,
    typer.Option(
        "--confidence", min=0.0, max=1.0, help="Score threshold for every class (default: the model's operating point per class)."
    ),
]


def _setup(fn):
    """guarded(), but a model that cannot be loaded is a usage error (exit 2): nothing was done."""
    from patrol.errors import ConfigError, ModelError

    def inner():
        try:
            return fn()
        except ModelError as e:
            raise ConfigError(str(e)) from e

    return guarded(inner)


def _overrides(model: str | None, backend: str | None, confidence: float | None, tile: int | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if model is not None:
        d["model"] = model
    if backend is not None:
        d["backend"] = backend
    if confidence is not None:
        d["confidence"] = confidence
    if tile is not None:
        d["tile_px"] = tile
    return {"detect": d} if d else {}


def _frame_json(r) -> dict[str, Any]:
    dets = []
    for i, d in enumerate(r.detections):
        g = r.ground[i] if i < len(r.ground) else None
        dets.append(
            {
                "class_name": d.class_name,
                "score": round(d.score, 4),
                "bbox_xyxy_px": [round(v, 1) for v in d.bbox_xyxy_px],
                "lat_deg": None if g is None else round(g.lat_deg, 7),
                "lon_deg": None if g is None else round(g.lon_deg, 7),
            }
        )
    return {
        "path": r.path,
        "size_wh": list(r.size_wh),
        "tiles_total": r.tiles_total,
        "tiles_run": r.tiles_run,
        "gsd_m": None if r.gsd_m is None else round(r.gsd_m, 4),
        "note": r.note,
        "detections": dets,
    }


def _share(run: int, total: int) -> str:
    return f" ({100.0 * run / total:.0f}%)" if total else ""


def _frame_text(r) -> str:
    head = f"{r.path}  {r.size_wh[0]}x{r.size_wh[1]}  tiles {r.tiles_run}/{r.tiles_total}{_share(r.tiles_run, r.tiles_total)}  {len(r.detections)} detections"
    if r.note:
        head += f"  ({r.note})"
    lines = [head]
    for i, d in enumerate(r.detections):
        x1, y1, x2, y2 = d.bbox_xyxy_px
        g = r.ground[i] if i < len(r.ground) else None
        where = f"  {g.lat_deg:.7f} {g.lon_deg:.7f}" if g is not None else ""
        lines.append(f"  {d.class_name:<13} {d.score:.2f}  [{x1:.0f} {y1:.0f} {x2:.0f} {y2:.0f}]{where}")
    return "\n".join(lines)


@app.command("detect")
def detect_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Photos or folders of photos (recursive).")],
    json_out: JsonOpt = False,
    model: ModelOpt = None,
    backend: BackendOpt = None,
    zones: Annotated[
        Path | None,
        typer.Option("--zones", help="Zones GeoJSON: on geotagged photos only tiles touching a zone where a class can be a violation run (ROI tiling)."),
    ] = None,
    confidence: ConfidenceOpt = None,
    tile: Annotated[int | None, typer.Option("--tile", min=32, help="Tile size in px (default: the model's input size).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Detect vehicles, vendor stalls, road damage and garbage on photos, tile by tile at native resolution.

    Prints each photo's detections (class, score, pixel box) and, when the photo is geotagged (GPS +
    height + gimbal pose), each detection's position on the ground. With --zones, each pass runs only the
    tiles that see a zone where one of its classes can be a violation under the rules ([rules]); a class
    that counts anywhere ("*") runs its pass whole. Prints the share of tiles run. A bad file is reported
    on stderr and skipped (exit 1 at the end).
    """

    def setup():
        from patrol.detect.engine import roi_setup
        from patrol.detect.registry import load_detector
        from patrol.zones import check_rules, load_zones, roi_kinds_by_class

        settings = load(config, _overrides(model, backend, confidence, tile))
        check_rules(settings.rules.rules)
        roi = None
        class_kinds = roi_kinds_by_class(settings.rules.rules)
        if zones is not None:
            rs = roi_setup(load_zones(zones), settings.rules.rules, settings.detect.use_zones_roi)
            roi, class_kinds = rs.roi, rs.class_kinds
            anywhere = sorted(c for c, k in class_kinds.items() if k is None)
            if rs.reason:
                err(f"note: {zones}: {rs.reason}, so every tile runs (no ROI skipping)")
            elif anywhere:
                err(f"note: {zones}: the rules count {', '.join(anywhere)} anywhere (\"*\"): "
                    "every tile of a pass looking for it runs")
        return settings, load_detector(settings.detect), roi, class_kinds

    settings, detector, roi, class_kinds = _setup(setup)
    from patrol.detect.engine import detect_file, expand_paths
    from patrol.errors import InputError

    items = list(expand_paths(paths))
    failed = 0
    results = []
    tiles = [0, 0]  # run, total
    for item in _bar(items, "detect", show=not json_out):
        if isinstance(item, InputError):
            err(f"error: {item}")
            failed += 1
            continue
        try:
            r = detect_file(item, detector, settings, roi, class_kinds)
        except InputError as e:
            err(f"error: {e}")
            failed += 1
            continue
        tiles[0] += r.tiles_run
        tiles[1] += r.tiles_total
        if json_out:
            results.append(_frame_json(r))
        else:
            typer.echo(_frame_text(r))
    if json_out:
        typer.echo(json.dumps(results, indent=2))
    elif tiles[1]:
        typer.echo(f"tiles run: {tiles[0]} of {tiles[1]}{_share(*tiles)}")
    raise typer.Exit(EXIT_INPUT_FAILED if failed else EXIT_OK)


def _bar(items, label: str, show: bool = True):
    """Progress on stderr, only for a person at a terminal and only for more than one item."""
    from patrol.progress import iter_progress

    return iter_progress(items, label, show and progress_enabled())


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


@app.command("eval")
def eval_cmd(
    data: Annotated[Path, typer.Option("--data", help="Labelled folder: images with YOLO .txt or Pascal VOC .xml labels.")],
    model: ModelOpt = None,
    backend: BackendOpt = None,
    class_map: Annotated[
        str | None,
        typer.Option(
            "--class-map",
            help="Source label -> patrol class: a JSON/TOML file or 'car=vehicle,cyclist=' (empty = ignore). "
            "Default knows aerial-cars and UAV-PDD2023 names.",
        ),
    ] = None,
    confidence: ConfidenceOpt = None,
    negatives: Annotated[
        Path | None,
        typer.Option("--negatives", help="Folder of real frames known to hold no stall, garbage or road damage: count those classes' detections there (false alarms, per class and per 100 frames)."),
    ] = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Score a model on a labelled folder: AP50 per class, and precision/recall at the operating confidence.

    Runs the same tiled inference as `patrol detect` on whole images. Images without a label file are
    skipped; label classes the class map leaves out are listed.
    """

    def setup():
        from patrol.detect.evaluate import parse_class_map

        return load(config, _overrides(model, backend, confidence)), parse_class_map(class_map)

    settings, cmap = guarded(setup)
    from patrol.detect.evaluate import evaluate_model

    errors = []

    def on_error(e) -> None:
        errors.append(e)
        err(f"error: {e}")

    report = _setup(
        lambda: evaluate_model(settings, data, cmap, on_error=on_error, progress=lambda it: _bar(it, "eval", not json_out), negatives=negatives)
    )
    if json_out:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(f"model {report.model}  data {report.data}  images {report.images}  {report.seconds:.1f} s")
        typer.echo(f"{'class':<13} {'labels':>6} {'conf':>5} {'dets':>6} {'AP50':>6} {'P':>6} {'R':>6}")
        for c in report.per_class:
            conf = report.confidence.get(c.class_name, 0.0)
            typer.echo(
                f"{c.class_name:<13} {c.n_gt:>6} {conf:>5.2f} {c.n_pred:>6} {_fmt(c.ap50):>6} {_fmt(c.precision):>6} {_fmt(c.recall):>6}"
            )
        typer.echo(f"mAP50 {_fmt(report.map50)}")
        if report.unmapped:
            typer.echo("left out (not in the class map): " + ", ".join(f"{k} {v}" for k, v in sorted(report.unmapped.items())))
        if report.skipped:
            typer.echo(f"{len(report.skipped)} image(s) without labels skipped")
        neg = report.negatives
        if neg is not None:
            typer.echo(f"false alarms on {neg.images} negative frames ({neg.folder}):")
            for c in neg.classes:
                typer.echo(f"  {c:<13} {neg.false_alarms.get(c, 0):>5}  ({neg.per_100_frames(c):.1f} per 100 frames)")
    raise typer.Exit(EXIT_INPUT_FAILED if errors else EXIT_OK)
