"""Operating points from real data: each class's confidence, chosen where it can be checked on real images.

- A class with real labelled val boxes (vehicle: aerial-cars; road damage: RDD2022 and UAV-PDD2023) is
  set at its best F1 on those real val images, with the real frames known to hold none of it counted too
  (their detections are false alarms).
- A class learnt from synthetic images only (vendor stall, garbage) is set at its best F1 on synthetic
  val, since nothing real can say where its recall lies.
- Then every class is raised (in 0.05 steps) until its false alarms on real val frames known to hold none
  of it stay at or under ``max_false_alarms_per_100`` frames: a command centre drowns in false cases long
  before it misses a few true ones.

Pure: (detections, truth) pairs per source in, ``OperatingPoint`` per class out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from patrol.detect.base import CLASSES, Detection
from patrol.train.evaluate import score_class
from patrol.train.labels import LabelledBox
from patrol.train.mining import LABELLED_CLASSES

Pairs = Sequence[tuple[Sequence[Detection], Sequence[LabelledBox]]]

# Classes each real source is known not to show (street frames of aerial-cars have no stall, garbage or
# road damage labelled and were chosen without them; pavement close-ups show no stall or garbage).
KNOWN_ABSENT: dict[str, frozenset[str]] = {
    "aerial-cars": frozenset({"vendor_stall", "garbage", "road_damage"}),
    "road-damage-rdd2022": frozenset({"vendor_stall", "garbage"}),
    "road-damage-uavpdd": frozenset({"vendor_stall", "garbage"}),
}


@dataclass(frozen=True)
class OperatingPoint:
    class_name: str
    confidence: float
    chosen_on: str  # where the confidence came from, in words
    negative_frames: int  # real val frames known to hold none of the class
    false_alarms: int  # detections of the class on them at ``confidence``

    @property
    def false_alarms_per_100(self) -> float:
        return 100.0 * self.false_alarms / self.negative_frames if self.negative_frames else 0.0


def count_false_alarms(pairs: Pairs, class_name: str, confidence: float) -> int:
    """Detections of ``class_name`` at or above ``confidence`` over frames that hold none of it."""
    return sum(1 for dets, _ in pairs for d in dets if d.class_name == class_name and d.score >= confidence)


def raise_for_false_alarms(pairs: Pairs, class_name: str, confidence: float, max_per_100: float, cap: float = 0.95) -> float:
    """The lowest confidence >= ``confidence`` (0.05 steps, at most ``cap``) whose false alarms on
    ``pairs`` are at most ``max_per_100`` per 100 frames."""
    allowed = max_per_100 * len(pairs) / 100.0
    c = confidence
    while c < cap - 1e-9 and count_false_alarms(pairs, class_name, c) > allowed:
        c = round(c + 0.05, 2)
    return min(c, cap)


def choose_operating_points(
    pairs_by_source: Mapping[str, Pairs],
    classes: Sequence[str] = CLASSES,
    max_false_alarms_per_100: float = 2.0,
    min_real_boxes: int = 5,
    fallback: float = 0.5,
    synthetic_floor: float = 0.5,
) -> dict[str, OperatingPoint]:
    """``synthetic_floor``: a class chosen on synthetic val only never goes below it. A few dozen
    synthetic crops put the best F1 at any low score (0.05 was seen after a short fine-tune), and such a
    point floods real flights with cases; real negatives may raise it further, never lower it."""
    out: dict[str, OperatingPoint] = {}
    for c in classes:
        real = [p for s, ps in pairs_by_source.items() if c in LABELLED_CLASSES.get(s, ()) for p in ps]
        negatives = [p for s, ps in pairs_by_source.items() if c in KNOWN_ABSENT.get(s, ()) for p in ps]
        n_real = sum(1 for _, truth in real for b in truth if b.class_name == c)
        sim = list(pairs_by_source.get("sim", ()))
        if n_real >= min_real_boxes:
            conf = score_class(real + negatives, c).confidence
            how = f"best F1 on real val ({n_real} boxes, {len(real) + len(negatives)} images)"
        elif sim and any(b.class_name == c for _, t in sim for b in t):
            conf = score_class(sim, c).confidence
            how = "best F1 on synthetic val (no real labelled examples: never validated on real footage)"
            if conf < synthetic_floor:
                how += f"; {conf:.2f} there, held at the floor {synthetic_floor:.2f} for classes without real val"
                conf = synthetic_floor
        else:
            conf, how = fallback, "no val examples: default"
        if negatives:
            raised = raise_for_false_alarms(negatives, c, conf, max_false_alarms_per_100)
            if raised > conf:
                how += f"; raised from {conf:.2f} to keep false alarms on {len(negatives)} real frames at most {max_false_alarms_per_100:g} per 100"
            conf = raised
        out[c] = OperatingPoint(c, conf, how, len(negatives), count_false_alarms(negatives, c, conf))
    return out
