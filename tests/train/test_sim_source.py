"""Synthetic world crops: the label follows the object through scale, rotation and jitter."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from patrol.errors import InputError
from patrol.train.sim_source import CropJitter, WorldObject, crop_transform, read_sim_flights, transform_box, world_crops


@given(st.floats(0, 360), st.floats(0.2, 3.0))
def test_crop_transform_puts_centre_in_the_middle(angle, zoom) -> None:
    m = crop_transform((500.0, 700.0), angle, zoom, 320)
    assert m[:, :2] @ np.array([500.0, 700.0]) + m[:, 2] == pytest.approx([160.0, 160.0])
    # a unit square stays a square of side zoom (rotation + uniform scale)
    b = transform_box(np.array([[500, 700], [501, 700], [501, 701], [500, 701]], float) * 10 - [4500, 6300], m)
    assert b is not None


def test_transform_box_degenerate() -> None:
    m = crop_transform((0, 0), 0, 1.0, 100)
    assert transform_box(np.array([[0, 0], [0.2, 0], [0.2, 0.2]]), m) is None


def test_world_crops_boxes_cover_the_drawn_object() -> None:
    res_m = 0.05
    raster = np.full((2000, 2000, 3), 90, np.uint8)
    # a 4 x 2 m red "car" centred at east 10 m, north -5 m; raster north-up, origin at its centre
    def to_px(en):
        en = np.asarray(en, float).reshape(-1, 2)
        return np.column_stack([(en[:, 0] + 50) / res_m - 0.5, (50 - en[:, 1]) / res_m - 0.5])
    outline = ((8.0, -6.0), (12.0, -6.0), (12.0, -4.0), (8.0, -4.0))
    px = to_px(outline)
    raster[int(px[:, 1].min()) : int(px[:, 1].max()), int(px[:, 0].min()) : int(px[:, 0].max())] = (0, 0, 255)
    jitter = CropJitter(gsd_m=(0.04, 0.08), colour=0.0, blur_px=0.0, noise=0.0, object_bias=1.0)
    crops = world_crops(raster, res_m, to_px, [WorldObject("vehicle", outline)], 12, 160, np.random.default_rng(3), jitter)
    assert len(crops) == 12
    for img, boxes in crops:
        assert img.shape == (160, 160, 3)
        red = (img[..., 2] > 150) & (img[..., 0] < 80)
        if not red.any():
            continue
        ys, xs = np.nonzero(red)
        (b,) = boxes
        x1, y1, x2, y2 = b.bbox_xyxy_px
        assert b.class_name == "vehicle"
        assert xs.min() >= x1 - 2 and xs.max() <= x2 + 2 and ys.min() >= y1 - 2 and ys.max() <= y2 + 2


def test_read_sim_flights(tmp_path) -> None:
    import cv2

    cv2.imwrite(str(tmp_path / "f0.jpg"), np.zeros((100, 200, 3), np.uint8))
    truth = {
        "seed": 7,
        "frames": [
            {"file": "f0.jpg", "boxes": [
                {"class_name": "garbage", "bbox_xyxy_px": [10, 10, 30, 40]},
                {"class_name": "vehicle", "yolo": [0.5, 0.5, 0.1, 0.2]},
                {"class_name": "tree", "bbox_xyxy_px": [1, 1, 2, 2]},
            ]}
        ],
    }
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    (im,) = read_sim_flights(tmp_path)
    assert im.source == "sim" and im.size_wh == (200, 100)
    assert [(b.class_name, tuple(round(v) for v in b.bbox_xyxy_px)) for b in im.boxes] == [
        ("garbage", (10, 10, 30, 40)),
        ("vehicle", (90, 40, 110, 60)),
    ]
    (tmp_path / "truth.json").write_text('{"frames": [{"file": "missing.jpg"}]}')
    with pytest.raises(InputError, match="missing.jpg"):
        read_sim_flights(tmp_path)
