"""Tiling as pure functions: tile grid, ROI selection, per-class scale passes, cross-tile merge.

Everything here takes and returns plain values (tuples, numpy arrays, Detection records); nothing
reads files or runs a model, so every step is tested alone. ``patrol.detect.engine`` wires them to a
detector.

Why not SAHI: SAHI slices the whole frame; here a frame's tiles are first filtered by the zones of
interest projected into the image (ROI tiling), objects that only need a coarse look (vehicles) can be
found on a downscaled frame, and fragments cut by tile borders are dropped by intersection-over-smaller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from patrol.detect.base import Detection

# A polygon in image pixels: an (N, 2) array-like of (u_px, v_px) vertices, or a shapely polygon.
PixelPolygon = object


@dataclass(frozen=True)
class Tile:
    """One tile of a frame: a window in pixels of the (possibly downscaled) image, x1/y1 exclusive."""

    bbox_xyxy_px: tuple[int, int, int, int]

    def __post_init__(self) -> None:
        x1, y1, x2, y2 = self.bbox_xyxy_px
        if not (x2 > x1 >= 0 and y2 > y1 >= 0):
            raise ValueError(f"tile bbox_xyxy_px must satisfy 0<=x1<x2, 0<=y1<y2, got {self.bbox_xyxy_px}")

    @property
    def size_wh(self) -> tuple[int, int]:
        x1, y1, x2, y2 = self.bbox_xyxy_px
        return (x2 - x1, y2 - y1)


@dataclass(frozen=True)
class ScalePass:
    """One inference pass: the frame resized by ``scale`` (1.0 = native resolution), then tiled.

    ``classes`` lists the classes kept from this pass (None = all): a vehicle is large enough to be
    found on a frame downscaled 2x, a crack needs every pixel.
    """

    scale: float
    classes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not (0.0 < self.scale <= 1.0):
            raise ValueError(f"scale must be in (0, 1], got {self.scale}")


@dataclass(frozen=True)
class TilePlan:
    """How a frame is cut and merged. Sizes are in pixels of the image each pass sees."""

    tile_px: int = 640
    overlap_px: int = 64
    iou: float = 0.5  # cross-tile class-wise NMS
    ios: float = 0.7  # drop a box lying more than this fraction inside a higher-scoring one
    passes: tuple[ScalePass, ...] = (ScalePass(1.0),)

    def __post_init__(self) -> None:
        if self.tile_px <= 0:
            raise ValueError(f"tile_px must be positive, got {self.tile_px}")
        if not (0 <= self.overlap_px < self.tile_px):
            raise ValueError(f"overlap_px must be in [0, tile_px), got {self.overlap_px} (tile_px {self.tile_px})")
        if not (0.0 < self.iou <= 1.0) or not (0.0 < self.ios <= 1.0):
            raise ValueError(f"iou and ios must be in (0, 1], got iou={self.iou} ios={self.ios}")
        if not self.passes:
            raise ValueError("a TilePlan needs at least one ScalePass")


def scale_passes(class_scales: Mapping[str, float], classes: Sequence[str]) -> tuple[ScalePass, ...]:
    """Group classes by the scale they are detected at. Classes not in ``class_scales`` run at 1.0.

    ``{"vehicle": 0.5}`` with classes (vehicle, road_damage) gives a 0.5 pass keeping vehicles and a
    1.0 pass keeping road_damage. With no entries: one native pass keeping every class.
    """
    if not class_scales:
        return (ScalePass(1.0),)
    by_scale: dict[float, list[str]] = {}
    for name in classes:
        by_scale.setdefault(float(class_scales.get(name, 1.0)), []).append(name)
    for name, s in class_scales.items():
        if name not in classes:
            by_scale.setdefault(float(s), []).append(name)
    return tuple(ScalePass(s, tuple(sorted(names))) for s, names in sorted(by_scale.items(), reverse=True))


def _starts(length: int, tile: int, stride: int) -> list[int]:
    if length <= tile:
        return [0]
    n = -(-(length - tile) // stride) + 1  # fewest tiles whose overlap is at least tile - stride
    # spread evenly, first flush with 0 and last flush with the edge: every tile full size, and the
    # spare room goes into every overlap instead of one thin sliver at the end
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def tile_grid(size_wh: tuple[int, int], tile_px: int, overlap_px: int) -> list[Tile]:
    """Tiles of ``tile_px`` square covering an image of ``size_wh``, neighbours overlapping by at least
    ``overlap_px``: the fewest tiles that do, spread evenly from edge to edge (so tiles stay full size
    and the spare room widens every overlap). An image smaller than a tile gives one tile of the
    image's size. Row-major.
    """
    w, h = int(size_wh[0]), int(size_wh[1])
    if w <= 0 or h <= 0:
        raise ValueError(f"size_wh must be positive, got {size_wh}")
    if tile_px <= 0 or not (0 <= overlap_px < tile_px):
        raise ValueError(f"need tile_px > 0 and 0 <= overlap_px < tile_px, got {tile_px}, {overlap_px}")
    stride = tile_px - overlap_px
    return [
        Tile((x, y, min(x + tile_px, w), min(y + tile_px, h)))
        for y in _starts(h, tile_px, stride)
        for x in _starts(w, tile_px, stride)
    ]


def _as_polygon(poly: PixelPolygon):
    from shapely.geometry import Polygon
    from shapely.geometry.base import BaseGeometry

    if isinstance(poly, BaseGeometry):
        return poly
    pts = np.asarray(poly, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise ValueError(f"a pixel polygon needs >= 3 (u, v) vertices, got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError("pixel polygon has non-finite vertices (clip it to the footprint first)")
    return Polygon(pts).buffer(0)  # buffer(0) repairs self-intersections from projection


def select_tiles(tiles: Sequence[Tile], polygons_px: Iterable[PixelPolygon] | None) -> list[Tile]:
    """Tiles that touch at least one polygon (ROI tiling). ``None`` = no zones given: all tiles.
    An empty list means zones exist but none is in view: no tile runs.
    """
    if polygons_px is None:
        return list(tiles)
    from shapely import STRtree, box

    polys = [p for p in (_as_polygon(q) for q in polygons_px) if not p.is_empty]
    if not polys:
        return []
    tree = STRtree(polys)
    keep = []
    for t in tiles:
        x1, y1, x2, y2 = t.bbox_xyxy_px
        if len(tree.query(box(x1, y1, x2, y2), predicate="intersects")):
            keep.append(t)
    return keep


def pass_polygons(roi_px: Any, classes: Sequence[str] | None) -> list | None:
    """The ROI of one ScalePass keeping ``classes`` (None = every class).

    ``roi_px`` is None (no zones: every tile runs), one list of polygons for every pass, or a mapping
    class -> polygons where that class can be a violation (None = anywhere). With a mapping the pass
    looks in the union of its classes' polygons; a class mapped to None makes the whole pass run, and a
    class missing from the mapping adds nothing (it is a violation nowhere). A pass keeping every class
    takes the union over the whole mapping.
    """
    if roi_px is None:
        return None
    if not isinstance(roi_px, Mapping):
        return list(roi_px)
    names = list(roi_px) if classes is None else [c for c in classes if c in roi_px]
    out: list = []
    for name in names:
        polys = roi_px[name]
        if polys is None:
            return None
        out.extend(polys)
    return out


def scale_polygons(polygons_px: Iterable[PixelPolygon] | None, scale: float) -> list | None:
    """Polygons in native pixels -> pixels of the frame resized by ``scale`` (None stays None)."""
    if polygons_px is None:
        return None
    from shapely import affinity

    return [affinity.scale(_as_polygon(p), scale, scale, origin=(0, 0)) for p in polygons_px]


def shift_detections(dets: Iterable[Detection], tile: Tile, scale: float = 1.0) -> list[Detection]:
    """Boxes in tile pixels -> boxes in native frame pixels (tile offset, then undo the pass scale)."""
    ox, oy = tile.bbox_xyxy_px[:2]
    out = []
    for d in dets:
        x1, y1, x2, y2 = d.bbox_xyxy_px
        out.append(
            Detection(
                ((x1 + ox) / scale, (y1 + oy) / scale, (x2 + ox) / scale, (y2 + oy) / scale),
                d.class_name,
                d.score,
            )
        )
    return out


def nms_xyxy(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy NMS (same rule as torchvision.ops.nms): indices kept, highest score first.

    A box is dropped when its IoU with a kept higher-scoring box is strictly greater than ``iou``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes.T
    areas = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        ih = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = iw * ih
        union = areas[i] + areas[rest] - inter
        ious = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[ious <= iou]
    return np.asarray(keep, dtype=np.int64)


def suppress_contained(boxes: np.ndarray, scores: np.ndarray, ios: float) -> np.ndarray:
    """Indices kept after dropping every box whose area lies more than ``ios`` inside a higher-scoring
    kept box (intersection over the smaller box's area). Tile-edge fragments of one object are the
    target: NMS keeps them because their IoU with the whole object is low.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes.T
    areas = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    for i in order:
        if keep:
            k = np.asarray(keep)
            iw = np.clip(np.minimum(x2[i], x2[k]) - np.maximum(x1[i], x1[k]), 0, None)
            ih = np.clip(np.minimum(y2[i], y2[k]) - np.maximum(y1[i], y1[k]), 0, None)
            smaller = np.minimum(areas[i], areas[k])
            frac = np.divide(iw * ih, smaller, out=np.zeros_like(smaller), where=smaller > 0)
            if (frac > ios).any():
                continue
        keep.append(int(i))
    return np.asarray(keep, dtype=np.int64)


def _overlaps(box: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(IoU, intersection over the smaller box) of ``box`` against each row of ``others``."""
    iw = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    ih = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = iw * ih
    a = max((box[2] - box[0]) * (box[3] - box[1]), 0.0)
    b = np.clip(others[:, 2] - others[:, 0], 0, None) * np.clip(others[:, 3] - others[:, 1], 0, None)
    union = a + b - inter
    smaller = np.minimum(a, b)
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    ios = np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)
    return iou, ios


def _pieces_of_one(a: np.ndarray, b: np.ndarray, frac: float, touch_px: float = 1.0) -> bool:
    """Two boxes cut by tile edges look like pieces of one object: they meet or overlap along one
    axis (gap <= ``touch_px``) and share at least ``frac`` of the smaller extent along the other."""
    ox = min(a[2], b[2]) - max(a[0], b[0])  # overlap along x (negative = gap)
    oy = min(a[3], b[3]) - max(a[1], b[1])
    if ox < -touch_px or oy < -touch_px:
        return False
    fx = ox / max(min(a[2] - a[0], b[2] - b[0]), 1e-9)
    fy = oy / max(min(a[3] - a[1], b[3] - b[1]), 1e-9)
    return fx >= frac or fy >= frac


Sides = tuple[bool, bool, bool, bool]  # cut on the left, top, right, bottom


def _absorb(kb: np.ndarray, ks: float, kc: list[bool], b: np.ndarray, sc: float, c: Sequence[bool]) -> None:
    """Merge box ``b`` (score ``sc``, cut sides ``c``) into cluster ``kb``/``ks``/``kc`` in place.

    Each side comes from the higher-scoring box that saw that side (not cut there); a side that no
    box saw is the outermost of the two (the object goes on past both tile edges).
    """
    for side in range(4):
        seen_k, seen_b = not kc[side], not c[side]
        if seen_k and seen_b:
            if sc > ks:
                kb[side] = b[side]
        elif seen_b:
            kb[side] = b[side]
        elif not seen_k:
            kb[side] = min(kb[side], b[side]) if side < 2 else max(kb[side], b[side])
        kc[side] = not (seen_k or seen_b)


def _greedy(boxes: np.ndarray, scores: np.ndarray, cut: list[list[bool]], iou: float, ios: float):
    """Highest score first: a box overlapping a kept cluster (IoU > ``iou`` or IoS > ``ios``) joins
    the highest-scoring such cluster; otherwise it starts one. For whole boxes this is plain NMS."""
    order = np.argsort(-scores, kind="stable")
    kb: list[np.ndarray] = []
    ks: list[float] = []
    kc: list[list[bool]] = []
    for i in order:
        b = boxes[i]
        if kb:
            kiou, kios = _overlaps(b, np.asarray(kb))
            hit = np.where((kiou > iou) | (kios > ios))[0]
            if hit.size:
                k = int(hit[0])
                _absorb(kb[k], ks[k], kc[k], b, float(scores[i]), cut[i])
                continue
        kb.append(b.astype(np.float64).copy())
        ks.append(float(scores[i]))
        kc.append(list(cut[i]))
    return kb, ks, kc


def _facing(a: Sequence[bool], b: Sequence[bool]) -> bool:
    """Cut sides that face each other: a's right and b's left (or the reverse), or top and bottom."""
    return (a[2] and b[0]) or (a[0] and b[2]) or (a[3] and b[1]) or (a[1] and b[3])


def _merge_class(boxes: np.ndarray, scores: np.ndarray, cut: list[list[bool]], iou: float, ios: float, join_frac: float):
    """Greedy clustering (``_greedy``), then clusters whose cut sides face each other and that meet
    like two pieces of one object (``_pieces_of_one``) are joined: an object wider than the tile
    overlap is cut in every tile that sees it. Repeated until nothing changes, since a grown box can
    now overlap a piece it did not before."""
    kb, ks, kc = _greedy(boxes, scores, cut, iou, ios)
    while True:
        n = len(kb)
        joined = True
        while joined:  # few boxes per class and frame: quadratic is fine
            joined = False
            for a in range(len(kb)):
                for c in range(a + 1, len(kb)):
                    if _facing(kc[a], kc[c]) and _pieces_of_one(kb[a], kb[c], join_frac):
                        _absorb(kb[a], ks[a], kc[a], kb[c], ks[c], kc[c])
                        ks[a] = max(ks[a], ks[c])
                        del kb[c], ks[c], kc[c]
                        joined = True
                        break
                if joined:
                    break
        kb, ks, kc = _greedy(np.asarray(kb).reshape(-1, 4), np.asarray(ks), kc, iou, ios)
        if len(kb) == n:
            return kb, ks


def merge_detections(
    dets: Sequence[Detection],
    iou: float,
    ios: float,
    cut: Sequence[bool | Sides] | None = None,
    join_frac: float = 0.5,
) -> list[Detection]:
    """Cross-tile merge, per class. A box is dropped when it overlaps a higher-scoring kept box by IoU
    > ``iou`` (NMS) or lies more than ``ios`` inside it (intersection over the smaller box: tile-edge
    fragments, which NMS keeps because their IoU with the whole object is low).

    ``cut`` says which sides of each box lie on an inner edge of its tile (left, top, right, bottom;
    one bool = all four): there the object may go on. A dropped box lends the kept one each side it saw
    and the kept one did not, so pieces of an object cut by tile borders add up to the object; two
    kept boxes whose cut sides face each other, that meet or overlap along one axis and share at least
    ``join_frac`` of their extent along the other, become one. Returned highest score first.
    """
    if cut is None:
        flags: list[list[bool]] = [[False] * 4 for _ in dets]
    else:
        flags = [[bool(c)] * 4 if isinstance(c, (bool, np.bool_)) else [bool(v) for v in c] for c in cut]
    if len(flags) != len(dets):
        raise ValueError(f"cut has {len(flags)} flags for {len(dets)} detections")
    out: list[Detection] = []
    for name in sorted({d.class_name for d in dets}):
        idx = [i for i, d in enumerate(dets) if d.class_name == name]
        boxes = np.array([dets[i].bbox_xyxy_px for i in idx], dtype=np.float64)
        scores = np.array([dets[i].score for i in idx], dtype=np.float64)
        kb, ks = _merge_class(boxes, scores, [flags[i] for i in idx], iou, ios, join_frac)
        for b, sc in zip(kb, ks):
            if b[2] > b[0] and b[3] > b[1]:
                out.append(Detection((float(b[0]), float(b[1]), float(b[2]), float(b[3])), name, sc))
    out.sort(key=lambda d: -d.score)
    return out


def cut_flags(dets: Sequence[Detection], tile: Tile, image_wh: tuple[int, int], margin_px: float = 3.0) -> list[Sides]:
    """For boxes in tile pixels: which sides (left, top, right, bottom) lie within ``margin_px`` of an
    edge of the tile that is not the image's edge (the object may continue in the neighbouring tile)."""
    x1t, y1t, x2t, y2t = tile.bbox_xyxy_px
    w, h = x2t - x1t, y2t - y1t
    iw, ih = image_wh
    out: list[Sides] = []
    for d in dets:
        x1, y1, x2, y2 = d.bbox_xyxy_px
        out.append((x1 <= margin_px and x1t > 0, y1 <= margin_px and y1t > 0, x2 >= w - margin_px and x2t < iw, y2 >= h - margin_px and y2t < ih))
    return out


def clip_detections(dets: Iterable[Detection], size_wh: tuple[int, int]) -> list[Detection]:
    """Clip boxes to the image; boxes that become empty are dropped."""
    w, h = size_wh
    out = []
    for d in dets:
        x1, y1, x2, y2 = d.bbox_xyxy_px
        b = (min(max(x1, 0.0), w), min(max(y1, 0.0), h), min(max(x2, 0.0), w), min(max(y2, 0.0), h))
        if b[2] > b[0] and b[3] > b[1]:
            out.append(Detection(b, d.class_name, d.score) if b != d.bbox_xyxy_px else d)
    return out
