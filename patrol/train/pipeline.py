"""`patrol train` end to end: sources -> tile dataset -> training -> ONNX -> evaluation -> model card.

``collect_sources`` recognises each data folder by its layout; ``run_job`` does the rest and writes
``<out>/patrol.onnx``, ``<out>/MODEL_CARD.md`` and ``<out>/metrics.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from patrol.detect.base import CLASSES
from patrol.errors import ConfigError, InputError
from patrol.train.card import CardData, EvalBlock, render_card
from patrol.train.dataset import TileSettings, build_dataset
from patrol.train.evaluate import detect_images, score_class, small_recall
from patrol.train.judge import class_rows, judgements, speed_notes
from patrol.train.labels import (
    LabelledImage,
    read_aerial_cars,
    read_held_out_photos,
    read_uavpdd,
    read_yolo_folder,
)
from patrol.train.mining import SOURCE_HARD_NEGATIVES
from patrol.train.operating import choose_operating_points, count_false_alarms
from patrol.train.road_damage import (
    RDD_DRONE_RESCALE,
    is_test_group,
    is_voc_folder,
    read_rdd2022,
    rescale_images,
)
from patrol.train.tiles import split_groups

REPO_ROOT = Path(__file__).resolve().parents[2]
# Held out whole, so val measures videos, streets and photos the model never saw.
DEFAULT_VAL_GROUPS: tuple[str, ...] = (
    "video:DJI-00760",
    "munich:MOS",
    "uavpdd:lr_00395",
    "uavpdd:tb_00067",
)
# Of the five partly labelled full DJI photos, these two give hard-negative crops (their manholes, trees,
# kerbs and pedestrians) and are no longer scored; DJI_0019, DJI_0022 and DJI_0031 stay held out.
MINED_PHOTOS: tuple[str, ...] = ("DJI_0010", "DJI_0012")
VERIFY_FIXTURE = REPO_ROOT / "tests" / "verify" / "fixtures" / "dji_0019_0031_cars.json"


def source_kind(folder: Path) -> str:
    """What a data folder holds: aerial-cars | road-damage-uavpdd | sim | yolo. InputError if none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a folder")
    if (folder / "aerial.names").is_file():
        return "aerial-cars"
    if (folder / "samples_manifest.json").is_file() and (folder / "annotations").is_dir():
        return "road-damage-uavpdd"
    if is_voc_folder(folder):
        return "road-damage-rdd2022"
    if (folder / "truth.json").is_file() or any(folder.glob("*/truth.json")):
        return "sim"
    if any(folder.rglob("*.txt")):
        return "yolo"
    raise InputError(folder, "no labels found (expected YOLO .txt next to images, aerial.names, VOC annotations/ or a sim flight)")


def collect_sources(
    folders: Sequence[Path], sim_flight_frames: int | None = None, rescale_dir: Path | None = None
) -> list[LabelledImage]:
    """Labelled images of every folder, each read by the reader its layout calls for.
    ``sim_flight_frames``: evenly spaced frames kept from each sim flight (None = all).
    ``rescale_dir``: where RDD2022 images are written resized to patrol GSD (None = native scale)."""
    out: list[LabelledImage] = []
    for folder in folders:
        kind = source_kind(folder)
        if kind == "aerial-cars":
            out += read_aerial_cars(folder)
        elif kind == "road-damage-uavpdd":
            out += read_uavpdd(folder)
        elif kind == "road-damage-rdd2022":
            rdd = read_rdd2022(folder)
            out += rescale_images(rdd, RDD_DRONE_RESCALE, rescale_dir) if rescale_dir is not None and rdd else rdd
        elif kind == "sim":
            from patrol.train.sim_source import read_sim_flights

            out += read_sim_flights(folder, sim_flight_frames)
        else:
            out += read_yolo_folder(folder, source=Path(folder).name or "user")
    return out


