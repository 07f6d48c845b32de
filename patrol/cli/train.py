"""`patrol train`: build a tile dataset, train a detector, export ONNX and write its model card."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.cli.app import EXIT_OK, app, err, guarded
from patrol.errors import ConfigError


@app.command("train")
def train_cmd(
    data: Annotated[
        list[Path],
        typer.Option(
            "--data",
            help="Labelled folder (repeatable): images with YOLO .txt (+ classes.txt), aerial-cars, UAV-PDD VOC, "
            "or a `patrol sim flight` output.",
        ),
    ] = [],  # noqa: B006 - typer needs a literal default
    out: Annotated[Path, typer.Option("--out", help="Output folder: dataset/, runs/, patrol.onnx, MODEL_CARD.md.")] = Path(
        "train-out"
    ),
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs (a --time-min limit overrides this).")] = 30,
    imgsz: Annotated[int, typer.Option("--imgsz", help="Tile and model input size in pixels.")] = 320,
    time_min: Annotated[
        float | None, typer.Option("--time-min", help="Stop training after this many minutes (epochs re-planned).")
    ] = None,
    init: Annotated[
        Path | None,
        typer.Option("--init", help="Local .pt to start from (e.g. models/patrol.pt); never a bare name. Its own network is trained (--arch is not used); a checkpoint with the same classes carries over whole, class head included."),
    ] = None,
    arch: Annotated[str, typer.Option("--arch", help="ultralytics model yaml, e.g. yolov8s.yaml or yolov8n.yaml (without --init).")] = "yolov8s.yaml",
    val_group: Annotated[
        list[str],
        typer.Option("--val-group", help="Source group held out for validation (repeatable); default: built-in list + 20% of other sources."),
    ] = [],  # noqa: B006
    sim_worlds: Annotated[int, typer.Option("--sim-worlds", help="Synthetic worlds to cut training tiles from.")] = 0,
    sim_crops: Annotated[int, typer.Option("--sim-crops", help="Tiles cut from each synthetic world raster.")] = 150,
    eval_data: Annotated[
        list[Path],
        typer.Option("--eval-data", help="Labelled folder only evaluated, never trained on (repeatable); scored in the card."),
    ] = [],  # noqa: B006
    batch: Annotated[int, typer.Option("--batch", help="Batch size.")] = 16,
    device: Annotated[str, typer.Option("--device", help="cpu, or a CUDA device index such as 0.")] = "cpu",
    oversample: Annotated[
        list[str],
        typer.Option("--oversample", help="SOURCE=N: list that source's train tiles N times per epoch, e.g. aerial-cars=2 (repeatable)."),
    ] = [],  # noqa: B006
    note: Annotated[
        list[str], typer.Option("--note", help="A line for the model card's Training section (repeatable).")
    ] = [],  # noqa: B006
    from_reviews: Annotated[
        str | None,
        typer.Option("--from-reviews", help="Database whose reviewed cases become training data: confirmed as labels, false positives as hard negatives, corrected categories relabelled (split by flight)."),
    ] = None,
    dataset_only: Annotated[
        bool, typer.Option("--dataset-only", help="With --from-reviews: write the review crops and their tile dataset, then stop (no training).")
    ] = False,
    mine_with: Annotated[
        Path | None,
        typer.Option("--mine-with", help="Current ONNX model: before training, its false alarms on real train images (classes the source does not contain) become hard-negative crops, and its confident vehicles on road-damage images become labels."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the interrupted run in --out from its last checkpoint (saved every epoch), on its own dataset; --time-min gives more minutes. Then export, evaluate, card.")
    ] = False,
    finish_only: Annotated[
        bool, typer.Option("--finish-only", help="No training: export, evaluate and write the card from the weights already in --out.")
    ] = False,
) -> None:
    """Train a detector on labelled aerial images (and synthetic ones), export ONNX, write the model card.

    Use it to fine-tune the bundled model on your own labelled footage: --data your_folder --init weights.pt.
    Needs the training extra (bash scripts/setup.sh --train).
    """

    def run() -> None:
        from patrol.train.dataset import TileSettings
        from patrol.train.pipeline import DEFAULT_VAL_GROUPS, TrainJob, run_job

        repeats = []
        for item in oversample:
            source, _, n = item.partition("=")
            if not source or not n.strip().isdigit():
                raise ConfigError(f"--oversample {item!r}: expected SOURCE=N, e.g. aerial-cars=2")
            repeats.append((source.strip(), int(n)))

        extra, notes = (), tuple(note)
        if dataset_only and from_reviews is None:
            raise ConfigError("--dataset-only needs --from-reviews DB")
        if from_reviews is not None:
            from patrol.office.training import build_review_dataset, build_review_images
            from patrol.store import open_store

            with open_store(from_reviews, create=False) as store:
                if dataset_only:
                    rd, ds = build_review_dataset(store, out, crop_px=imgsz)
                    err(f"{rd.note()}; {rd.counts}")
                    err(f"dataset {ds.data_yaml}: tiles {ds.tiles}, boxes {ds.objects}")
                    return
                rd = build_review_images(store, out / "reviews", crop_px=imgsz)
            err(f"{rd.note()}; {rd.counts}")
            extra, notes = rd.images, (*notes, rd.note())

        job = TrainJob(
            data=tuple(data),
            extra_images=tuple(extra),
            out_dir=out,
            epochs=epochs,
            time_min=time_min,
            imgsz=imgsz,
            init_weights=init,
            architecture=arch,
            val_groups=tuple(val_group) or DEFAULT_VAL_GROUPS,
            batch=batch,
            device=device,
            sim_worlds=sim_worlds,
            sim_tiles_per_world=sim_crops,
            eval_data=tuple(eval_data),
            oversample=tuple(repeats),
            notes=notes,
            mine_with=mine_with,
            resume=resume,
            finish_only=finish_only,
            tiles=TileSettings(train_val_tiles=64, max_tiles_per_image={"sim": 40, "road-damage-rdd2022": 1},
                               keep_empty_sources=("hard-negatives", "reviews")),
        )
        run_job(job, log=err)

    guarded(run)
    raise typer.Exit(EXIT_OK)
