"""Evaluation on a labelled folder: AP50 per class, precision and recall at the operating threshold.

Labels: YOLO txt (``cls cx cy w h`` normalised, class names from a ``*.names`` / ``classes.txt`` file
or ``data.yaml``; without one, ids are patrol's CLASSES in order, as ``patrol sim`` writes them) next
to each image, in a ``labels/`` folder beside it or beside ``images/``, or Pascal VOC xml (matched to
an image by the xml's name, its name without ``_annotation``, or its ``<filename>``). Source class names
go through a class map to patrol's classes; ``None`` in the map = ignore that class.

Inference is the production path: the same tiled ``run_tiles`` with the plan from the settings, at a
low score floor so the whole precision/recall curve exists; precision and recall are then read at the
operating confidence. AP50 is COCO 101-point AP at IoU 0.5 (as pycocotools computes it; ultralytics'
mAP50 interpolates linearly past the last recall reached and reads higher when recall stays low).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from patrol.detect.base import CLASSES, Detection
from patrol.detect.negatives import NegativeScore, score_negatives
from patrol.errors import ConfigError, InputError
from patrol.metrics import ap_from_flags

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")

# Source label names (normalised: lower case, runs of space/-/_ -> "_") -> patrol class; None = ignore.
DEFAULT_CLASS_MAP: dict[str, str | None] = {
    **{c: c for c in CLASSES},
    # aerial-cars (aerial.names)
    "car": "vehicle",
    "truck": "vehicle",
    "bus": "vehicle",
    "minibus": "vehicle",
    "van": "vehicle",
    "cyclist": None,
    # UAV-PDD2023
    "alligator_crack": "road_damage",
    "longitudinal_crack": "road_damage",
    "oblique_crack": "road_damage",
    "transverse_crack": "road_damage",
    "pothole": "road_damage",
    "repair": None,
    # RDD2022 (all countries' codes; D43/D44 are blurred markings, D50 a manhole: not damage)
    "d00": "road_damage",
    "d01": "road_damage",
    "d10": "road_damage",
    "d11": "road_damage",
    "d20": "road_damage",
    "d40": "road_damage",
    "block_crack": "road_damage",
    "d43": None,
    "d44": None,
    "d50": None,
    # omu-geolab crack tiles (classes.txt: crack)
    "crack": "road_damage",
}


def norm_name(name: str) -> str:
    return re.sub(r"[\s\-_]+", "_", name.strip().lower())


@dataclass(frozen=True)
class GtBox:
    bbox_xyxy_px: tuple[float, float, float, float]
    class_name: str


@dataclass(frozen=True)
class LabelledImage:
    path: str
    boxes: tuple[GtBox, ...]


@dataclass(frozen=True)
class ClassMetrics:
    """One class: ``n_gt`` labelled objects, ``n_pred`` detections at the operating confidence of which
    ``tp`` matched; ``ap50`` over all scores (None when the class has no labelled object)."""

    class_name: str
    n_gt: int
    n_pred: int
    tp: int
    ap50: float | None
    precision: float | None
    recall: float | None


@dataclass(frozen=True)
class EvalReport:
    model: str
    data: str
    confidence: dict[str, float]  # operating threshold per class
    images: int
    seconds: float
    per_class: tuple[ClassMetrics, ...]
    unmapped: dict[str, int] = field(default_factory=dict)  # source class name -> objects left out
    skipped: tuple[str, ...] = ()  # images without a label file
    negatives: NegativeScore | None = None  # false alarms on a folder of real negative frames

    @property
    def map50(self) -> float | None:
        aps = [c.ap50 for c in self.per_class if c.ap50 is not None]
        return float(np.mean(aps)) if aps else None

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "data": self.data,
            "confidence": self.confidence,
            "images": self.images,
            "seconds": round(self.seconds, 2),
            "map50": self.map50,
            "per_class": [c.__dict__ for c in self.per_class],
            "unmapped": self.unmapped,
            "skipped": list(self.skipped),
            "negatives": None if self.negatives is None else self.negatives.to_dict(),
        }


# --- pure metrics ---------------------------------------------------------------------------------


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match(gt: Sequence[tuple[float, float, float, float]], dets: Sequence[Detection], iou: float = 0.5) -> np.ndarray:
    """Greedy matching of one image and one class: detections by descending score, each to the
    unmatched ground-truth box of highest IoU >= ``iou``. Returns a bool TP flag per detection (in
    the order given)."""
    tp = np.zeros(len(dets), dtype=bool)
    if not len(gt) or not len(dets):
        return tp
    m = iou_matrix(np.array([d.bbox_xyxy_px for d in dets]), np.array(gt))
    used = np.zeros(len(gt), dtype=bool)
    for i in np.argsort([-d.score for d in dets], kind="stable"):
        cand = np.where(~used & (m[i] >= iou))[0]
        if cand.size:
            j = cand[np.argmax(m[i, cand])]
            used[j] = True
            tp[i] = True
    return tp


def average_precision(scores: np.ndarray, tp: np.ndarray, n_gt: int) -> float | None:
    """AP50 from per-detection scores and TP flags, the one definition of ``patrol.metrics`` (the model
    card's too). None when ``n_gt`` is 0."""
    return ap_from_flags(scores, tp, n_gt)


def score(
    pairs: Iterable[tuple[Sequence[GtBox], Sequence[Detection]]],
    classes: Sequence[str],
    confidence: float | Mapping[str, float],
    iou: float = 0.5,
) -> list[ClassMetrics]:
    """Metrics per class over (ground truth, detections) pairs, one pair per image. ``confidence``:
    the operating threshold, one for all classes or per class."""
    conf = _per_class(confidence, classes)
    acc: dict[str, dict] = {c: {"scores": [], "tp": [], "n_gt": 0} for c in classes}
    for gt, dets in pairs:
        for c in classes:
            g = [b.bbox_xyxy_px for b in gt if b.class_name == c]
            d = [x for x in dets if x.class_name == c]
            acc[c]["n_gt"] += len(g)
            acc[c]["scores"].extend(x.score for x in d)
            acc[c]["tp"].extend(match(g, d, iou).tolist())
    out = []
    for c in classes:
        s = np.asarray(acc[c]["scores"], dtype=float)
        t = np.asarray(acc[c]["tp"], dtype=bool)
        n_gt = acc[c]["n_gt"]
        at = s >= conf[c]
        n_pred, tp = int(at.sum()), int(t[at].sum())
        out.append(
            ClassMetrics(
                class_name=c,
                n_gt=n_gt,
                n_pred=n_pred,
                tp=tp,
                ap50=average_precision(s, t, n_gt),
                precision=(tp / n_pred) if n_pred else None,
                recall=(tp / n_gt) if n_gt else None,
            )
        )
    return out


def _per_class(confidence: float | Mapping[str, float], classes: Sequence[str]) -> dict[str, float]:
    if isinstance(confidence, Mapping):
        return {c: float(confidence.get(c, 0.5)) for c in classes}
    return {c: float(confidence) for c in classes}


# --- reading labelled folders ---------------------------------------------------------------------


def parse_class_map(spec: str | None) -> dict[str, str | None]:
    """``None`` = the default map. A JSON/TOML file, or inline ``car=vehicle,cyclist=`` (empty = ignore).
    ConfigError naming the problem; targets must be patrol classes."""
    if not spec:
        return dict(DEFAULT_CLASS_MAP)
    p = Path(spec)
    raw: Mapping
    if p.is_file():
        text = p.read_text(encoding="utf-8")
        try:
            if p.suffix.lower() == ".toml":
                import tomllib

                raw = tomllib.loads(text)
            else:
                raw = json.loads(text)
        except ValueError as e:
            raise ConfigError(f"{p}: class map is not valid {p.suffix.lstrip('.') or 'JSON'}: {e}") from e
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{p}: class map must be a table of source name -> patrol class")
    elif "=" in spec:
        raw = {}
        for item in spec.split(","):
            if "=" not in item:
                raise ConfigError(f"class map item {item!r}: expected source=target")
            k, v = item.split("=", 1)
            raw[k] = v.strip() or None
    else:
        raise ConfigError(f"class map {spec!r}: not a file and not source=target pairs")
    out: dict[str, str | None] = {c: c for c in CLASSES}
    for k, v in raw.items():
        if v in ("", None, False):
            out[norm_name(str(k))] = None
        elif v not in CLASSES:
            raise ConfigError(f"class map: {k!r} -> {v!r} is not a patrol class ({', '.join(CLASSES)})")
        else:
            out[norm_name(str(k))] = v
    return out


def _names_for(folder: Path, root: Path) -> list[str] | None:
    """YOLO class names: the nearest ``*.names``, ``classes.txt`` or ``data.yaml`` up to ``root``."""
    for d in [folder, *folder.parents]:
        for f in sorted(d.glob("*.names")) + [d / "classes.txt"]:
            if f.is_file():
                return [ln.strip() for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
        y = d / "data.yaml"
        if y.is_file():
            names = _yaml_names(y)
            if names:
                return names
        if d == root or d == d.parent:
            break
    return None


def _yaml_names(path: Path) -> list[str] | None:
    try:
        import yaml
    except ImportError:
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names)]
    if isinstance(names, list):
        return [str(n) for n in names]
    return None


