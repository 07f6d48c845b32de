"""Build a YOLO tile dataset from labelled source images (real data sets, sim worlds and flights).

Layout written under ``out_dir`` (what ultralytics reads):

    images/{train,val}/*.jpg  labels/{train,val}/*.txt  data.yaml
    val_<source>.txt + data_val_<source>.yaml   one val list per source, for per-source metrics
    manifest.json                               groups, split, tile counts (the model card reads it)

Tiles are cut at native resolution (and at extra ``scales`` when the objects stay big enough), so
training sees what tiled inference sees. Train/val is split by source group (video, street, flight).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from patrol.detect.base import CLASSES
from patrol.errors import ConfigError, InputError
from patrol.train.labels import LabelledImage
from patrol.train.tiles import boxes_in_tile, scale_boxes, split_groups, stable_fraction, tile_grid, yolo_lines


@dataclass(frozen=True)
class TileSettings:
    """How source images become training tiles."""

    tile_px: int = 320
    stride_px: int = 256
    scales: tuple[float, ...] = (1.0, 0.5)  # extra scales only where objects stay >= min_object_px
    min_object_px: float = 12.0
    empty_keep_fraction: float = 0.3  # share of tiles without objects that are kept (train only)
    min_visible: float = 0.4
    seed: int = 0
    jpeg_quality: int = 95
    train_val_tiles: int = 0  # >0: data.yaml validates on a sample of this many val tiles (CPU time)
    max_tiles_per_image: dict[str, int] = field(default_factory=dict)  # source -> cap on train tiles per image and scale
    keep_empty_sources: tuple[str, ...] = ("hard-negatives",)  # sources whose empty tiles are all kept (mined negatives)

    def __post_init__(self) -> None:
        if self.tile_px < 32 or self.stride_px <= 0 or self.stride_px > self.tile_px:
            raise ValueError(f"need tile_px >= 32 and 0 < stride_px <= tile_px, got {self.tile_px}, {self.stride_px}")
        if not self.scales or any(s <= 0 or s > 1 for s in self.scales):
            raise ValueError(f"scales must be in (0, 1], got {self.scales}")
        if not 0 <= self.empty_keep_fraction <= 1:
            raise ValueError(f"empty_keep_fraction must be in [0, 1], got {self.empty_keep_fraction}")


@dataclass(frozen=True)
class DatasetSummary:
    """What was written: the data.yaml path, the per-source val yaml paths and the counts."""

    data_yaml: Path
    val_yamls: dict[str, Path]
    tiles: dict[str, int]  # "train" / "val" -> number of tiles
    objects: dict[str, dict[str, int]]  # split -> class -> boxes
    groups: dict[str, str] = field(default_factory=dict)  # group -> split


def usable_scales(image: LabelledImage, settings: TileSettings) -> tuple[float, ...]:
    """Scales at which this image is tiled: 1.0 always; smaller ones only if the median object's short
    side stays at least ``min_object_px`` (tiny Munich cars are not shrunk further)."""
    if not image.boxes:
        return (1.0,)
    short = statistics.median(
        min(b.bbox_xyxy_px[2] - b.bbox_xyxy_px[0], b.bbox_xyxy_px[3] - b.bbox_xyxy_px[1]) for b in image.boxes
    )
    return tuple(s for s in settings.scales if s == 1.0 or short * s >= settings.min_object_px)


def _write_tile(img, path: Path, quality: int) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise InputError(path, "cannot write tile")


def build_dataset(
    images: Sequence[LabelledImage],
    out_dir: Path,
    settings: TileSettings = TileSettings(),
    val_fraction: float = 0.2,
    forced_val: Iterable[str] = (),
    split: Mapping[str, str] | None = None,
) -> DatasetSummary:
    """Tile ``images`` into a YOLO dataset in ``out_dir`` and return what was written.

    The split is by ``LabelledImage.group``: ``split`` (group -> "train"/"val") if given, else
    ``split_groups`` per source with ``val_fraction`` and ``forced_val``. Raises InputError for an
    unreadable image.
    """
    import cv2

    out_dir = Path(out_dir)
    if split is None:
        split = {}
        by_source: dict[str, set[str]] = {}
        for im in images:
            by_source.setdefault(im.source, set()).add(im.group)
        for groups in by_source.values():
            split.update(split_groups(groups, val_fraction, settings.seed, forced_val))
    tiles = Counter()
    objects: dict[str, Counter] = {"train": Counter(), "val": Counter()}
    val_lists: dict[str, list[str]] = {}
    for im in images:
        part = split.get(im.group, "train")
        full = cv2.imread(str(im.image_path), cv2.IMREAD_COLOR)
        if full is None:
            raise InputError(im.image_path, "not a readable image")
        for scale in usable_scales(im, settings):
            if scale == 1.0:
                img, boxes = full, im.boxes
            else:
                size = (max(1, round(full.shape[1] * scale)), max(1, round(full.shape[0] * scale)))
                img = cv2.resize(full, size, interpolation=cv2.INTER_AREA)
                boxes = scale_boxes(im.boxes, scale)
            h, w = img.shape[:2]
            grid = tile_grid((w, h), settings.tile_px, settings.stride_px)
            cap = settings.max_tiles_per_image.get(im.source, 0)
            if cap and part == "train" and len(grid) > cap:  # big frames: a stable random subset of tiles
                grid = sorted(grid, key=lambda t: stable_fraction(f"{im.image_path}:{scale}:{t}", settings.seed))[:cap]
            for t in grid:
                kept, ambiguous = boxes_in_tile(boxes, t, settings.min_visible)
                name = f"{im.source}__{im.image_path.stem}__s{int(scale * 100)}_x{t[0]}_y{t[1]}"
                if not kept and part == "train" and im.source not in settings.keep_empty_sources:
                    if stable_fraction(name, settings.seed) >= settings.empty_keep_fraction:
                        continue
                crop = img[t[1] : t[3], t[0] : t[2]].copy()
                for ax1, ay1, ax2, ay2 in ambiguous:  # grey out slivers of cut objects
                    crop[int(ay1) : int(ay2) + 1, int(ax1) : int(ax2) + 1] = 114
                tile_path = out_dir / "images" / part / f"{name}.jpg"
                _write_tile(crop, tile_path, settings.jpeg_quality)
                label_path = out_dir / "labels" / part / f"{name}.txt"
                label_path.parent.mkdir(parents=True, exist_ok=True)
                lines = yolo_lines(kept, (t[2] - t[0], t[3] - t[1]), CLASSES)
                label_path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
                tiles[part] += 1
                objects[part].update(b.class_name for b in kept)
                if part == "val":
                    val_lists.setdefault(im.source, []).append(str(tile_path.resolve()))
    return _write_yamls(out_dir, settings, split, dict(tiles), objects, val_lists)


def _yaml(train: str, val: str, root: Path) -> str:
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(CLASSES))
    return f"path: {root.resolve()}\ntrain: {train}\nval: {val}\nnames:\n{names}\n"


def _write_yamls(out_dir, settings, split, tiles, objects, val_lists) -> DatasetSummary:
    if not tiles.get("train"):
        raise InputError(out_dir, "no training tiles were produced (no labelled images in the train split?)")
    val_dir = "images/val" if tiles.get("val") else "images/train"
    if settings.train_val_tiles and tiles.get("val", 0) > settings.train_val_tiles:
        # ultralytics validates during and after training; on a CPU a sample keeps that cheap. The
        # real scores come from tiled inference on the full val images afterwards.
        every = sorted((p for ps in val_lists.values() for p in ps), key=lambda p: stable_fraction(p, settings.seed))
        sample = out_dir / "val_sample.txt"
        sample.write_text("\n".join(sorted(every[: settings.train_val_tiles])) + "\n", encoding="utf-8")
        val_dir = str(sample.resolve())
    data_yaml = out_dir / "data.yaml"
    data_yaml.write_text(_yaml("images/train", val_dir, out_dir), encoding="utf-8")
    val_yamls: dict[str, Path] = {}
    for source, paths in sorted(val_lists.items()):
        lst = out_dir / f"val_{source}.txt"
        lst.write_text("\n".join(paths) + "\n", encoding="utf-8")
        y = out_dir / f"data_val_{source}.yaml"
        y.write_text(_yaml("images/train", str(lst.resolve()), out_dir), encoding="utf-8")
        val_yamls[source] = y
    summary = DatasetSummary(
        data_yaml=data_yaml,
        val_yamls=val_yamls,
        tiles=tiles,
        objects={k: dict(v) for k, v in objects.items()},
        groups=dict(sorted(split.items())),
    )
    manifest = {
        "tile_px": settings.tile_px,
        "stride_px": settings.stride_px,
        "scales": list(settings.scales),
        "classes": list(CLASSES),
        "tiles": summary.tiles,
        "objects": summary.objects,
        "groups": summary.groups,
        "val_sources": {k: str(v) for k, v in val_yamls.items()},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return summary


def oversample_train(data_yaml: Path, repeats: Mapping[str, int]) -> tuple[Path, dict[str, int]]:
    """List each train tile of a source in ``repeats`` that many times per epoch (real data is scarce next
    to synthetic tiles) and point ``data_yaml``'s ``train:`` at that list. Tiles are named
    ``<source>__...``; sources not in ``repeats`` are listed once. Returns (list path, tiles per source).
    Raises ConfigError for a repeat below 1 or a source with no train tiles."""
    for source, n in repeats.items():
        if int(n) < 1:
            raise ConfigError(f"oversample {source}={n}: the repeat must be >= 1")
    root = Path(data_yaml).parent
    tiles = sorted((root / "images" / "train").glob("*.jpg"))
    counts: Counter = Counter(p.name.split("__", 1)[0] for p in tiles)
    missing = [s for s in repeats if not counts.get(s)]
    if missing:
        raise ConfigError(f"oversample: no train tiles from {', '.join(missing)} (sources here: {', '.join(sorted(counts))})")
    lines: list[str] = []
    for p in tiles:
        lines += [str(p.resolve())] * int(repeats.get(p.name.split("__", 1)[0], 1))
    lst = root / "train_list.txt"
    lst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = Path(data_yaml).read_text(encoding="utf-8")
    Path(data_yaml).write_text(
        "\n".join(f"train: {lst.resolve()}" if ln.startswith("train:") else ln for ln in text.splitlines()) + "\n",
        encoding="utf-8",
    )
    return lst, dict(counts)
