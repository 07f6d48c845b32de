"""Hard negatives and pseudo-labels from a current model, before training the next one.

Real data sets label some classes only: aerial-cars labels vehicles (its streets have trees, shadows,
manholes, kerbs, pedestrians and no stall, garbage or road damage); RDD2022 labels road damage (its
roads carry unlabelled cars). So:

- ``mine_hard_negatives``: where the current model fires a class the source does not contain, that is a
  false alarm on real footage; the spot is cut out as an extra training crop (its labelled objects kept)
  and always kept as a tile, so the next model learns that branch shadows are not cracks.
- ``pseudo_label``: confident detections of a class the source leaves unlabelled (cars on RDD roads)
  become labels, so the next model is not taught that a car is background.

Only train-split images may be mined (the caller filters): val stays untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from patrol.detect.base import Detection
from patrol.errors import InputError
from patrol.train.labels import LabelledBox, LabelledImage
from patrol.train.tiles import boxes_in_tile

SOURCE_HARD_NEGATIVES = "hard-negatives"

# The classes each real source labels completely (everything else in its images is background).
LABELLED_CLASSES: dict[str, frozenset[str]] = {
    "aerial-cars": frozenset({"vehicle"}),
    "road-damage-rdd2022": frozenset({"road_damage"}),
    "road-damage-uavpdd": frozenset({"road_damage"}),
}


@dataclass(frozen=True)
class MiningSettings:
    model_path: Path  # the current ONNX model
    false_alarm_confidence: float = 0.25  # a detection of an absent class above this is mined
    pseudo_label_confidence: float = 0.5  # an unlabelled vehicle above this becomes a label
    pseudo_label_classes: tuple[str, ...] = ("vehicle",)
    crop_px: int = 320
    max_crops_per_image: int = 4
    max_crops_per_photo: int = 30  # for the full photos mined for crops only (4000x2250: many spots)


def _overlaps(box: tuple[float, float, float, float], others: Iterable[LabelledBox], min_ios: float = 0.3) -> bool:
    x1, y1, x2, y2 = box
    area = (x2 - x1) * (y2 - y1)
    for o in others:
        ox1, oy1, ox2, oy2 = o.bbox_xyxy_px
        iw, ih = min(x2, ox2) - max(x1, ox1), min(y2, oy2) - max(y1, oy1)
        if iw > 0 and ih > 0 and iw * ih / min(area, (ox2 - ox1) * (oy2 - oy1)) >= min_ios:
            return True
    return False


def false_alarms(
    dets: Sequence[Detection], image: LabelledImage, labelled: frozenset[str], confidence: float, unlabelled_present: Sequence[str] = ()
) -> list[Detection]:
    """Detections of classes the image's source does not contain (so false), above ``confidence``,
    not lying on a labelled object. Classes in ``unlabelled_present`` (cars on RDD roads: there, but not
    labelled) are never false alarms: they become pseudo-labels or are greyed out."""
    return [
        d for d in dets
        if d.class_name not in labelled and d.class_name not in unlabelled_present
        and d.score >= confidence and not _overlaps(d.bbox_xyxy_px, image.boxes)
    ]


def uncertain_boxes(dets: Sequence[Detection], image: LabelledImage, classes: Sequence[str], low: float, high: float) -> list[tuple[float, float, float, float]]:
    """Detections of unlabelled ``classes`` between ``low`` and ``high``: maybe a car, maybe not. Neither a
    label nor background: the caller greys them out."""
    return [
        d.bbox_xyxy_px for d in dets
        if d.class_name in classes and low <= d.score < high and not _overlaps(d.bbox_xyxy_px, image.boxes)
    ]


def pseudo_boxes(dets: Sequence[Detection], image: LabelledImage, classes: Sequence[str], confidence: float) -> tuple[LabelledBox, ...]:
    """Confident detections of the unlabelled ``classes`` that do not overlap an existing label."""
    return tuple(
        LabelledBox(d.bbox_xyxy_px, d.class_name)
        for d in dets
        if d.class_name in classes and d.score >= confidence and not _overlaps(d.bbox_xyxy_px, image.boxes)
    )


def crop_window(center_xy: tuple[float, float], size_wh: tuple[int, int], crop_px: int) -> tuple[int, int, int, int]:
    """A ``crop_px`` square centred on a point, shifted to lie inside the image (clipped if smaller)."""
    w, h = size_wh
    cw, ch = min(crop_px, w), min(crop_px, h)
    x1 = int(round(min(max(center_xy[0] - cw / 2, 0), w - cw)))
    y1 = int(round(min(max(center_xy[1] - ch / 2, 0), h - ch)))
    return x1, y1, x1 + cw, y1 + ch


def _detector(settings: MiningSettings):
    from patrol.detect.onnx import OnnxDetector

    low = min(settings.false_alarm_confidence, settings.pseudo_label_confidence)
    return OnnxDetector(settings.model_path, confidence=low, iou=0.5)


def mine(
    images: Sequence[LabelledImage], settings: MiningSettings, out_dir: Path, log=print, crops_only: Sequence[LabelledImage] = ()
) -> tuple[list[LabelledImage], list[LabelledImage], dict[str, int]]:
    """Run the current model over ``images`` (train split only). Returns (the images with pseudo-labels
    added, the hard-negative crops, counts). Crops are written to ``out_dir``; groups are
    ``hardneg:<parent group>`` so the caller keeps them in train. ``crops_only``: partly labelled images
    (the full DJI photos) mined for crops only, their unlabelled vehicles pseudo-labelled or greyed."""
    import cv2

    from patrol.detect.engine import detect_frame, read_image
    from patrol.detect.tiling import TilePlan

    detector = _detector(settings)
    plan = TilePlan(tile_px=settings.crop_px, overlap_px=64, iou=0.5, ios=0.7)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labelled_out: list[LabelledImage] = []
    crops: list[LabelledImage] = []
    counts = {"images": 0, "false_alarms": 0, "pseudo_labels": 0}
    only = {im.image_path for im in crops_only}
    todo = list(images) + list(crops_only)
    for n, im in enumerate(todo):
        labelled = LABELLED_CLASSES.get(im.source)
        if labelled is None:
            labelled_out.append(im)
            continue
        if im.image_path in only:
            labelled = labelled - set(settings.pseudo_label_classes)
        img = read_image(im.image_path)
        small = max(img.shape[:2]) <= 1.6 * settings.crop_px  # a one-tile image: one letterboxed pass
        dets = detector.detect(img) if small else detect_frame(img, detector, plan)
        counts["images"] += 1
        unlabelled = [c for c in settings.pseudo_label_classes if c not in labelled]
        extra = pseudo_boxes(dets, im, unlabelled, settings.pseudo_label_confidence)
        im2 = replace(im, boxes=im.boxes + extra) if extra else im
        counts["pseudo_labels"] += len(extra)
        grey = uncertain_boxes(dets, im2, unlabelled, settings.false_alarm_confidence, settings.pseudo_label_confidence)
        if grey:
            img = img.copy()
            for x1, y1, x2, y2 in grey:
                img[int(y1) : int(y2) + 1, int(x1) : int(x2) + 1] = 114
            path = out_dir / f"{im.source}__{im.image_path.stem}__grey.jpg"
            if not cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 95]):
                raise InputError(path, "cannot write a greyed copy")
            im2 = replace(im2, image_path=path)
            counts["greyed"] = counts.get("greyed", 0) + len(grey)
        if im.image_path not in only:
            labelled_out.append(im2)
        fas = sorted(false_alarms(dets, im2, labelled, settings.false_alarm_confidence, unlabelled), key=lambda d: -d.score)
        cap = settings.max_crops_per_photo if im.image_path in only else settings.max_crops_per_image
        for k, d in enumerate(fas[:cap]):
            cx, cy = (d.bbox_xyxy_px[0] + d.bbox_xyxy_px[2]) / 2, (d.bbox_xyxy_px[1] + d.bbox_xyxy_px[3]) / 2
            win = crop_window((cx, cy), im2.size_wh, settings.crop_px)
            kept, ambiguous = boxes_in_tile(im2.boxes, win)
            crop = img[win[1] : win[3], win[0] : win[2]].copy()
            for ax1, ay1, ax2, ay2 in ambiguous:  # grey out slivers of cut objects, as the tiler does
                crop[int(ay1) : int(ay2) + 1, int(ax1) : int(ax2) + 1] = 114
            path = out_dir / f"{im.source}__{im.image_path.stem}__fa{k}_{d.class_name}.jpg"
            if not cv2.imwrite(str(path), crop, [cv2.IMWRITE_JPEG_QUALITY, 95]):
                raise InputError(path, "cannot write a hard-negative crop")
            crops.append(LabelledImage(path, (win[2] - win[0], win[3] - win[1]), kept, f"hardneg:{im.group}", SOURCE_HARD_NEGATIVES))
            counts["false_alarms"] += 1
        if (n + 1) % 200 == 0:
            log(f"mining: {n + 1}/{len(todo)} images, {counts['false_alarms']} false alarms, {counts['pseudo_labels']} pseudo-labels")
    log(f"mining done: {counts}")
    return labelled_out, crops, counts