def read_yolo(path: Path, size_wh: tuple[int, int], names: Sequence[str] | None) -> list[tuple[str, tuple]]:
    """(source class name, xyxy px) per line. InputError naming the file and line on a bad line."""
    w, h = size_wh
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            c = int(parts[0])
            cx, cy, bw, bh = (float(v) for v in parts[1:5])
            if len(parts) < 5:
                raise ValueError
        except ValueError as e:
            raise InputError(path, f"line {i}: expected 'class cx cy w h', got {line.strip()!r}") from e
        name = names[c] if names and 0 <= c < len(names) else str(c)
        out.append((name, ((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)))
    return out


def read_voc(path: Path) -> tuple[str | None, list[tuple[str, tuple]]]:
    """(<filename> text, [(class name, xyxy px)]) from a Pascal VOC xml (defusedxml: no entity bombs)."""
    from defusedxml import ElementTree

    try:
        root = ElementTree.parse(str(path)).getroot()
    except Exception as e:  # ParseError and defusedxml's DTD/entity refusals
        raise InputError(path, f"not a readable Pascal VOC xml: {e}") from e
    out = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        try:
            box = tuple(float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))  # type: ignore[union-attr]
        except (AttributeError, TypeError, ValueError) as e:
            raise InputError(path, f"object {name!r} has no numeric bndbox") from e
        out.append((name, box))
    return root.findtext("filename"), out


