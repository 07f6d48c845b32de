"""False alarms on real negative frames: images known to hold none of some classes.

`patrol eval --negatives DIR` runs the production tiled detector on every image of DIR (street frames
with no stall, garbage or road damage in them, say) and counts detections at the operating confidence
per class: each one is a false alarm a command centre would have to dismiss. Reported per class and
per 100 frames, next to AP50.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from patrol.detect.base import Detection
from patrol.errors import InputError

NEGATIVE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")


@dataclass(frozen=True)
class NegativeScore:
    """Detections at the operating confidence on ``images`` frames that contain none of ``classes``."""

    folder: str
    images: int
    classes: tuple[str, ...]  # the classes the frames are known not to contain
    false_alarms: dict[str, int]  # class -> count
    worst: tuple[tuple[str, str, float], ...] = ()  # (image, class, score) of the highest-scoring alarms

    def per_100_frames(self, class_name: str) -> float:
        return 100.0 * self.false_alarms.get(class_name, 0) / self.images if self.images else 0.0

    def to_dict(self) -> dict:
        return {
            "folder": self.folder,
            "images": self.images,
            "classes": list(self.classes),
            "false_alarms": self.false_alarms,
            "per_100_frames": {c: round(self.per_100_frames(c), 2) for c in self.classes},
            "worst": [list(w) for w in self.worst],
        }


def count_false_alarms(
    per_image: Iterable[tuple[str, Sequence[Detection]]], classes: Sequence[str], confidence: Mapping[str, float], keep_worst: int = 10
) -> tuple[int, dict[str, int], tuple[tuple[str, str, float], ...]]:
    """Pure: (images, class -> detections at or above its confidence, worst alarms)."""
    counts: Counter = Counter()
    alarms: list[tuple[str, str, float]] = []
    n = 0
    for name, dets in per_image:
        n += 1
        for d in dets:
            if d.class_name in classes and d.score >= confidence.get(d.class_name, 1.0):
                counts[d.class_name] += 1
                alarms.append((name, d.class_name, round(d.score, 3)))
    alarms.sort(key=lambda a: -a[2])
    return n, {c: counts.get(c, 0) for c in classes}, tuple(alarms[:keep_worst])


def negative_images(folder: Path) -> list[Path]:
    """Every image under ``folder`` (recursively), sorted. InputError when it is not a folder or has none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "--negatives: not a folder")
    found = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in NEGATIVE_SUFFIXES)
    if not found:
        raise InputError(folder, "--negatives: no images in this folder")
    return found


def score_negatives(
    folder: Path,
    detect: Callable[[np.ndarray, Path], Sequence[Detection]],
    classes: Sequence[str],
    confidence: Mapping[str, float],
    on_error: Callable[[InputError], None] | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> NegativeScore:
    """Run ``detect`` on every image of ``folder``; bad images go to ``on_error`` and are left out."""
    from patrol.detect.engine import read_image

    def run() -> Iterable[tuple[str, Sequence[Detection]]]:
        paths = negative_images(folder)
        for p in progress(paths) if progress else paths:
            try:
                image = read_image(p)
            except InputError as e:
                if on_error:
                    on_error(e)
                continue
            yield str(p.relative_to(folder)), detect(image, p)

    n, counts, worst = count_false_alarms(run(), classes, confidence)
    return NegativeScore(str(folder), n, tuple(classes), counts, worst)
