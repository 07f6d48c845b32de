"""Pure tiling and splitting for training data: plain values in, plain values out."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from patrol.train.labels import LabelledBox


def tile_starts(length_px: int, tile_px: int, stride_px: int) -> list[int]:
    """Start offsets of tiles covering ``length_px``; the last tile is flush with the far edge.

    A length shorter than a tile gives one tile at 0 (the caller pads it).
    """
    if tile_px <= 0 or stride_px <= 0:
        raise ValueError(f"tile_px and stride_px must be positive, got {tile_px}, {stride_px}")
    if length_px <= tile_px:
        return [0]
    starts = list(range(0, length_px - tile_px + 1, stride_px))
    if starts[-1] != length_px - tile_px:
        starts.append(length_px - tile_px)
    return starts


def tile_grid(size_wh: tuple[int, int], tile_px: int, stride_px: int) -> list[tuple[int, int, int, int]]:
    """Tiles (x1, y1, x2, y2) in pixels covering an image of ``size_wh``, clipped to the image."""
    w, h = size_wh
    return [
        (x, y, min(x + tile_px, w), min(y + tile_px, h))
        for y in tile_starts(h, tile_px, stride_px)
        for x in tile_starts(w, tile_px, stride_px)
    ]


def scale_boxes(boxes: Iterable[LabelledBox], scale: float) -> tuple[LabelledBox, ...]:
    """Boxes of an image resized by ``scale``."""
    return tuple(LabelledBox(tuple(v * scale for v in b.bbox_xyxy_px), b.class_name) for b in boxes)  # type: ignore[arg-type]


def boxes_in_tile(
    boxes: Iterable[LabelledBox], tile_xyxy: tuple[int, int, int, int], min_visible: float = 0.4, min_side_px: float = 3.0
) -> tuple[tuple[LabelledBox, ...], tuple[tuple[float, float, float, float], ...]]:
    """Boxes clipped to a tile, in tile pixels. Returns (kept, ambiguous regions xyxy in tile pixels).

    A box with at least ``min_visible`` of its area inside the tile is kept (clipped). A sliver of a box
    is ``ambiguous``: neither a clean positive nor background, so the writer greys it out.
    """
    tx1, ty1, tx2, ty2 = tile_xyxy
    kept: list[LabelledBox] = []
    ambiguous: list[tuple[float, float, float, float]] = []
    for b in boxes:
        x1, y1, x2, y2 = b.bbox_xyxy_px
        cx1, cy1, cx2, cy2 = max(x1, tx1), max(y1, ty1), min(x2, tx2), min(y2, ty2)
        if cx2 <= cx1 or cy2 <= cy1:
            continue
        frac = (cx2 - cx1) * (cy2 - cy1) / ((x2 - x1) * (y2 - y1))
        if frac >= min_visible and cx2 - cx1 >= min_side_px and cy2 - cy1 >= min_side_px:
            kept.append(LabelledBox((cx1 - tx1, cy1 - ty1, cx2 - tx1, cy2 - ty1), b.class_name))
        else:
            ambiguous.append((cx1 - tx1, cy1 - ty1, cx2 - tx1, cy2 - ty1))
    return tuple(kept), tuple(ambiguous)


def yolo_lines(boxes: Sequence[LabelledBox], size_wh: tuple[int, int], classes: Sequence[str]) -> list[str]:
    """YOLO label lines (``cls cx cy w h`` normalised to ``size_wh``) for boxes in pixels."""
    w, h = size_wh
    out = []
    for b in boxes:
        x1, y1, x2, y2 = b.bbox_xyxy_px
        out.append(
            f"{classes.index(b.class_name)} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} "
            f"{(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"
        )
    return out


def stable_fraction(key: str, seed: int = 0) -> float:
    """A number in [0, 1) fixed by ``key`` and ``seed`` (same on every machine and Python run)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_groups(
    groups: Iterable[str], val_fraction: float, seed: int = 0, forced_val: Iterable[str] = ()
) -> dict[str, str]:
    """Assign each group to "train" or "val". Whole groups only, never single tiles.

    ``forced_val`` groups go to val; the rest are ordered by a stable hash and the first
    ``round(val_fraction * n)`` go to val. With two or more groups each side gets at least one.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    uniq = sorted(set(groups))
    forced = set(forced_val) & set(uniq)
    rest = sorted((g for g in uniq if g not in forced), key=lambda g: stable_fraction(g, seed))
    n_val = round(val_fraction * len(uniq)) - len(forced)
    if val_fraction > 0 and not forced and len(uniq) >= 2:
        n_val = max(1, n_val)
    n_val = max(0, min(n_val, len(rest) - 1 if len(rest) >= 1 else 0))
    val = forced | set(rest[:n_val])
    return {g: ("val" if g in val else "train") for g in uniq}