def _voc_index(root: Path) -> dict[str, Path]:
    idx: dict[str, Path] = {}
    for x in sorted(root.rglob("*.xml")):
        keys = [x.stem, re.sub(r"_annotation$", "", x.stem)]
        try:
            fn, _ = read_voc(x)
        except InputError:
            fn = None
        if fn:
            keys.append(Path(fn.replace("\\", "/")).stem)
        for k in keys:
            idx.setdefault(k, x)
    return idx


LabelSource = Callable[[tuple[int, int]], list[tuple[str, tuple]]]


def load_labelled(data_dir: str | Path) -> tuple[list[tuple[Path, LabelSource]], list[str], list[InputError]]:
    """(images with a label reader taking the decoded image size, images without labels, per-file
    errors) under ``data_dir``. ConfigError when it is not a folder or has no images."""
    root = Path(data_dir)
    if not root.is_dir():
        raise ConfigError(f"{root}: not a folder")
    images = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise ConfigError(f"{root}: no images found")
    voc = _voc_index(root)
    found: list[tuple[Path, LabelSource]] = []
    skipped: list[str] = []
    errors: list[InputError] = []
    for img in images:
        candidates = [img.with_suffix(".txt"), img.parent / "labels" / (img.stem + ".txt")]
        if img.parent.name == "images":
            candidates.append(img.parent.parent / "labels" / (img.stem + ".txt"))
        txt = next((c for c in candidates if c.is_file()), candidates[0])
        if txt.is_file():
            names = _names_for(txt.parent, root) or list(CLASSES)
            found.append((img, lambda hw, t=txt, n=names: read_yolo(t, hw, n)))
        elif img.stem in voc:
            found.append((img, lambda hw, x=voc[img.stem]: read_voc(x)[1]))
        else:
            skipped.append(str(img))
    return found, skipped, errors


