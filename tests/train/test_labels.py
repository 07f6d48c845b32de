"""Label parsers and readers of the real training sources."""

from __future__ import annotations

import pytest

from patrol.errors import InputError
from patrol.train.labels import (
    AERIAL_CARS_MAP,
    HELD_OUT_PHOTOS,
    UAVPDD_MAP,
    LabelledBox,
    aerial_cars_group,
    parse_voc,
    parse_yolo_labels,
    read_aerial_cars,
    read_held_out_photos,
    read_uavpdd,
    read_yolo_folder,
)
from tests.conftest import shared_path

NAMES = ["car", "truck", "bus", "minibus", "cyclist"]


@pytest.mark.parametrize(
    ("text", "expected", "error"),
    [
        ("0 0.5 0.5 0.1 0.2\n", [((45.0, 40.0, 55.0, 60.0), "vehicle")], None),
        ("3 0.5 0.5 0.1 0.2\n", [((45.0, 40.0, 55.0, 60.0), "vehicle")], None),  # minibus -> vehicle
        ("4 0.5 0.5 0.1 0.2\n", [], None),  # cyclist dropped
        ("\n\n", [], None),
        ("0 0.0 0.0 0.2 0.2\n", [((0.0, 0.0, 10.0, 10.0), "vehicle")], None),  # clipped to the image
        ("0 0.5 0.5 0.1\n", None, "expected 5 fields"),
        ("7 0.5 0.5 0.1 0.2\n", None, "class index 7"),
        ("x 0.5 0.5 0.1 0.2\n", None, "not numbers"),
    ],
)
def test_parse_yolo_labels(text, expected, error) -> None:
    if error:
        with pytest.raises(ValueError, match=error):
            parse_yolo_labels(text, (100, 100), NAMES, AERIAL_CARS_MAP)
        return
    boxes = parse_yolo_labels(text, (100, 100), NAMES, AERIAL_CARS_MAP)
    assert [(tuple(round(v, 6) for v in b.bbox_xyxy_px), b.class_name) for b in boxes] == expected


VOC = """<annotation><filename>r1_00001_top_left.jpg</filename><size><width>200</width><height>100</height></size>
<object><name>Pothole</name><bndbox><xmin>10</xmin><ymin>20</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>
<object><name>Repair</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object>
<object><name>Transverse crack</name><bndbox><xmin>50</xmin><ymin>5</ymin><xmax>90</xmax><ymax>9</ymax></bndbox></object>
</annotation>"""


def test_parse_voc_maps_damage_and_drops_repair() -> None:
    name, size, boxes = parse_voc(VOC, UAVPDD_MAP)
    assert name == "r1_00001_top_left.jpg"
    assert size == (200, 100)
    assert boxes == (
        LabelledBox((10.0, 20.0, 30.0, 40.0), "road_damage"),
        LabelledBox((50.0, 5.0, 90.0, 9.0), "road_damage"),
    )


@pytest.mark.parametrize(
    ("xml", "error"),
    [
        ("<annotation><object><name>Tree</name></object></annotation>", "unknown class 'tree'"),
        ("<annotation><object><name>Pothole</name></object></annotation>", "no <bndbox>"),
        ("not xml", "not valid VOC XML"),
        ('<!DOCTYPE a [<!ENTITY b "c">]><annotation>&b;</annotation>', "not valid VOC XML"),  # entities refused
    ],
)
def test_parse_voc_errors(xml, error) -> None:
    with pytest.raises(ValueError, match=error):
        parse_voc(xml, UAVPDD_MAP)


@pytest.mark.parametrize(
    ("stem", "group"),
    [
        ("DJI-00760-00013", "video:DJI-00760"),
        ("DJI_0005-0162", "video:DJI_0005"),
        ("MOS74", "munich:MOS"),
        ("MunichStreet02-MOS77", "munich:MunichStreet02"),
        ("DJI_0010", "image:DJI_0010"),
    ],
)
def test_aerial_cars_group(stem, group) -> None:
    assert aerial_cars_group(stem) == group


def test_read_aerial_cars_real_excludes_held_out_photos() -> None:
    folder = shared_path("aerial-cars")
    images = read_aerial_cars(folder)
    stems = {im.image_path.stem for im in images}
    assert not stems & HELD_OUT_PHOTOS
    assert {im.group for im in images} == {"video:DJI-00760", "video:DJI_0005", "munich:MOS", "munich:MunichStreet02"}
    assert all(b.class_name == "vehicle" for im in images for b in im.boxes)
    video = next(im for im in images if im.image_path.stem == "DJI-00760-00001")
    assert video.size_wh == (1920, 1080)
    assert len(video.boxes) == 29  # 23 car + 1 truck + 2 bus + 3 minibus; no cyclists in this frame
    held = read_held_out_photos(folder)
    assert {im.image_path.stem for im in held} == HELD_OUT_PHOTOS
    assert all(im.size_wh == (4000, 2250) for im in held)


def test_read_uavpdd_real_maps_filenames_and_groups_quadrants() -> None:
    folder = shared_path("road-damage-uavpdd")
    images = read_uavpdd(folder)
    assert len(images) == 6
    assert all(im.image_path.is_file() and im.size_wh == (1280, 960) for im in images)
    by_file = {im.image_path.name: im for im in images}
    s4 = by_file["sample_04_c3_Longitudinal_crack-Repair-Transverse_crack.jpg"]
    assert all(b.class_name == "road_damage" for b in s4.boxes)
    assert len(s4.boxes) == 5  # 7 objects, the two Repair ones dropped
    # two quadrants of the same original photo share a group, so they land on the same side
    assert sum(im.group == "uavpdd:lr_00088" for im in images) == 2
    assert len({im.group for im in images}) == 5


def test_read_yolo_folder_user_classes(tmp_path) -> None:
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((50, 100, 3), np.uint8))
    (tmp_path / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2 0.2\n")
    (tmp_path / "classes.txt").write_text("garbage\ndog\n")
    (im,) = read_yolo_folder(tmp_path)
    assert [b.class_name for b in im.boxes] == ["garbage"]
    assert im.size_wh == (100, 50)
    (tmp_path / "a.txt").write_text("0 0.5\n")
    with pytest.raises(InputError, match="a.txt"):
        read_yolo_folder(tmp_path)
