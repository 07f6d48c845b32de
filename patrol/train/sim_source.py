"""Training images from ``patrol.sim``: jittered crops of synthetic world rasters, and rendered flights.

World crops: a square crop around a random point (biased towards objects of rare classes) at a random
ground sample distance, rotation and colour jitter; each object's exact world outline is carried
through the same transform, and its axis-aligned box is the label. Rendered flight frames come with
per-frame YOLO boxes in ``truth.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from patrol.detect.base import CLASSES
from patrol.errors import InputError
from patrol.train.labels import IMAGE_SUFFIXES, LabelledBox, LabelledImage, image_size_wh


MIN_VISIBLE_FRAC = 0.3  # sim labels of objects mostly hidden (under a tree, cut by the frame) are skipped


@dataclass(frozen=True)
class WorldObject:
    """What a crop needs of a sim object: its detector class and exact outline in world metres."""

    class_name: str
    outline_en: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class CropJitter:
    """Random ranges for world crops. GSD in metres per output pixel."""

    gsd_m: tuple[float, float] = (0.02, 0.10)
    colour: float = 0.25  # brightness/contrast/saturation spread
    blur_px: float = 1.2
    noise: float = 6.0
    object_bias: float = 0.8  # share of crops centred near an object (rare classes first)


def crop_transform(center_px: tuple[float, float], angle_deg: float, zoom: float, out_px: int) -> np.ndarray:
    """2x3 affine from raster pixels to crop pixels: rotate by ``angle_deg`` about ``center_px``, scale
    by ``zoom`` (crop pixels per raster pixel), and put the centre in the middle of the crop."""
    a = math.radians(angle_deg)
    c, s = math.cos(a) * zoom, math.sin(a) * zoom
    cx, cy = center_px
    half = out_px / 2.0
    return np.array([[c, s, half - c * cx - s * cy], [-s, c, half + s * cx - c * cy]], float)


def transform_box(outline_px: np.ndarray, m: np.ndarray) -> tuple[float, float, float, float] | None:
    """Axis-aligned box of an outline (N, 2 raster px) after the affine ``m``; None if degenerate."""
    pts = np.asarray(outline_px, float) @ m[:, :2].T + m[:, 2]
    x1, y1 = pts.min(axis=0)
    x2, y2 = pts.max(axis=0)
    if not (x2 - x1 >= 1 and y2 - y1 >= 1):
        return None
    return float(x1), float(y1), float(x2), float(y2)


def _jitter_colour(img: np.ndarray, rng: np.random.Generator, j: CropJitter) -> np.ndarray:
    import cv2

    out = img.astype(np.float32)
    gain = 1.0 + rng.uniform(-j.colour, j.colour)
    bias = rng.uniform(-25, 25) * j.colour / 0.25
    mean = out.mean(axis=(0, 1), keepdims=True)
    contrast = 1.0 + rng.uniform(-j.colour, j.colour)
    out = (out - mean) * contrast + mean * gain + bias
    grey = out.mean(axis=2, keepdims=True)
    sat = 1.0 + rng.uniform(-j.colour, j.colour)
    out = grey + (out - grey) * sat
    out = out * (1.0 + rng.uniform(-0.06, 0.06, size=(1, 1, 3)))  # white balance
    if j.noise > 0:
        out += rng.normal(0, rng.uniform(0, j.noise), size=out.shape)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if j.blur_px > 0 and rng.random() < 0.5:
        sigma = rng.uniform(0.3, j.blur_px)
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    return out


def _warp(raster_bgr: np.ndarray, m: np.ndarray, zoom: float, out_px: int) -> np.ndarray:
    """Warp only the raster window the crop needs, low-pass filtered first when shrinking (no aliasing)."""
    import cv2

    h, w = raster_bgr.shape[:2]
    inv = cv2.invertAffineTransform(m)
    corners = np.array([[0, 0], [out_px, 0], [0, out_px], [out_px, out_px]], float) @ inv[:, :2].T + inv[:, 2]
    pad = 4 + int(2 / max(zoom, 1e-3))
    x0 = int(max(0, math.floor(corners[:, 0].min()) - pad))
    y0 = int(max(0, math.floor(corners[:, 1].min()) - pad))
    x1 = int(min(w, math.ceil(corners[:, 0].max()) + pad))
    y1 = int(min(h, math.ceil(corners[:, 1].max()) + pad))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.full((out_px, out_px, 3), 114, np.uint8)
    win = raster_bgr[y0:y1, x0:x1]
    if zoom < 0.8:
        win = cv2.GaussianBlur(win, (0, 0), 0.45 / zoom)
    shifted = m.copy()
    shifted[:, 2] += m[:, :2] @ np.array([x0, y0], float)
    return cv2.warpAffine(win, shifted, (out_px, out_px), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def world_crops(
    raster_bgr: np.ndarray,
    res_m: float,
    to_px: Callable[[np.ndarray], np.ndarray],
    objects: Sequence[WorldObject],
    n: int,
    out_px: int,
    rng: np.random.Generator,
    jitter: CropJitter = CropJitter(),
) -> list[tuple[np.ndarray, tuple[LabelledBox, ...]]]:
    """``n`` jittered square crops of a world raster, each with the boxes of the objects inside.

    ``to_px`` maps (N, 2) east-north metres to raster pixels; ``res_m`` is the raster's metres/pixel.
    Boxes may extend past the crop (the tiler clips them and greys out slivers).
    """
    h, w = raster_bgr.shape[:2]
    outlines = [(o.class_name, np.asarray(to_px(np.asarray(o.outline_en, float)), float)) for o in objects]
    by_class: dict[str, list[int]] = {}
    for i, (c, _) in enumerate(outlines):
        by_class.setdefault(c, []).append(i)
    classes = [c for c in CLASSES if c in by_class]
    out = []
    for _ in range(n):
        gsd = math.exp(rng.uniform(math.log(jitter.gsd_m[0]), math.log(jitter.gsd_m[1])))
        zoom = res_m / gsd
        if classes and rng.random() < jitter.object_bias:
            c = classes[int(rng.integers(len(classes)))]
            pts = outlines[by_class[c][int(rng.integers(len(by_class[c])))]][1]
            span = out_px / zoom * 0.35
            center = pts.mean(axis=0) + rng.uniform(-span, span, 2)
        else:
            center = np.array([rng.uniform(0, w), rng.uniform(0, h)])
        m = crop_transform((float(center[0]), float(center[1])), float(rng.uniform(0, 360)), zoom, out_px)
        img = _warp(raster_bgr, m, zoom, out_px)
        img = _jitter_colour(img, rng, jitter)
        boxes = []
        for c, pts in outlines:
            b = transform_box(pts, m)
            if b is None or b[2] <= 0 or b[3] <= 0 or b[0] >= out_px or b[1] >= out_px:
                continue
            boxes.append(LabelledBox(b, c))
        out.append((img, tuple(boxes)))
    return out


def write_crops(crops, out_dir: Path, stem: str, group: str) -> list[LabelledImage]:
    """Write crops as JPEG files and return them as labelled images of source "sim"."""
    import cv2

    out_dir.mkdir(parents=True, exist_ok=True)
    images = []
    for i, (img, boxes) in enumerate(crops):
        p = out_dir / f"{stem}_{i:04d}.jpg"
        if not cv2.imwrite(str(p), img, [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise InputError(p, "cannot write crop")
        images.append(LabelledImage(p, (img.shape[1], img.shape[0]), boxes, group, "sim"))
    return images


def sim_world_images(
    n_worlds: int, out_dir: Path, crops_per_world: int, out_px: int, seed0: int = 1000, log=print
) -> list[LabelledImage]:
    """Render ``n_worlds`` synthetic worlds with ``patrol.sim`` and cut jittered crops from each.

    Each world (seed) is one split group. Raises InputError when patrol.sim has no world renderer.
    """
    from patrol.train import sim_adapter

    images: list[LabelledImage] = []
    done = 0
    for seed in range(seed0, seed0 + 3 * n_worlds):  # a world the simulator cannot paint is skipped
        if done == n_worlds:
            break
        try:
            worlds = sim_adapter.render_worlds(seed)
        except InputError:
            raise
        except Exception as e:  # the simulator's geometry can fail on a rare layout: try the next seed
            log(f"sim world {seed} skipped: {type(e).__name__}: {e}")
            continue
        done += 1
        for scenario, (raster, res_m, to_px, objects) in worlds:
            rng = np.random.default_rng([seed, len(scenario)])
            crops = world_crops(raster, res_m, to_px, objects, crops_per_world, out_px, rng)
            images += write_crops(crops, Path(out_dir) / f"world{seed}", f"w{seed}_{scenario}", f"simworld:{seed}")
    return images


def read_sim_flights(folder: Path, max_frames: int | None = None) -> list[LabelledImage]:
    """Rendered sim flights (``truth.json`` + frames) under ``folder`` (the folder or its subfolders).

    Each flight is one split group. Per-frame boxes are read from ``frames[*]`` entries holding a file
    name and YOLO lines or pixel boxes; InputError when the file does not look like that.
    ``max_frames`` keeps that many evenly spaced frames of each flight.
    """
    folder = Path(folder)
    truths = [folder / "truth.json"] if (folder / "truth.json").is_file() else sorted(folder.glob("*/truth.json"))
    out: list[LabelledImage] = []
    for t in truths:
        try:
            truth = json.loads(t.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise InputError(t, f"not valid JSON: {e}") from e
        frames = truth.get("frames") if isinstance(truth, dict) else None
        if not isinstance(frames, list):
            raise InputError(t, "expected a 'frames' list")
        group = f"simworld:{truth.get('seed', t.parent.name)}"  # same city as its world crops: same side
        if max_frames is not None and len(frames) > max_frames:  # evenly spaced: neighbours overlap a lot
            step = len(frames) / max_frames
            frames = [frames[int(i * step)] for i in range(max_frames)]
        for fr in frames:
            out.append(_sim_frame(t, fr, group))
    return out


def _sim_frame(truth_path: Path, fr: dict, group: str) -> LabelledImage:
    name = fr.get("file") or fr.get("image") or fr.get("name") or fr.get("path")
    if not name:
        raise InputError(truth_path, "a frame has no file name")
    img = truth_path.parent / str(name)
    if img.suffix.lower() not in IMAGE_SUFFIXES or not img.is_file():
        raise InputError(img, "frame image named in truth.json is missing")
    size = tuple(fr.get("size_wh") or image_size_wh(img))
    boxes: list[LabelledBox] = []
    for b in fr.get("labels") or fr.get("boxes") or fr.get("objects") or []:
        cls = b.get("class_name") or b.get("class")
        if cls not in CLASSES or float(b.get("visible_frac", 1.0)) < MIN_VISIBLE_FRAC:
            continue
        if "bbox_xyxy_px" in b:
            x1, y1, x2, y2 = (float(v) for v in b["bbox_xyxy_px"])
        elif "yolo" in b:
            cx, cy, bw, bh = (float(v) for v in b["yolo"])
            x1, y1, x2, y2 = (cx - bw / 2) * size[0], (cy - bh / 2) * size[1], (cx + bw / 2) * size[0], (cy + bh / 2) * size[1]
        else:
            continue
        if x2 > x1 and y2 > y1:
            boxes.append(LabelledBox((x1, y1, x2, y2), cls))
    for line in fr.get("yolo", []) if isinstance(fr.get("yolo"), list) else []:
        parts = str(line).split()
        if len(parts) == 5 and 0 <= int(parts[0]) < len(CLASSES):
            cx, cy, bw, bh = (float(p) for p in parts[1:])
            boxes.append(LabelledBox(((cx - bw / 2) * size[0], (cy - bh / 2) * size[1], (cx + bw / 2) * size[0], (cy + bh / 2) * size[1]), CLASSES[int(parts[0])]))
    return LabelledImage(img, (int(size[0]), int(size[1])), tuple(boxes), group, "sim")