@dataclass(frozen=True)
class TrainJob:
    data: tuple[Path, ...]
    out_dir: Path
    epochs: int = 30
    time_min: float | None = None
    imgsz: int = 320
    init_weights: Path | None = None
    architecture: str = "yolov8s.yaml"
    val_groups: tuple[str, ...] = DEFAULT_VAL_GROUPS
    val_fraction: float = 0.2
    batch: int = 16
    device: str = "cpu"
    workers: int = 1
    sim_worlds: int = 0  # synthetic world rasters to cut tiles from (needs patrol.sim)
    sim_tiles_per_world: int = 200
    sim_flight_frames: int | None = 6
    eval_data: tuple[Path, ...] = ()  # labelled folders only evaluated (never trained on)
    tiles: TileSettings = field(
        default_factory=lambda: TileSettings(train_val_tiles=64, max_tiles_per_image={"sim": 40})
    )
    extra_images: tuple[LabelledImage, ...] = ()
    oversample: tuple[tuple[str, int], ...] = ()  # (source, repeats): its train tiles this many times per epoch
    notes: tuple[str, ...] = ()  # extra lines for the card's Training section (e.g. how this run continued another)
    mine_with: Path | None = None  # current ONNX model: mine hard negatives and pseudo-labels before training
    resume: bool = False  # continue the interrupted run in out_dir (its dataset and last.pt), then finish
    finish_only: bool = False  # no training: export, evaluate and write the card from out_dir's weights

    def __post_init__(self) -> None:
        if not self.data and not self.sim_worlds and not self.extra_images:
            raise ConfigError("nothing to train on: give --data folders and/or --sim-worlds")
        if self.time_min is not None and self.time_min <= 0:
            raise ConfigError(f"--time-min must be > 0, got {self.time_min}")


def _eval_block(title, description, pairs, confidence: dict[str, float] | None, classes=CLASSES, notes=()) -> EvalBlock:
    scores = tuple(score_class(pairs, c, None if confidence is None else confidence[c]) for c in classes)
    return EvalBlock(title, description, len(pairs), scores, tuple(notes))


def run_job(job: TrainJob, log=print) -> dict:
    """Build the dataset, train, export, evaluate, write the card. Returns the metrics dict."""
    from patrol.train.recipe import TrainSettings, train

    out = Path(job.out_dir)
    if job.resume or job.finish_only:
        return _continue(job, log)
    out.mkdir(parents=True, exist_ok=True)
    images = collect_sources(job.data, job.sim_flight_frames, out / "rescaled") + list(job.extra_images)
    held_test = [im for im in images if is_test_group(im.group)]
    images = [im for im in images if not is_test_group(im.group)]
    if held_test:
        log(f"{len(held_test)} images held out as the test split (never trained on, never tuned on)")
    if job.sim_worlds:
        from patrol.train.sim_source import sim_world_images

        images += sim_world_images(
            job.sim_worlds, out / "sim-tiles", job.sim_tiles_per_world, job.tiles.tile_px, log=log
        )
    if not images:
        raise InputError(job.data[0] if job.data else out, "no labelled images found")
    split = split_by_source(images, job.val_fraction, job.tiles.seed, job.val_groups)
    mined: dict[str, int] = {}
    if job.mine_with is not None:
        images, mined = _mine(job, images, split, out, log)
        split |= {im.group: "train" for im in images if im.source == SOURCE_HARD_NEGATIVES}
    log(f"{len(images)} labelled source images; building tiles in {out / 'dataset'}")
    ds = build_dataset(images, out / "dataset", job.tiles, split=split)
    log(f"tiles: {ds.tiles}; boxes: {ds.objects}")
    if job.oversample:
        from patrol.train.dataset import oversample_train

        lst, counts = oversample_train(ds.data_yaml, dict(job.oversample))
        log(f"train list {lst}: " + ", ".join(f"{s} x{n} ({counts[s]} tiles)" for s, n in job.oversample))
    settings = TrainSettings(
        data_yaml=ds.data_yaml,
        out_dir=out / "runs",
        name="train",
        architecture=job.architecture,
        init_weights=job.init_weights,
        epochs=job.epochs,
        time_h=None if job.time_min is None else job.time_min / 60.0,
        imgsz=job.imgsz,
        batch=job.batch,
        device=job.device,
        workers=job.workers,
    )
    result = train(settings)
    log(f"trained {result.epochs_done} epochs in {result.seconds / 60:.1f} min -> {result.last_pt}")
    return finish(job, ds, images, result.last_pt, result.epochs_done, result.seconds, result.transferred, log)


def _continue(job: TrainJob, log=print) -> dict:
    """``--resume``: continue the interrupted run in ``out_dir`` on its own dataset; ``--finish-only``:
    only export, evaluate and write the card. Either way the card is built as after a full run."""
    from patrol.train.recipe import TrainSettings, epochs_done, train

    out = Path(job.out_dir)
    last = out / "runs" / "train" / "weights" / "last.pt"
    if not last.is_file() or not (out / "dataset" / "manifest.json").is_file():
        raise ConfigError(f"{out}: no interrupted run here (needs runs/train/weights/last.pt and dataset/manifest.json)")
    if job.finish_only:
        log(f"finishing {last} (no training)")
        return finish_from_dir(job, last, epochs_done(last.parent.parent / "results.csv"), _train_seconds(last.parent.parent), "", log)
    settings = TrainSettings(
        data_yaml=out / "dataset" / "data.yaml", out_dir=out / "runs", resume_from=last, device=job.device,
        workers=job.workers, time_h=None if job.time_min is None else job.time_min / 60.0,
    )
    result = train(settings)
    log(f"resumed run now at {result.epochs_done} epochs -> {result.last_pt}")
    return finish_from_dir(job, result.last_pt, result.epochs_done, _train_seconds(result.run_dir), result.transferred, log)


