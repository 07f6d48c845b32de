"""Building a YOLO tile dataset from generated labelled images (no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from patrol.detect.base import CLASSES
from patrol.errors import ConfigError
from patrol.train.dataset import TileSettings, build_dataset, oversample_train, usable_scales
from patrol.train.labels import LabelledBox, LabelledImage, parse_yolo_labels


def _image(tmp_path, name: str, group: str, boxes, size=(700, 400)) -> LabelledImage:
    img = np.full((size[1], size[0], 3), 60, np.uint8)
    for b in boxes:
        x1, y1, x2, y2 = (int(v) for v in b.bbox_xyxy_px)
        img[y1:y2, x1:x2] = (0, 0, 255)
    p = tmp_path / f"{name}.png"
    cv2.imwrite(str(p), img)
    return LabelledImage(p, size, tuple(boxes), group, "test")


def test_build_dataset_tiles_labels_and_split(tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    cars = [LabelledBox((50, 50, 90, 80), "vehicle"), LabelledBox((400, 300, 440, 330), "vehicle")]
    images = [
        _image(src, "a1", "video:A", cars),
        _image(src, "a2", "video:A", cars),
        _image(src, "b1", "video:B", [LabelledBox((100, 100, 160, 140), "garbage")]),
    ]
    settings = TileSettings(tile_px=320, stride_px=256, scales=(1.0,), empty_keep_fraction=0.0)
    s = build_dataset(images, tmp_path / "ds", settings, split={"video:A": "train", "video:B": "val"})
    train = sorted((tmp_path / "ds" / "images" / "train").glob("*.jpg"))
    val = sorted((tmp_path / "ds" / "images" / "val").glob("*.jpg"))
    assert all("a1" in p.name or "a2" in p.name for p in train)  # the split follows the group
    assert all("b1" in p.name for p in val)
    assert len(val) == 6  # 700x400 -> 3 x 2 tiles; val keeps empty tiles (precision needs them)
    assert s.tiles == {"train": len(train), "val": 6}
    # every train tile has an object (empty ones dropped at keep fraction 0) and labels read back
    for p in train:
        lab = (tmp_path / "ds" / "labels" / "train" / (p.stem + ".txt")).read_text()
        boxes = parse_yolo_labels(lab, (320, 320), list(CLASSES), {c: c for c in CLASSES})
        assert boxes and all(b.class_name == "vehicle" for b in boxes)
        tile = cv2.imread(str(p))
        for b in boxes:  # the label sits on the red car in the tile
            x1, y1, x2, y2 = (int(round(v)) for v in b.bbox_xyxy_px)
            patch = tile[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2]
            assert patch[..., 2].mean() > 200 and patch[..., 0].mean() < 60
    data = (tmp_path / "ds" / "data.yaml").read_text()
    assert "train: images/train" in data and "val: images/val" in data and "0: vehicle" in data
    assert s.val_yamls["test"].is_file()
    listed = (tmp_path / "ds" / "val_test.txt").read_text().split()
    assert len(listed) == 6
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["groups"] == {"video:A": "train", "video:B": "val"}


def test_cut_objects_are_greyed_out_not_labelled_as_background(tmp_path) -> None:
    # a car whose sliver (10 px of 40) falls into the second column of tiles
    car = LabelledBox((246, 10, 286, 40), "vehicle")
    im = _image(tmp_path, "c", "g", [car], size=(600, 320))
    settings = TileSettings(tile_px=320, stride_px=256, scales=(1.0,), empty_keep_fraction=1.0, min_visible=0.4)
    build_dataset([im], tmp_path / "ds", settings, split={"g": "train"})
    second = tmp_path / "ds" / "images" / "train" / "test__c__s100_x256_y0.jpg"
    tile = cv2.imread(str(second))
    lab = (tmp_path / "ds" / "labels" / "train" / "test__c__s100_x256_y0.txt").read_text()
    assert lab.strip() != ""  # 30 of 40 px visible: kept
    third = tmp_path / "ds" / "images" / "train" / "test__c__s100_x280_y0.jpg"
    t3 = cv2.imread(str(third))
    assert (tmp_path / "ds" / "labels" / "train" / "test__c__s100_x280_y0.txt").read_text() == ""
    # its 6 px sliver is grey, not red
    assert abs(int(t3[20, 2, 2]) - 114) < 12 and tile is not None


@pytest.mark.parametrize(
    ("box_px", "expected"),
    [(20, (1.0,)), (30, (1.0, 0.5)), (100, (1.0, 0.5))],
)
def test_usable_scales_keep_small_objects_native(box_px, expected, tmp_path) -> None:
    im = LabelledImage(tmp_path / "x.png", (1000, 1000), (LabelledBox((0, 0, box_px, box_px), "vehicle"),), "g", "s")
    assert usable_scales(im, TileSettings(scales=(1.0, 0.5), min_object_px=12)) == expected


def _two_source_dataset(tmp_path):
    cars = [LabelledBox((50, 50, 90, 80), "vehicle")]
    src = tmp_path / "src"
    src.mkdir()
    real = _image(src, "r1", "video:R", cars)
    sim = _image(src, "s1", "simworld:1", cars)
    images = [LabelledImage(real.image_path, real.size_wh, real.boxes, real.group, "aerial-cars"),
              LabelledImage(sim.image_path, sim.size_wh, sim.boxes, sim.group, "sim")]
    settings = TileSettings(tile_px=320, stride_px=256, scales=(1.0,), empty_keep_fraction=1.0)
    return build_dataset(images, tmp_path / "ds", settings, split={"video:R": "train", "simworld:1": "train"})


def test_oversample_lists_a_source_n_times_and_points_data_yaml_at_the_list(tmp_path) -> None:
    s = _two_source_dataset(tmp_path)
    lst, counts = oversample_train(s.data_yaml, {"aerial-cars": 3})
    assert counts == {"aerial-cars": 6, "sim": 6}  # 700x400 -> 6 tiles each (empty ones kept)
    listed = lst.read_text().split()
    assert sum("aerial-cars__" in p for p in listed) == 18 and sum("sim__" in p for p in listed) == 6
    assert all(Path(p).is_file() for p in listed)
    data = s.data_yaml.read_text()
    assert f"train: {lst.resolve()}" in data and "val: " in data and "0: vehicle" in data


@pytest.mark.parametrize("repeats, message", [({"aerial-cars": 0}, "must be >= 1"), ({"munich": 2}, "no train tiles from munich")])
def test_oversample_refuses_bad_repeats(tmp_path, repeats, message) -> None:
    s = _two_source_dataset(tmp_path)
    with pytest.raises(ConfigError, match=message):
        oversample_train(s.data_yaml, repeats)
