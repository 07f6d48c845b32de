"""Pure tiling, label conversion and group split."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patrol.detect.base import CLASSES
from patrol.train.labels import LabelledBox, parse_yolo_labels
from patrol.train.tiles import boxes_in_tile, split_groups, tile_grid, tile_starts, yolo_lines


@pytest.mark.parametrize(
    ("length", "tile", "stride", "expected"),
    [
        (320, 320, 256, [0]),
        (200, 320, 256, [0]),
        (600, 320, 256, [0, 256, 280]),
        (832, 320, 256, [0, 256, 512]),
        (1080, 320, 256, [0, 256, 512, 760]),
    ],
)
def test_tile_starts(length, tile, stride, expected) -> None:
    assert tile_starts(length, tile, stride) == expected


def test_tile_starts_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        tile_starts(100, 0, 10)


@given(st.integers(1, 3000), st.integers(1, 3000), st.sampled_from([(320, 256), (640, 512), (320, 320)]))
def test_tile_grid_covers_every_pixel_with_in_image_tiles(w, h, ts) -> None:
    tile, stride = ts
    grid = tile_grid((w, h), tile, stride)
    for x1, y1, x2, y2 in grid:
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert x2 - x1 == min(tile, w) and y2 - y1 == min(tile, h)
    xs = sorted({(t[0], t[2]) for t in grid})
    ys = sorted({(t[1], t[3]) for t in grid})
    # consecutive tiles overlap or touch, first starts at 0, last ends at the edge
    assert xs[0][0] == 0 and xs[-1][1] == w and all(a[1] >= b[0] for a, b in zip(xs, xs[1:]))
    assert ys[0][0] == 0 and ys[-1][1] == h and all(a[1] >= b[0] for a, b in zip(ys, ys[1:]))


@pytest.mark.parametrize(
    ("box", "kept", "ambiguous"),
    [
        ((10, 10, 30, 30), [(10, 10, 30, 30)], []),  # inside
        ((90, 10, 110, 30), [(90, 10, 100, 30)], []),  # half inside: kept, clipped
        ((95, 10, 115, 30), [], [(95, 10, 100, 30)]),  # a sliver: ambiguous
        ((200, 200, 210, 210), [], []),  # outside
    ],
)
def test_boxes_in_tile(box, kept, ambiguous) -> None:
    k, a = boxes_in_tile([LabelledBox(box, "vehicle")], (0, 0, 100, 100), min_visible=0.4)
    assert [b.bbox_xyxy_px for b in k] == kept
    assert list(a) == ambiguous


def test_boxes_in_tile_shifts_to_tile_pixels() -> None:
    (b,), _ = boxes_in_tile([LabelledBox((260, 300, 280, 310), "garbage")], (256, 256, 576, 576))
    assert b.bbox_xyxy_px == (4, 44, 24, 54)


box_st = st.tuples(st.floats(0, 300), st.floats(0, 300), st.floats(2, 100), st.floats(2, 100)).map(
    lambda t: (t[0], t[1], min(320.0, t[0] + t[2]), min(320.0, t[1] + t[3]))
).filter(lambda b: b[2] - b[0] > 1 and b[3] - b[1] > 1)


@given(st.lists(st.tuples(box_st, st.sampled_from(CLASSES)), max_size=8))
def test_yolo_lines_round_trip(items) -> None:
    boxes = [LabelledBox(b, c) for b, c in items]
    text = "\n".join(yolo_lines(boxes, (320, 320), CLASSES))
    back = parse_yolo_labels(text, (320, 320), list(CLASSES), {c: c for c in CLASSES})
    assert [b.class_name for b in back] == [b.class_name for b in boxes]
    for a, b in zip(back, boxes):
        assert a.bbox_xyxy_px == pytest.approx(b.bbox_xyxy_px, abs=0.01)


@given(st.sets(st.text("abcdef:", min_size=1, max_size=6), min_size=0, max_size=30), st.floats(0, 0.9), st.integers(0, 5))
def test_split_groups_whole_groups_and_deterministic(groups, frac, seed) -> None:
    a = split_groups(groups, frac, seed)
    assert a == split_groups(sorted(groups, reverse=True), frac, seed)
    assert set(a) == set(groups)
    assert set(a.values()) <= {"train", "val"}
    if len(groups) >= 2:
        assert "train" in a.values()
        if frac > 0:
            assert "val" in a.values()


def test_split_groups_forced_val() -> None:
    a = split_groups(["video:A", "video:B", "video:C"], 0.0, forced_val=["video:B"])
    assert a == {"video:A": "train", "video:B": "val", "video:C": "train"}
    with pytest.raises(ValueError):
        split_groups(["a"], 1.0)