def _train_seconds(run_dir: Path) -> float:
    """Training time recorded by ultralytics (results.csv ``time`` column, cumulative seconds); 0 if absent."""
    import csv

    path = run_dir / "results.csv"
    if not path.is_file():
        return 0.0
    with path.open(newline="", encoding="utf-8") as f:
        rows = [{k.strip(): v for k, v in r.items()} for r in csv.DictReader(f)]
    try:
        return float(rows[-1]["time"]) if rows else 0.0
    except (KeyError, ValueError):
        return 0.0


def split_by_source(images: Sequence[LabelledImage], val_fraction: float, seed: int, forced_val: Sequence[str]) -> dict[str, str]:
    """Group -> "train"/"val", split per source (what ``build_dataset`` does when given no split)."""
    by_source: dict[str, set[str]] = {}
    for im in images:
        by_source.setdefault(im.source, set()).add(im.group)
    split: dict[str, str] = {}
    for groups in by_source.values():
        split.update(split_groups(groups, val_fraction, seed, forced_val))
    return split


def _mine(job: TrainJob, images: list[LabelledImage], split: dict[str, str], out: Path, log) -> tuple[list[LabelledImage], dict[str, int]]:
    """Pseudo-labels and hard-negative crops from the current model, on train-split real images only."""
    from patrol.train.mining import LABELLED_CLASSES, MiningSettings, mine

    assert job.mine_with is not None
    real_train = [im for im in images if im.source in LABELLED_CLASSES and split.get(im.group) == "train"]
    rest = [im for im in images if not (im.source in LABELLED_CLASSES and split.get(im.group) == "train")]
    log(f"mining {len(real_train)} real train images with {job.mine_with}")
    folder = next((Path(d) for d in job.data if source_kind(Path(d)) == "aerial-cars"), None)
    photos = read_held_out_photos(folder, MINED_PHOTOS) if folder is not None else []
    settings = MiningSettings(Path(job.mine_with), crop_px=job.imgsz)
    labelled, crops, counts = mine(real_train, settings, out / "mined", log, crops_only=photos)
    return rest + labelled + crops, counts


