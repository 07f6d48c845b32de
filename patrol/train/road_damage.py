"""Real road-damage data at the scale of patrol frames.

RDD2022 drone images (China_Drone: ``images/X.jpg`` + ``annotations/X.xml``, Pascal VOC) are about
15-20 mm per pixel; a patrol frame at 30-120 m is about 1-4 cm per pixel. A crack must look in training
as it will in a patrol frame, so each image is resized by a factor drawn (stably, per image) from
``GsdRescale`` before it is tiled: a native 17 mm/px image scaled by 0.5 looks like a 3.4 cm/px frame.

Class codes: D00 longitudinal, D10 transverse, D20 alligator crack, D40 pothole and Block crack ->
``road_damage``; ``Repair`` (a patched area) is not damage and is dropped (it stays in the image as
background). Consecutive image numbers come from one flight over one street, so the split group is a
block of ``RDD_GROUP_SIZE`` consecutive numbers: neighbours never sit on both sides of the split.

The omu quay-wall crack tiles (``cracks-omu-drone``) are not used: at 2.3 mm/px their cracks are
0.5 mm to a few cm wide, below one pixel of a 1-4 cm/px patrol frame (a 256 px tile shrinks to 15-60 px).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from patrol.errors import InputError
from patrol.train.labels import LabelledBox, LabelledImage, image_size_wh, read_voc_file
from patrol.train.tiles import stable_fraction

# RDD2022 class codes -> detector class; None = not damage (dropped).
RDD2022_MAP: dict[str, str | None] = {
    "d00": "road_damage",
    "d10": "road_damage",
    "d20": "road_damage",
    "d40": "road_damage",
    "block crack": "road_damage",
    "repair": None,
    # other RDD2022 countries' codes that some exports carry
    "d01": "road_damage",
    "d11": "road_damage",
    "d43": None,  # crosswalk blur
    "d44": None,  # white line blur
    "d50": None,  # manhole cover: not damage
}
RDD_GROUP_SIZE = 40
SOURCE_RDD = "road-damage-rdd2022"
_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class GsdRescale:
    """Resize factors for a source whose native GSD is finer than a patrol frame's.

    Each image gets one factor in [``min_factor``, ``max_factor``], log-uniform and fixed by its name,
    so a re-run builds the same tiles. Boxes whose short side falls below ``min_box_px`` are dropped.
    """

    min_factor: float = 0.5
    max_factor: float = 1.0
    min_box_px: float = 4.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (0 < self.min_factor <= self.max_factor <= 1.0):
            raise ValueError(f"need 0 < min_factor <= max_factor <= 1, got {self.min_factor}, {self.max_factor}")

    def factor_for(self, key: str) -> float:
        u = stable_fraction(f"gsd:{key}", self.seed)
        return math.exp(math.log(self.min_factor) + u * (math.log(self.max_factor) - math.log(self.min_factor)))


# RDD2022 China_Drone: about 15-20 mm per pixel (lane lines 5-8 px, a car ~130 px wide). Factors 0.5-1.0
# span ~1.7-3.4 cm/px, the fine end of patrol frames, where road damage is visible at all.
RDD_DRONE_RESCALE = GsdRescale(0.5, 1.0)


def rdd_group(stem: str) -> str:
    """Split group of an RDD2022 image: a block of consecutive image numbers (one street's flight)."""
    m = _NUMBER.search(stem)
    if not m:
        return f"rdd2022:{stem}"
    return f"rdd2022:{int(m.group(1)) // RDD_GROUP_SIZE:04d}"


# A tenth of RDD2022's street groups is never trained on nor used to choose an operating point: the
# held-out test split that the card scores (val, which chooses the confidence, is another fifth).
RDD_TEST_FRACTION = 0.1


def is_test_group(group: str) -> bool:
    """True for the RDD2022 groups held out as the untouched test split."""
    return group.startswith("rdd2022:") and stable_fraction(f"test:{group}", 7) < RDD_TEST_FRACTION


def is_voc_folder(folder: Path) -> bool:
    """``images/`` with ``annotations/*.xml`` beside it (RDD2022 layout)."""
    return (folder / "annotations").is_dir() and (folder / "images").is_dir() and any((folder / "annotations").glob("*.xml"))


def read_rdd2022(folder: Path, class_map: dict[str, str | None] = RDD2022_MAP) -> list[LabelledImage]:
    """RDD2022-style folder: ``images/X.jpg`` + ``annotations/X.xml``. Boxes scaled to the decoded size
    when the XML's size differs. InputError names the file for a broken annotation or missing image."""
    folder = Path(folder)
    out: list[LabelledImage] = []
    for xml in sorted((folder / "annotations").glob("*.xml")):
        filename, size, boxes = read_voc_file(xml, class_map)
        img = folder / "images" / (filename or xml.with_suffix(".jpg").name)
        if not img.is_file():
            img = folder / "images" / xml.with_suffix(".jpg").name
        if not img.is_file():
            raise InputError(xml, f"its image {filename!r} is not in {folder / 'images'}")
        real = image_size_wh(img)
        if size is not None and size != real:
            sx, sy = real[0] / size[0], real[1] / size[1]
            boxes = tuple(
                LabelledBox((b.bbox_xyxy_px[0] * sx, b.bbox_xyxy_px[1] * sy, b.bbox_xyxy_px[2] * sx, b.bbox_xyxy_px[3] * sy), b.class_name)
                for b in boxes
            )
        out.append(LabelledImage(img, real, boxes, rdd_group(img.stem), SOURCE_RDD))
    return out


def rescaled_boxes(boxes: Sequence[LabelledBox], factor: float, min_box_px: float) -> tuple[LabelledBox, ...]:
    """Boxes of an image resized by ``factor``; those whose short side ends below ``min_box_px`` dropped."""
    out = []
    for b in boxes:
        x1, y1, x2, y2 = (v * factor for v in b.bbox_xyxy_px)
        if min(x2 - x1, y2 - y1) >= min_box_px:
            out.append(LabelledBox((x1, y1, x2, y2), b.class_name))
    return tuple(out)


def rescale_images(images: Sequence[LabelledImage], rescale: GsdRescale, out_dir: Path, log=print) -> list[LabelledImage]:
    """Write each image resized by its factor into ``out_dir`` (reused when already there) and return
    the images as the detector will see them. Groups and sources are kept."""
    import cv2

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result: list[LabelledImage] = []
    for im in images:
        f = rescale.factor_for(im.image_path.stem)
        w, h = max(1, round(im.size_wh[0] * f)), max(1, round(im.size_wh[1] * f))
        dst = out_dir / f"{im.image_path.stem}__f{int(round(f * 100)):03d}.jpg"
        if not dst.is_file():
            img = cv2.imread(str(im.image_path), cv2.IMREAD_COLOR)
            if img is None:
                raise InputError(im.image_path, "not a readable image")
            small = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
            tmp = dst.with_suffix(".part.jpg")
            if not cv2.imwrite(str(tmp), small, [cv2.IMWRITE_JPEG_QUALITY, 95]):
                raise InputError(dst, "cannot write the rescaled image")
            tmp.replace(dst)
        result.append(replace(im, image_path=dst, size_wh=(w, h), boxes=rescaled_boxes(im.boxes, f, rescale.min_box_px)))
    log(f"{len(result)} images of {images[0].source if images else '?'} rescaled to patrol GSD in {out_dir}")
    return result
