"""Labelled source images for training: records, label parsers (pure) and source readers (thin I/O).

Sources map their own class names onto the detector classes (``patrol.detect.base.CLASSES``):
aerial-cars car/truck/bus/minibus -> vehicle (cyclist dropped); UAV-PDD2023 cracks and pothole ->
road_damage (Repair dropped). Every image carries a ``group`` (video, street, flight): train/val are
split by group, never by tile, so near-identical frames never sit on both sides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree as SafeET

from patrol.detect.base import CLASSES
from patrol.errors import InputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")

# aerial-cars (jekhor/aerial-cars-dataset) class names -> detector class; None = drop the box.
AERIAL_CARS_MAP: dict[str, str | None] = {
    "car": "vehicle",
    "truck": "vehicle",
    "bus": "vehicle",
    "minibus": "vehicle",
    "cyclist": None,
}

# UAV-PDD2023 class names -> detector class. "Repair" is a patched surface, not damage.
UAVPDD_MAP: dict[str, str | None] = {
    "alligator crack": "road_damage",
    "longitudinal crack": "road_damage",
    "oblique crack": "road_damage",
    "transverse crack": "road_damage",
    "pothole": "road_damage",
    "repair": None,
}

# The five full-resolution DJI photos of aerial-cars are labelled only in part (DJI_0019's parking lot
# is unlabelled): never train on them; they are the held-out "full oblique photo" test set.
HELD_OUT_PHOTOS: frozenset[str] = frozenset({"DJI_0010", "DJI_0012", "DJI_0019", "DJI_0022", "DJI_0031"})


@dataclass(frozen=True)
class LabelledBox:
    """One labelled object: a box in pixels of the source image and a detector class."""

    bbox_xyxy_px: tuple[float, float, float, float]
    class_name: str

    def __post_init__(self) -> None:
        x1, y1, x2, y2 = self.bbox_xyxy_px
        if not (x2 > x1 and y2 > y1):
            raise ValueError(f"bbox_xyxy_px must have x2>x1 and y2>y1, got {self.bbox_xyxy_px}")
        if self.class_name not in CLASSES:
            raise ValueError(f"class_name must be one of {CLASSES}, got {self.class_name!r}")


@dataclass(frozen=True)
class LabelledImage:
    """A source image with its boxes. ``group`` decides the split; ``source`` names the data set."""

    image_path: Path
    size_wh: tuple[int, int]
    boxes: tuple[LabelledBox, ...]
    group: str
    source: str

    def __post_init__(self) -> None:
        w, h = self.size_wh
        if w <= 0 or h <= 0:
            raise ValueError(f"size_wh must be positive, got {self.size_wh}")
        if not self.group or not self.source:
            raise ValueError("group and source must not be empty")


# ---------------------------------------------------------------- pure parsers


def parse_yolo_labels(
    text: str, size_wh: tuple[int, int], names: list[str], class_map: Mapping[str, str | None]
) -> tuple[LabelledBox, ...]:
    """YOLO txt (``cls cx cy w h``, normalised) -> boxes in pixels, mapped through ``class_map``.

    ``names[cls]`` is the source class name; a name mapped to None is dropped. Raises ValueError on a
    malformed line or an unknown class index (the caller adds the file name).
    """
    w_px, h_px = size_wh
    out: list[LabelledBox] = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 5:
            raise ValueError(f"line {n}: expected 5 fields 'cls cx cy w h', got {len(parts)}")
        try:
            idx = int(parts[0])
            cx, cy, bw, bh = (float(p) for p in parts[1:])
        except ValueError as e:
            raise ValueError(f"line {n}: not numbers: {line.strip()!r}") from e
        if not 0 <= idx < len(names):
            raise ValueError(f"line {n}: class index {idx} outside names (0..{len(names) - 1})")
        target = class_map.get(names[idx].strip().lower(), None)
        if target is None:
            continue
        x1 = max(0.0, (cx - bw / 2) * w_px)
        y1 = max(0.0, (cy - bh / 2) * h_px)
        x2 = min(float(w_px), (cx + bw / 2) * w_px)
        y2 = min(float(h_px), (cy + bh / 2) * h_px)
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        out.append(LabelledBox((x1, y1, x2, y2), target))
    return tuple(out)


def parse_voc(
    xml_text: str, class_map: Mapping[str, str | None]
) -> tuple[str, tuple[int, int] | None, tuple[LabelledBox, ...]]:
    """Pascal VOC XML -> (``<filename>``, size_wh or None, boxes). Unknown class names raise ValueError."""
    try:
        root = SafeET.fromstring(xml_text)
    except Exception as e:  # defusedxml raises several types for hostile or broken XML
        raise ValueError(f"not valid VOC XML: {e}") from e
    filename = (root.findtext("filename") or "").strip()
    size_wh = None
    size = root.find("size")
    if size is not None:
        try:
            size_wh = (int(size.findtext("width") or 0), int(size.findtext("height") or 0))
        except ValueError:
            size_wh = None
        if size_wh is not None and (size_wh[0] <= 0 or size_wh[1] <= 0):
            size_wh = None
    out: list[LabelledBox] = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip().lower()
        if name not in class_map:
            raise ValueError(f"unknown class {name!r}; expected one of {sorted(class_map)}")
        target = class_map[name]
        if target is None:
            continue
        bb = obj.find("bndbox")
        if bb is None:
            raise ValueError(f"object {name!r} has no <bndbox>")
        try:
            x1, y1, x2, y2 = (float(bb.findtext(k) or "nan") for k in ("xmin", "ymin", "xmax", "ymax"))
        except ValueError as e:
            raise ValueError(f"object {name!r}: bndbox is not numeric") from e
        if not (x2 > x1 and y2 > y1):
            continue
        out.append(LabelledBox((x1, y1, x2, y2), target))
    return filename, size_wh, tuple(out)


_VIDEO_FRAME = re.compile(r"^(?P<video>DJI[-_]\d+)-(?P<frame>\d+)$")
_MUNICH = re.compile(r"^(?:(?P<street>.+)-)?MOS\d+$")


def aerial_cars_group(stem: str) -> str:
    """Split group of an aerial-cars image: the video for video frames, the street for Munich images.

    Frames of one video and the MOS sequence of one street are near-duplicates, so each is one group.
    """
    m = _VIDEO_FRAME.match(stem)
    if m:
        return f"video:{m.group('video')}"
    m = _MUNICH.match(stem)
    if m:
        return f"munich:{m.group('street') or 'MOS'}"
    return f"image:{stem}"


# ---------------------------------------------------------------- readers (thin I/O)


def read_voc_file(xml: Path, class_map: Mapping[str, str | None]) -> tuple[str, tuple[int, int] | None, tuple[LabelledBox, ...]]:
    """``parse_voc`` of one file; InputError naming it when broken."""
    try:
        return parse_voc(xml.read_text(encoding="utf-8"), class_map)
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(xml, str(e)) from e


def image_size_wh(path: Path) -> tuple[int, int]:
    """Decoded pixel size of an image file (EXIF sizes can lie): a JPEG's frame header (SOF), other
    formats decoded. Raises InputError if unreadable."""
    import cv2

    from patrol.errors import PatrolError
    from patrol.ingest.jpeg import read_jpeg_header

    if Path(path).suffix.lower() in (".jpg", ".jpeg"):
        try:
            size = read_jpeg_header(path).size_wh
        except PatrolError:
            size = None
        if size is not None and size[0] > 0 and size[1] > 0:
            return size
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError(path, "not a readable image")
    return int(img.shape[1]), int(img.shape[0])


def read_aerial_cars(folder: Path, include_held_out: bool = False) -> list[LabelledImage]:
    """Read jekhor/aerial-cars-dataset style data: images + YOLO txt + aerial.names.

    The five partly labelled full DJI photos (HELD_OUT_PHOTOS) are skipped unless ``include_held_out``.
    """
    folder = Path(folder)
    names_path = folder / "aerial.names"
    if not names_path.is_file():
        raise InputError(names_path, "missing class list (one class name a line)")
    names = [n.strip() for n in names_path.read_text(encoding="utf-8").splitlines() if n.strip()]
    out: list[LabelledImage] = []
    for img in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        if not include_held_out and img.stem in HELD_OUT_PHOTOS:
            continue
        txt = img.with_suffix(".txt")
        if not txt.is_file():
            continue
        size = image_size_wh(img)
        try:
            boxes = parse_yolo_labels(txt.read_text(encoding="utf-8"), size, names, AERIAL_CARS_MAP)
        except ValueError as e:
            raise InputError(txt, str(e)) from e
        out.append(LabelledImage(img, size, boxes, aerial_cars_group(img.stem), "aerial-cars"))
    return out


def read_held_out_photos(folder: Path, stems: Iterable[str] | None = None) -> list[LabelledImage]:
    """The held-out full DJI photos of aerial-cars (only those in ``stems``, default all five)."""
    wanted = set(stems) if stems is not None else set(HELD_OUT_PHOTOS)
    return [im for im in read_aerial_cars(folder, include_held_out=True) if im.image_path.stem in wanted]


def read_uavpdd(folder: Path) -> list[LabelledImage]:
    """UAV-PDD2023 samples: Pascal VOC XML whose ``<filename>`` is the original dataset name, mapped to
    the local image through ``samples_manifest.json`` (``source`` ends with that name). One group per image.
    """
    folder = Path(folder)
    manifest_path = folder / "samples_manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError(manifest_path, "missing samples manifest") from e
    except json.JSONDecodeError as e:
        raise InputError(manifest_path, f"not valid JSON: {e}") from e
    by_original: dict[str, str] = {}
    for s in manifest.get("samples", []):
        original = re.split(r"[\\/]", str(s.get("source", "")))[-1]
        if original and s.get("file"):
            by_original[original] = s["file"]
    out: list[LabelledImage] = []
    for xml in sorted((folder / "annotations").glob("*.xml")):
        filename, size, boxes = read_voc_file(xml, UAVPDD_MAP)
        local = by_original.get(filename)
        if local is None:
            raise InputError(xml, f"<filename> {filename!r} is not in {manifest_path.name}")
        img = folder / local
        real_size = image_size_wh(img)
        if size is not None and size != real_size:
            sx, sy = real_size[0] / size[0], real_size[1] / size[1]
            boxes = tuple(
                LabelledBox((b.bbox_xyxy_px[0] * sx, b.bbox_xyxy_px[1] * sy, b.bbox_xyxy_px[2] * sx,
                             b.bbox_xyxy_px[3] * sy), b.class_name)
                for b in boxes
            )
        # samples are quadrants of original photos (lr_00088_bottom_left/right): group by the original
        group = re.sub(r"_(top|bottom)_(left|right)$", "", Path(filename).stem)
        out.append(LabelledImage(img, real_size, boxes, f"uavpdd:{group}", "road-damage-uavpdd"))
    return out


def read_yolo_folder(folder: Path, names: list[str] | None = None, source: str = "user") -> list[LabelledImage]:
    """A user's labelled folder: images with YOLO txt next to them (or in a sibling ``labels/``).

    Class names come from ``names`` or a ``classes.txt``/``*.names`` file; names that are detector
    classes map to themselves, others are dropped. One group per image, or per subfolder if any.
    """
    folder = Path(folder)
    if names is None:
        for cand in [folder / "classes.txt", *sorted(folder.glob("*.names"))]:
            if cand.is_file():
                names = [n.strip() for n in cand.read_text(encoding="utf-8").splitlines() if n.strip()]
                break
    if names is None:
        names = list(CLASSES)
    class_map = {n.lower(): (n.lower() if n.lower() in CLASSES else None) for n in names}
    class_map.update(AERIAL_CARS_MAP)
    out: list[LabelledImage] = []
    for img in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        txt = img.with_suffix(".txt")
        if not txt.is_file():
            alt = Path(str(img.parent).replace("images", "labels")) / (img.stem + ".txt")
            txt = alt if alt.is_file() else txt
        if not txt.is_file():
            continue
        size = image_size_wh(img)
        try:
            boxes = parse_yolo_labels(txt.read_text(encoding="utf-8"), size, names, class_map)
        except ValueError as e:
            raise InputError(txt, str(e)) from e
        rel = img.parent.relative_to(folder)
        group = f"{source}:{rel}" if str(rel) not in ("", ".") else f"{source}:{img.stem}"
        out.append(LabelledImage(img, size, boxes, group, source))
    return out