def finish(job: TrainJob, ds, images, weights: Path, epochs: int, seconds: float, transferred: str, log=print) -> dict:
    """Export, evaluate on val images (full frames, tiled) and held-out photos, write card + metrics."""
    from patrol.detect.onnx import OnnxDetector
    from patrol.detect.tiling import TilePlan
    from patrol.train.export import add_metadata, confidence_metadata, export_onnx

    out = Path(job.out_dir)
    onnx_path = export_onnx(weights, out / "patrol.onnx", imgsz=job.imgsz)
    detector = OnnxDetector(onnx_path, confidence=0.05, iou=0.5)
    plan = TilePlan(tile_px=job.imgsz, overlap_px=64, iou=0.5, ios=0.7)
    val_images = [im for im in images if ds.groups.get(im.group) == "val"]
    by_source: dict[str, list[LabelledImage]] = {}
    for im in val_images:
        by_source.setdefault(im.source, []).append(im)
    pairs_by_source = {s: detect_images(ims, detector, plan) for s, ims in sorted(by_source.items())}
    # The operating point per class, from real val where the class has real labels, and never above the
    # false-alarm bound on real frames known to hold none of it (patrol.train.operating).
    points = choose_operating_points(pairs_by_source)
    confidence = {c: p.confidence for c, p in points.items()}
    default_conf = confidence.get("vehicle", 0.5)
    evals: list[EvalBlock] = []
    titles = {
        "aerial-cars": ("Real: aerial-cars val", "DJI video frames of a video never trained on (DJI-00760, 1920x1080) and the Munich KIT AIS intersection sequence (MOS74-78)"),
        "road-damage-uavpdd": ("Real: UAV-PDD2023 val", "nadir pavement photos (1280x960) from original photos never trained on"),
        "sim": ("Synthetic: patrol.sim val", "320 px crops of the held-out sim city's world raster (random scale 0.02-0.10 m/px, rotation, colour)"),
    }
    for source, pairs in pairs_by_source.items():
        title, desc = titles.get(source, (f"{source} val", "held-out images of this source"))
        classes = _present_classes(pairs)
        evals.append(_eval_block(title, desc, pairs, confidence, classes))
    for folder in job.eval_data:
        extra = collect_sources([folder], 1)  # one frame per flight: a 4000x3000 frame is ~190 tiles
        if extra:
            src = extra[0].source
            title, desc = EVAL_TITLES.get(src, (f"{Path(folder).name}", "labelled images never trained on"))
            pairs = detect_images(extra, detector, plan)
            evals.append(_eval_block(title, desc, pairs, confidence, _present_classes(pairs)))
    metrics: dict = {"confidence": confidence, "evals": {}, "operating_points": {c: dataclasses.asdict(p) for c, p in points.items()}}
    test = _test_split_eval(job, detector, plan, confidence)
    if test is not None:
        evals.append(test)
    held = _held_out_photo_eval(job, detector, plan, confidence)
    if held is not None:
        evals.append(held)
    for b in evals:
        metrics["evals"][b.title] = [dataclasses.asdict(s) for s in b.scores]  # curve included
    add_metadata(
        onnx_path,
        confidence_metadata(confidence, default_conf)
        | {"description": "patrol aerial detector (vehicle, vendor_stall, road_damage, garbage); see MODEL_CARD.md",
           "patrol_tile_px": str(job.imgsz)},
    )
    sources = tuple(sorted({im.source for im in images}))
    card = CardData(
        model_file=onnx_path.name,
        classes=CLASSES,
        architecture=job.architecture.removesuffix(".yaml"),
        init_note=(f"initialised from {job.init_weights.name} ({transferred} transferred)" if job.init_weights else "trained from scratch"),
        sources=sources,
        tile_px=job.imgsz,
        stride_px=job.tiles.stride_px,
        scales=job.tiles.scales,
        tiles=ds.tiles,
        objects=ds.objects,
        val_groups=tuple(g for g, s in ds.groups.items() if s == "val"),
        epochs=epochs,
        train_minutes=seconds / 60,
        hardware=f"{platform.machine()} CPU, {os.cpu_count()} cores" if job.device == "cpu" else job.device,
        confidence=confidence,
        default_confidence=default_conf,
        confidence_notes={c: p.chosen_on for c, p in points.items()},
        class_rows=class_rows(evals, points, images, ds.groups),
        evals=tuple(evals),
        extra_notes=speed_notes(seconds, epochs, ds.tiles.get("train", 0))
        + tuple(f"train tiles of {s} listed {n} times per epoch (oversampled)" for s, n in job.oversample)
        + job.notes,
        good_for=tuple(judgements(evals, ds.objects, images, ds.groups)[0]),
        not_good_for=tuple(judgements(evals, ds.objects, images, ds.groups)[1]),
    )
    (out / "MODEL_CARD.md").write_text(render_card(card), encoding="utf-8")
    metrics |= {"epochs": epochs, "train_minutes": seconds / 60, "tiles": ds.tiles, "objects": ds.objects}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n", encoding="utf-8")
    log(f"wrote {onnx_path}, {out / 'MODEL_CARD.md'}")
    return metrics


EVAL_TITLES = {
    "sim": ("Synthetic: full flight frames of a held-out city",
            "4000x3000 rendered frames (nadir lawnmower and oblique) of sim city 1001, whose world crops are the sim val split"),
}


def finish_from_dir(job: TrainJob, weights: Path, epochs: int, seconds: float, transferred: str, log=print) -> dict:
    """Redo export, evaluation and card from a finished run folder (dataset/ and the weights), without
    re-rendering synthetic worlds: their val crops are read back from the val tiles."""
    from patrol.train.dataset import DatasetSummary
    from patrol.train.labels import LabelledBox, parse_yolo_labels

    out = Path(job.out_dir)
    manifest = json.loads((out / "dataset" / "manifest.json").read_text(encoding="utf-8"))
    ds = DatasetSummary(out / "dataset" / "data.yaml", {}, manifest["tiles"], manifest["objects"], manifest["groups"])
    images = [im for im in collect_sources(job.data, job.sim_flight_frames, out / "rescaled") if not is_test_group(im.group)]
    for crop in sorted((out / "mined").glob("*__fa*.jpg")):  # the hard-negative crops it was trained on
        images.append(LabelledImage(crop, (job.imgsz, job.imgsz), (), f"hardneg:{crop.name}", SOURCE_HARD_NEGATIVES))
    # native-scale tiles only: a world crop is already at a random scale, its 0.5 copy would count twice
    for tile in sorted((out / "dataset" / "images" / "val").glob("sim__w*__s100_x0_y0.jpg")):
        label = out / "dataset" / "labels" / "val" / (tile.stem + ".txt")
        boxes = parse_yolo_labels(label.read_text(encoding="utf-8"), (job.imgsz, job.imgsz), list(CLASSES), {c: c for c in CLASSES})
        seed = tile.stem.split("__")[1].split("_")[0].removeprefix("w")
        images.append(LabelledImage(tile, (job.imgsz, job.imgsz), tuple(LabelledBox(b.bbox_xyxy_px, b.class_name) for b in boxes),
                                    f"simworld:{seed}", "sim"))
    return finish(job, ds, images, weights, epochs, seconds, transferred, log)


