"""`patrol train --from-reviews DB`: reviewed findings become training data.

Every finding linked to a reviewed case gives one crop of its best frame (``crop_px`` square around
the box, the model's tile size), written as a JPEG with its boxes:

- ``confirmed``: the box, as the case's detector class;
- ``category:C``: the box, relabelled as the class of category C;
- ``false_positive``: no box at all: a hard negative (the frame region the model was wrong about);
- ``duplicate:M``: labelled as case M's own review says (skipped while M is unreviewed).

Other reviewed boxes falling in the same crop are labelled too; detections nobody reviewed that
overlap the crop are greyed out (neither a known object nor known background). Each image's group is
its flight, so the train/val split is by flight. The images go into the usual ``patrol train`` job
(``TrainJob.extra_images``), with source ``reviews`` whose empty crops are all kept.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patrol.office.review import CLASS_OF_CATEGORY, ReviewVerdict
from patrol.train.labels import LabelledBox, LabelledImage
from patrol.train.tiles import boxes_in_tile

SOURCE_REVIEWS = "reviews"
GREY = 114  # the value the dataset builder uses for ambiguous regions


@dataclass(frozen=True)
class ReviewSample:
    """One reviewed finding: where its best view is, and what it is (None = a hard negative)."""

    case_id: int
    flight_id: str
    finding_id: str
    frame_path: str
    bbox_xyxy_px: tuple[float, float, float, float]
    class_name: str | None
    verdict: ReviewVerdict


@dataclass(frozen=True)
class ReviewDataset:
    images: tuple[LabelledImage, ...]
    counts: dict[str, int]  # confirmed / relabelled / hard_negative / skipped_duplicate / unreadable

    def note(self) -> str:
        c = self.counts
        return (f"from reviews: {len(self.images)} crops from reviewed findings ({c.get('confirmed', 0)} confirmed, "
                f"{c.get('relabelled', 0)} relabelled, {c.get('hard_negative', 0)} false positives as hard negatives), "
                "split by flight")


def label_of(case_id: int, reviews: dict[int, Any], cases: dict[int, Any], depth: int = 0) -> tuple[str, str | None] | None:
    """(kind, class) of a reviewed case: ("confirmed", cls), ("relabelled", cls), ("hard_negative", None),
    or None when nothing can be said (unreviewed, or a duplicate of an unreviewed case). Pure."""
    r = reviews.get(case_id)
    if r is None or depth > 5:
        return None
    if r.verdict == ReviewVerdict.CONFIRMED:
        case = cases.get(case_id)
        return ("confirmed", case.class_name if case is not None else CLASS_OF_CATEGORY.get(r.previous_category))
    if r.verdict == ReviewVerdict.CATEGORY:
        return ("relabelled", CLASS_OF_CATEGORY[r.request.category])
    if r.verdict == ReviewVerdict.FALSE_POSITIVE:
        return ("hard_negative", None)
    return label_of(r.request.duplicate_of, reviews, cases, depth + 1)


def review_samples(store: Any) -> tuple[list[ReviewSample], Counter]:
    """Every finding of every reviewed case, with its label (reads the store, writes nothing)."""
    from patrol.store.reviews import latest_reviews

    reviews = latest_reviews(store)
    cases = {c.case_id: c for c in store.list_cases()}
    out: list[ReviewSample] = []
    counts: Counter = Counter()
    for cid in sorted(reviews):
        label = label_of(cid, reviews, cases)
        if label is None:
            counts["skipped_duplicate"] += 1
            continue
        for flight_id, f in store.findings_of_case(cid):
            out.append(ReviewSample(cid, flight_id, f.finding_id, f.best_frame, tuple(f.best_bbox_xyxy_px), label[1],
                                    reviews[cid].verdict))
            counts[label[0]] += 1
    return out, counts


def crop_around(box: tuple[float, float, float, float], size_wh: tuple[int, int], crop_px: int) -> tuple[int, int, int, int]:
    """A ``crop_px`` square (at least the box and a margin) centred on the box, kept inside the image."""
    w, h = size_wh
    x1, y1, x2, y2 = box
    side = int(min(max(crop_px, 1.5 * (x2 - x1), 1.5 * (y2 - y1)), w, h))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    a = int(min(max(0, round(cx - side / 2)), w - side))
    b = int(min(max(0, round(cy - side / 2)), h - side))
    return a, b, a + side, b + side


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def build_review_images(store: Any, out_dir: str | Path, crop_px: int = 320) -> ReviewDataset:
    """Write one crop per reviewed finding under ``out_dir/<flight>/`` and return them as
    LabelledImages (source ``reviews``, group ``reviews:<flight>``). Unreadable frames are counted."""
    import cv2

    samples, counts = review_samples(store)
    out = Path(out_dir)
    by_frame: dict[tuple[str, str], list[ReviewSample]] = {}
    for s in samples:
        by_frame.setdefault((s.flight_id, s.frame_path), []).append(s)
    detections: dict[str, dict[str, list[Any]]] = {}
    images: list[LabelledImage] = []
    for (flight_id, frame), group in sorted(by_frame.items()):
        img = cv2.imread(frame, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        if img is None:
            counts["unreadable"] += len(group)
            continue
        h, w = img.shape[:2]
        positives = [LabelledBox(s.bbox_xyxy_px, s.class_name) for s in group if s.class_name is not None]
        reviewed = [s.bbox_xyxy_px for s in group]
        if flight_id not in detections:
            detections[flight_id] = store.load_detections(flight_id)
        unknown = [tuple(d.bbox_xyxy_px) for d in detections[flight_id].get(frame, [])
                   if all(_iou(tuple(d.bbox_xyxy_px), r) < 0.5 for r in reviewed)]
        for s in group:
            t = crop_around(s.bbox_xyxy_px, (w, h), crop_px)
            kept, ambiguous = boxes_in_tile(positives, t)
            crop = img[t[1]:t[3], t[0]:t[2]].copy()
            grey = list(ambiguous) + [
                (max(0.0, x1 - t[0]), max(0.0, y1 - t[1]), min(t[2], x2) - t[0], min(t[3], y2) - t[1])
                for x1, y1, x2, y2 in unknown if x2 > t[0] and x1 < t[2] and y2 > t[1] and y1 < t[3]
            ]
            for gx1, gy1, gx2, gy2 in grey:
                crop[int(gy1):int(gy2) + 1, int(gx1):int(gx2) + 1] = GREY
            path = out / flight_id / f"case{s.case_id}-{s.finding_id}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
            images.append(LabelledImage(path, (t[2] - t[0], t[3] - t[1]), kept, f"{SOURCE_REVIEWS}:{flight_id}",
                                        SOURCE_REVIEWS))
    return ReviewDataset(tuple(images), dict(counts))


def build_review_dataset(store: Any, out_dir: str | Path, crop_px: int = 320, val_fraction: float = 0.2) -> tuple[ReviewDataset, Any]:
    """The review crops (``out_dir/reviews``) tiled into a YOLO dataset (``out_dir/dataset``), split by
    flight — what ``patrol train --from-reviews --dataset-only`` writes. Returns (crops, DatasetSummary)."""
    from patrol.errors import InputError
    from patrol.train.dataset import build_dataset
    from patrol.train.pipeline import split_by_source

    out = Path(out_dir)
    rd = build_review_images(store, out / "reviews", crop_px)
    if not rd.images:
        raise InputError(getattr(store, "url", "database"), "no reviewed finding with a readable frame: review some cases first")
    tiles = review_tile_settings(crop_px)
    split = split_by_source(rd.images, val_fraction, tiles.seed, ())
    return rd, build_dataset(rd.images, out / "dataset", tiles, split=split)


def review_tile_settings(crop_px: int = 320, base: Any = None) -> Any:
    """Tile settings that keep every empty review crop (the hard negatives) and cut no extra scales."""
    import dataclasses

    from patrol.train.dataset import TileSettings

    base = base or TileSettings(tile_px=crop_px, stride_px=crop_px, scales=(1.0,))
    keep = tuple(dict.fromkeys((*base.keep_empty_sources, SOURCE_REVIEWS)))
    return dataclasses.replace(base, keep_empty_sources=keep)
