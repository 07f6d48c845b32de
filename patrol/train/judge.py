"""Plain statements for the model card, derived from the numbers and the training data (no hand edits)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from patrol.detect.base import CLASSES
from patrol.train.card import EvalBlock
from patrol.train.labels import LabelledImage
from patrol.train.mining import SOURCE_HARD_NEGATIVES


def speed_notes(seconds: float, epochs: int, train_tiles: int) -> tuple[str, ...]:
    """Measured training speed, so a reader can tell how much the time budget bought."""
    if not (seconds > 0 and epochs > 0 and train_tiles > 0):
        return ()
    per_tile = seconds / (epochs * train_tiles)
    note = f"measured training speed: {per_tile:.2f} s per tile per epoch"
    try:
        load = os.getloadavg()[0]
        note += f" (load average {load:.1f} on {os.cpu_count()} cores when this card was written; the machine is shared)"
    except OSError:
        pass
    return (note,)


def judgements(evals: Sequence[EvalBlock], objects, images: Sequence[LabelledImage], groups) -> tuple[list[str], list[str]]:
    """Plain statements for the card, derived from the numbers and the training data (no hand edits)."""
    good: list[str] = []
    bad: list[str] = []
    for b in evals:
        for s in b.scores:
            if s.n_true == 0:
                continue
            what = f"`{s.class_name}` on {b.title.split(': ', 1)[-1]} (AP50 {s.ap50:.2f}, P {s.precision:.2f} / R {s.recall:.2f})"
            if s.ap50 >= 0.8:
                good.append(what)
            elif s.ap50 < 0.5:
                bad.append(what)
            else:
                bad.append(what + ": usable with review, misses and false alarms are common")
    real_train = {
        b.class_name
        for im in images
        if im.source != "sim" and groups.get(im.group) != "val"
        for b in im.boxes
    }
    for c in CLASSES:
        if c not in real_train and objects.get("train", {}).get(c):
            bad.append(
                f"`{c}` was learnt from synthetic images only (no real labelled examples in the training data): expect it to "
                "miss and confuse real ones until fine-tuned with `patrol train` on your own labelled footage"
            )
    n_damage = sum(1 for im in images if im.source in ("road-damage-uavpdd", "road-damage-rdd2022") and groups.get(im.group) != "val")
    if 0 < n_damage < 100:
        bad.append(f"real road damage: trained on only {n_damage} real pavement photos; treat detections as hints")
    if not good:
        good.append("a starting point for fine-tuning with `patrol train` on labelled footage of your city")
    return good, bad


def class_rows(evals: Sequence[EvalBlock], points, images: Sequence[LabelledImage], groups) -> tuple[tuple[str, ...], ...]:
    """Per class: AP50 on real val, AP50 on sim val, false alarms per 100 real negative frames, trained on."""
    trained: dict[str, set[str]] = {c: set() for c in CLASSES}
    for im in images:
        if groups.get(im.group) != "val":
            for b in im.boxes:
                trained[b.class_name].add(im.source)
        if im.source == SOURCE_HARD_NEGATIVES:
            for c in CLASSES:
                trained[c].add("real hard negatives")
    rows = []
    for c in CLASSES:
        real = [f"{s.ap50:.2f} ({b.title.split(': ', 1)[-1]})" for b in evals for s in b.scores
                if s.class_name == c and s.n_true and b.title.startswith("Real")]
        sim = [f"{s.ap50:.2f}" for b in evals for s in b.scores if s.class_name == c and s.n_true and b.title == "Synthetic: patrol.sim val"]
        p = points.get(c)
        fa = f"{p.false_alarms_per_100:.1f} ({p.negative_frames} frames)" if p is not None and p.negative_frames else "-"
        rows.append((c, "; ".join(real) or "never validated on real footage", ", ".join(sim) or "-", fa, ", ".join(sorted(trained[c])) or "-"))
    return tuple(rows)