def _test_split_eval(job: TrainJob, detector, plan, confidence) -> EvalBlock | None:
    """The RDD2022 test tenth (never trained on, never used to choose a confidence), at patrol GSD."""
    test = [im for im in collect_sources(job.data, 1, Path(job.out_dir) / "rescaled") if is_test_group(im.group)]
    if not test:
        return None
    pairs = detect_images(test, detector, plan)
    fa = {c: count_false_alarms(pairs, c, confidence[c]) for c in ("vendor_stall", "garbage")}
    notes = (f"false alarms there (no stall or garbage on these roads): vendor_stall {fa['vendor_stall']}, garbage {fa['garbage']}",)
    return _eval_block("Real: RDD2022 drone test split",
                       "a tenth of RDD2022 China_Drone's street blocks, held out of training and of choosing the operating point, "
                       "resized like the training images to patrol GSD (factors 0.5-1.0 of ~17 mm/px)",
                       pairs, confidence, ("road_damage",), notes)


def _present_classes(pairs) -> tuple[str, ...]:
    present = {b.class_name for _, truth in pairs for b in truth}
    return tuple(c for c in CLASSES if c in present) or CLASSES


def _held_out_photo_eval(job: TrainJob, detector, plan, confidence) -> EvalBlock | None:
    """Vehicles on the full 4000x2250 oblique DJI photos of aerial-cars (never trained on)."""
    folder = next((Path(d) for d in job.data if source_kind(Path(d)) == "aerial-cars"), None)
    if folder is None:
        return None
    mined = set(MINED_PHOTOS) if job.mine_with is not None else set()
    photos = read_held_out_photos(folder, [s for s in ["DJI_0010", "DJI_0012", "DJI_0022", "DJI_0031"] if s not in mined])
    notes = [f"{'/'.join(p.image_path.stem for p in photos)}: scored with the data set's own labels, which cover only part of "
             "each photo; unlabelled cars count as false positives, so precision is a lower bound."]
    extra = _dji0019_complete(folder)
    if extra is not None:
        photos.append(extra)
        notes.append("DJI_0019: data set labels completed with the hand-labelled parking-lot cars of "
                     "tests/verify/fixtures/dji_0019_0031_cars.json (37 cars).")
    if not photos:
        return None
    pairs = detect_images(photos, detector, plan)
    fa = {c: count_false_alarms(pairs, c, confidence[c]) for c in ("vendor_stall", "road_damage", "garbage")}
    notes.append("false alarms on these photos (streets and plazas with no stall, garbage or road damage labelled): "
                 + ", ".join(f"{c} {n}" for c, n in fa.items()))
    conf = confidence["vehicle"]
    sr, n_small = small_recall(pairs, "vehicle", conf, 64.0)
    notes.append(f"recall on small cars (sqrt of box area <= 64 px, {n_small} cars, mostly DJI_0019/0031) at confidence {conf:.2f}: {sr:.2f}")
    return _eval_block("Real: full-resolution oblique DJI photos (vehicles)",
                       "the five 4000x2250 DJI Mavic Pro photos of aerial-cars, held out of training",
                       pairs, confidence, ("vehicle",), notes)


def _dji0019_complete(folder: Path) -> LabelledImage | None:
    from patrol.train.labels import LabelledBox

    if not VERIFY_FIXTURE.is_file():
        return None
    base = read_held_out_photos(folder, ["DJI_0019"])
    if not base:
        return None
    fx = json.loads(VERIFY_FIXTURE.read_text(encoding="utf-8"))
    boxes = [LabelledBox(tuple(c["before_bbox_xyxy_px"]), "vehicle") for c in fx.get("cars", []) if c.get("before_bbox_xyxy_px")]
    return dataclasses.replace(base[0], boxes=tuple(boxes))
