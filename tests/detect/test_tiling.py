"""Pure tiling: grid coverage, ROI selection, scale passes, cross-tile merge."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrol.detect.base import Detection
from patrol.detect.tiling import (
    ScalePass,
    Tile,
    TilePlan,
    clip_detections,
    merge_detections,
    nms_xyxy,
    pass_polygons,
    scale_passes,
    select_tiles,
    shift_detections,
    suppress_contained,
    tile_grid,
)


@pytest.mark.parametrize(
    "size_wh, tile, overlap, n, first, last",
    [
        ((640, 640), 640, 64, 1, (0, 0, 640, 640), (0, 0, 640, 640)),
        ((300, 200), 640, 64, 1, (0, 0, 300, 200), (0, 0, 300, 200)),  # smaller than a tile
        ((1000, 640), 640, 64, 2, (0, 0, 640, 640), (360, 0, 1000, 640)),  # last column flush
        ((4000, 3000), 320, 64, 16 * 12, (0, 0, 320, 320), (3680, 2680, 4000, 3000)),
        ((576, 320), 320, 64, 2, (0, 0, 320, 320), (256, 0, 576, 320)),  # exact stride fit
    ],
)
def test_tile_grid_table(size_wh, tile, overlap, n, first, last):
    tiles = tile_grid(size_wh, tile, overlap)
    assert len(tiles) == n
    assert tiles[0].bbox_xyxy_px == first
    assert tiles[-1].bbox_xyxy_px == last


@pytest.mark.parametrize(
    "size_wh, tile, overlap, exc",
    [((0, 10), 320, 64, ValueError), ((10, 10), 320, 320, ValueError), ((10, 10), 0, 0, ValueError)],
)
def test_tile_grid_rejects(size_wh, tile, overlap, exc):
    with pytest.raises(exc):
        tile_grid(size_wh, tile, overlap)


@settings(max_examples=80, deadline=None)
@given(
    w=st.integers(1, 4000),
    h=st.integers(1, 4000),
    tile=st.integers(64, 700),
    frac=st.floats(0.0, 0.75),
)
def test_tile_grid_covers_every_pixel_with_overlap(w, h, tile, frac):
    overlap = int(tile * frac)
    tiles = tile_grid((w, h), tile, overlap)
    for t in tiles:
        x1, y1, x2, y2 = t.bbox_xyxy_px
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert x2 - x1 == min(tile, w) and y2 - y1 == min(tile, h)  # every tile full size
    # the grid is a product of column and row spans: check coverage and overlap per axis
    for axis, length in ((0, w), (1, h)):
        spans = sorted({(t.bbox_xyxy_px[axis], t.bbox_xyxy_px[axis + 2]) for t in tiles})
        assert len(tiles) % len(spans) == 0
        assert spans[0][0] == 0 and spans[-1][1] == length
        for (a1, a2), (b1, _) in zip(spans, spans[1:]):
            assert a2 - b1 >= overlap  # an object up to `overlap` px fits wholly inside one tile
            assert b1 > a1


def test_select_tiles_none_all_empty_none():
    tiles = tile_grid((1000, 1000), 320, 0)
    assert select_tiles(tiles, None) == tiles
    assert select_tiles(tiles, []) == []


def test_select_tiles_keeps_only_touched():
    tiles = tile_grid((960, 640), 320, 0)  # 3 x 2
    tri = np.array([[10.0, 10.0], [100.0, 10.0], [10.0, 100.0]])  # only the top-left tile
    assert [t.bbox_xyxy_px for t in select_tiles(tiles, [tri])] == [(0, 0, 320, 320)]
    band = np.array([[0.0, 300.0], [960.0, 300.0], [960.0, 340.0], [0.0, 340.0]])  # crosses both rows
    assert len(select_tiles(tiles, [band])) == 6
    outside = np.array([[2000.0, 2000.0], [2100.0, 2000.0], [2100.0, 2100.0]])
    assert select_tiles(tiles, [outside]) == []


A, B, C = "a", "b", "c"  # stand-ins for pixel polygons


@pytest.mark.parametrize(
    ("roi", "classes", "expected"),
    [
        (None, ("vehicle",), None),  # no zones: every tile
        ([A, B], ("vehicle",), [A, B]),  # one list: the same ROI for every pass
        ([A], None, [A]),
        ({"vehicle": [A, B], "garbage": None}, ("vehicle",), [A, B]),  # vehicle pass: its zones only
        ({"vehicle": [A], "garbage": None}, ("garbage", "vendor_stall"), None),  # "*" class: whole pass
        ({"vehicle": [A], "vendor_stall": [B, C]}, ("vehicle", "vendor_stall"), [A, B, C]),  # union
        ({"vehicle": [A], "vendor_stall": [B]}, ("road_damage",), []),  # a class in no rule: nothing
        ({"vehicle": [], "vendor_stall": []}, ("vehicle",), []),  # zones, none in view
        ({"vehicle": [A], "vendor_stall": [B]}, None, [A, B]),  # a pass keeping every class
        ({"vehicle": [A], "garbage": None}, None, None),
    ],
)
def test_pass_polygons(roi, classes, expected):
    assert pass_polygons(roi, classes) == expected


def test_select_tiles_rejects_nan_vertices():
    with pytest.raises(ValueError, match="non-finite"):
        select_tiles(tile_grid((100, 100), 50, 0), [np.array([[0, 0], [np.nan, 1], [1, 1.0]])])


@pytest.mark.parametrize(
    "class_scales, expect",
    [
        ({}, (ScalePass(1.0),)),
        ({"vehicle": 0.5}, (ScalePass(1.0, ("garbage", "road_damage", "vendor_stall")), ScalePass(0.5, ("vehicle",)))),
        (
            {"vehicle": 1.0},
            (ScalePass(1.0, ("garbage", "road_damage", "vehicle", "vendor_stall")),),
        ),
    ],
)
def test_scale_passes(class_scales, expect):
    assert scale_passes(class_scales, ("vehicle", "vendor_stall", "road_damage", "garbage")) == expect


@pytest.mark.parametrize("scale", [0.0, -1.0, 1.5])
def test_scale_pass_rejects(scale):
    with pytest.raises(ValueError):
        ScalePass(scale)


@pytest.mark.parametrize("kw", [dict(tile_px=0), dict(overlap_px=640), dict(iou=0.0), dict(passes=())])
def test_tile_plan_rejects(kw):
    with pytest.raises(ValueError):
        TilePlan(**kw)


def test_shift_detections_offsets_and_unscales():
    d = Detection((10.0, 20.0, 30.0, 40.0), "vehicle", 0.9)
    (out,) = shift_detections([d], Tile((100, 200, 420, 520)), scale=0.5)
    assert out.bbox_xyxy_px == (220.0, 440.0, 260.0, 480.0)


def test_nms_matches_greedy_rule():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10.0]])
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    # box 3 (0.95) suppresses 0 (iou 1) and 1 (iou 0.68); 2 is separate
    assert nms_xyxy(boxes, scores, 0.5).tolist() == [3, 2]
    assert nms_xyxy(boxes, scores, 0.7).tolist() == [3, 1, 2]
    assert nms_xyxy(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_suppress_contained_drops_fragment_not_neighbour():
    whole = [0, 0, 100, 50]
    fragment = [60, 0, 100, 50]  # 100% inside `whole`, IoU only 0.4
    neighbour = [90, 0, 190, 50]  # overlaps 10% of itself
    boxes = np.array([whole, fragment, neighbour], dtype=float)
    keep = suppress_contained(boxes, np.array([0.9, 0.8, 0.7]), 0.7)
    assert keep.tolist() == [0, 2]
    # a higher-scoring fragment keeps the whole box too (the fragment is the smaller one, it is dropped
    # only when it scores lower): intersection-over-smaller never drops the bigger box
    keep = suppress_contained(boxes[:2], np.array([0.5, 0.9]), 0.7)
    assert keep.tolist() == [1]


def test_merge_is_class_wise_and_sorted():
    dets = [
        Detection((0, 0, 100, 50), "vehicle", 0.9),
        Detection((60, 0, 100, 50), "vehicle", 0.6),  # cross-tile fragment
        Detection((0, 0, 100, 50), "garbage", 0.7),  # same box, other class: kept
        Detection((1, 1, 101, 51), "vehicle", 0.8),  # duplicate from the neighbouring tile
    ]
    out = merge_detections(dets, iou=0.5, ios=0.7)
    assert [(d.class_name, d.score) for d in out] == [("vehicle", 0.9), ("garbage", 0.7)]


def test_merge_cut_object_across_two_tiles():
    # a car 120 px wide at x 250..370 seen by tiles [0, 320) and [256, 576): the left tile sees a
    # fragment 250..320, the right tile the whole car; the fragment must go
    left = Detection((250.0, 100.0, 320.0, 140.0), "vehicle", 0.55)
    right = Detection((250.5, 100.0, 370.0, 140.5), "vehicle", 0.85)
    assert merge_detections([left, right], iou=0.5, ios=0.7) == [right]


def test_clip_detections_drops_outside():
    dets = [Detection((-5, -5, 10, 10), "vehicle", 0.5), Detection((200, 200, 210, 210), "vehicle", 0.5)]
    out = clip_detections(dets, (100, 100))
    assert [d.bbox_xyxy_px for d in out] == [(0.0, 0.0, 10, 10)]


def test_tile_grid_spreads_spare_room_evenly():
    xs = [t.bbox_xyxy_px[0] for t in tile_grid((900, 320), 320, 32)]
    assert xs == [0, 193, 387, 580]  # not 0, 288, 576, 580 (a 4 px sliver)


@pytest.mark.parametrize(
    "boxes, cut, expect",
    [
        # two pieces of one object cut at x=320 (no tile overlap): joined into the union
        ([(300, 10, 320, 30), (320, 10, 350, 30)], [True, True], [(300, 10, 350, 30)]),
        # the same boxes not flagged as cut: two objects side by side, kept apart
        ([(300, 10, 320, 30), (320, 10, 350, 30)], [False, False], [(300, 10, 320, 30), (320, 10, 350, 30)]),
        # pieces that touch but share little of their height: different objects
        ([(300, 10, 320, 30), (320, 28, 350, 60)], [True, True], [(300, 10, 320, 30), (320, 28, 350, 60)]),
        # a cut piece inside a whole box widens nothing but is dropped
        ([(300, 10, 400, 30), (300, 10, 320, 30)], [False, True], [(300, 10, 400, 30)]),
        # the whole box scores lower than the piece: the piece still grows to the whole
        ([(300, 10, 320, 30), (300, 10, 400, 30)], [True, False], [(300, 10, 400, 30)]),
    ],
)
def test_merge_with_cut_flags(boxes, cut, expect):
    dets = [Detection(tuple(float(v) for v in b), "vehicle", 0.9 - 0.1 * i) for i, b in enumerate(boxes)]
    out = merge_detections(dets, iou=0.5, ios=0.7, cut=cut)
    assert sorted(d.bbox_xyxy_px for d in out) == sorted(tuple(float(v) for v in b) for b in expect)


def test_merge_rejects_wrong_flag_count():
    with pytest.raises(ValueError, match="flags"):
        merge_detections([Detection((0, 0, 1, 1), "vehicle", 0.5)], 0.5, 0.7, cut=[True, False])