def to_gt(boxes: Iterable[tuple[str, tuple]], class_map: Mapping[str, str | None], unmapped: Counter) -> tuple[GtBox, ...]:
    out = []
    for name, (x1, y1, x2, y2) in boxes:
        key = norm_name(name)
        target = class_map.get(key, None)
        if target is None:
            unmapped[name] += 1
            continue
        if x2 > x1 and y2 > y1:
            out.append(GtBox((float(x1), float(y1), float(x2), float(y2)), target))
    return tuple(out)


def evaluate_folder(
    data_dir: str | Path,
    detect: Callable[[np.ndarray, Path], Sequence[Detection]],
    confidence: float | Mapping[str, float],
    class_map: Mapping[str, str | None] | None = None,
    model: str = "",
    on_error: Callable[[InputError], None] | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> EvalReport:
    """Run ``detect(image, path)`` (full-frame tiled inference at a low score floor) on every labelled
    image under ``data_dir`` and score it. Bad files go to ``on_error`` and are left out."""
    from patrol.detect.engine import read_image

    cmap = dict(DEFAULT_CLASS_MAP) if class_map is None else dict(class_map)
    t0 = time.perf_counter()
    found, skipped, errors = load_labelled(data_dir)
    for e in errors:
        if on_error:
            on_error(e)
    unmapped: Counter = Counter()
    pairs = []
    items = progress(found) if progress else found
    for img_path, labels in items:
        try:
            image = read_image(img_path)
            boxes = labels((image.shape[1], image.shape[0]))
        except InputError as e:
            if on_error:
                on_error(e)
            continue
        except (OSError, UnicodeDecodeError) as e:
            if on_error:
                on_error(InputError(img_path, f"cannot read its label file: {e}"))
            continue
        pairs.append((to_gt(boxes, cmap, unmapped), list(detect(image, img_path))))
    classes = [c for c in CLASSES if any(v == c for v in cmap.values())]
    per_class = score(pairs, classes, confidence)
    return EvalReport(
        model=model,
        data=str(data_dir),
        confidence=_per_class(confidence, classes),
        images=len(pairs),
        seconds=time.perf_counter() - t0,
        per_class=tuple(per_class),
        unmapped=dict(unmapped),
        skipped=tuple(skipped),
    )


EVAL_SCORE_FLOOR = 0.01  # detections below this never matter for AP50 in practice; lower = slower merge


def evaluate_model(
    settings,
    data_dir: str | Path,
    class_map: Mapping[str, str | None] | None = None,
    on_error: Callable[[InputError], None] | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
    negatives: Path | None = None,
    negative_classes: Sequence[str] = ("vendor_stall", "road_damage", "garbage"),
) -> EvalReport:
    """Load the detector the settings name (at a low score floor), run production tiling (no ROI:
    labels cover the whole image) on ``data_dir``, and score at the operating confidence:
    ``settings.detect.confidence`` when set, else ``[detect] class_confidence`` for the classes it
    names, else the model's own per-class operating point."""
    from dataclasses import replace

    from patrol.detect.engine import frame_gsd_m, plan_from_settings, run_tiles
    from patrol.detect.onnx import class_thresholds
    from patrol.detect.registry import load_detector, model_path

    s = settings.detect
    floor = EVAL_SCORE_FLOOR if s.confidence is None else min(EVAL_SCORE_FLOOR, s.confidence)
    det = load_detector(replace(s, confidence=floor))
    names = tuple(getattr(det, "class_names", ()) or CLASSES)
    operating = class_thresholds(names, s.confidence, getattr(det, "model_confidence", None), s.class_confidence)
    plan = plan_from_settings(s, det)

    def detect(image: np.ndarray, path: Path) -> Sequence[Detection]:
        # geotagged photos get the GSD-adaptive class scales, as in `patrol detect`
        gsd = frame_gsd_m(path, settings) if s.class_gsd_m else None
        p = plan if gsd is None else plan_from_settings(s, det, gsd)
        return run_tiles(image, det, p).detections

    report = evaluate_folder(
        data_dir,
        detect,
        confidence=operating,
        class_map=class_map,
        model=str(model_path(s)),
        on_error=on_error,
        progress=progress,
    )
    if negatives is None:
        return report
    neg = score_negatives(Path(negatives), detect, tuple(negative_classes), operating, on_error, progress)
    return replace(report, negatives=neg)
