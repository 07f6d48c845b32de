"""Zones: GeoJSON validation, STRtree queries, rules."""

from __future__ import annotations

import json

import pytest

from patrol.config import RulesSettings
from patrol.errors import ConfigError
from patrol.zones import ZONE_KINDS, Zones, categorize, check_rules, load_zones, parse_zones

RULES = RulesSettings().rules
LON0, LAT0 = 116.0, 39.0
D = 0.001  # ~85-110 m


def square(x0: float, y0: float, w: float = D, h: float = D) -> dict:
    ring = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def feat(geom: dict, **props) -> dict:
    return {"type": "Feature", "geometry": geom, "properties": props}


def fc(*features: dict, **extra) -> dict:
    return {"type": "FeatureCollection", "features": list(features), **extra}


def city() -> Zones:
    """Two grid cells side by side; a road crossing both; a sidewalk, a no-parking and a no-vending
    zone inside the first cell."""
    return parse_zones(
        fc(
            feat(square(LON0, LAT0), kind="grid_cell", name="A1", unit="Team West"),
            feat(square(LON0 + D, LAT0), kind="grid_cell", name="A2", unit="Team East"),
            feat(square(LON0, LAT0 + 0.4 * D, 2 * D, 0.2 * D), kind="road", name="Main St"),
            feat(square(LON0, LAT0 + 0.6 * D, D, 0.05 * D), kind="sidewalk", name="Main St north walk"),
            feat(square(LON0 + 0.1 * D, LAT0 + 0.1 * D, 0.2 * D, 0.2 * D), kind="no_parking", name="School gate"),
            feat(square(LON0 + 0.5 * D, LAT0 + 0.1 * D, 0.3 * D, 0.2 * D), kind="no_vending", name="Market ban"),
        ),
        "city.geojson",
    )


@pytest.mark.parametrize(
    ("class_name", "x", "y", "category", "zone_name", "grid", "unit"),
    [
        ("vehicle", 0.2, 0.2, "illegal_parking", "School gate", "A1", "Team West"),
        ("vehicle", 0.5, 0.62, "illegal_parking", "Main St north walk", "A1", "Team West"),
        ("vehicle", 0.5, 0.5, None, "Main St", "A1", "Team West"),  # on the road: counted only
        ("vehicle", 1.5, 0.9, None, None, "A2", "Team East"),
        ("vendor_stall", 0.6, 0.2, "street_vending", "Market ban", "A1", "Team West"),
        ("vendor_stall", 1.5, 0.9, "street_vending", None, "A2", "Team East"),  # "*": anywhere
        ("road_damage", 1.5, 0.5, "road_damage", "Main St", "A2", "Team East"),
        ("road_damage", 1.5, 0.9, "road_damage", None, "A2", "Team East"),  # off road: "*"
        ("garbage", 1.5, 0.9, "exposed_garbage", None, "A2", "Team East"),  # anywhere
        ("garbage", 0.6, 0.2, "exposed_garbage", "Market ban", "A1", "Team West"),
        ("vehicle", 3.0, 3.0, None, None, None, None),  # outside every zone
    ],
)
def test_place(class_name, x, y, category, zone_name, grid, unit):
    p = city().place(class_name, LAT0 + y * D, LON0 + x * D, RULES)
    assert (p.category, p.zone_name, p.grid_cell, p.unit) == (category, zone_name, grid, unit)


@pytest.mark.parametrize(
    ("class_name", "category"),
    [("vehicle", None), ("vendor_stall", "street_vending"), ("road_damage", "road_damage"), ("garbage", "exposed_garbage")],
)
def test_no_zones_defaults(class_name, category):
    p = Zones.empty().place(class_name, LAT0, LON0, RULES)
    assert p.category == category
    assert p.grid_cell is None and p.unit is None and p.zone_name is None


def test_containing_smallest_first_and_grid_on_shared_edge():
    z = city()
    names = [x.name for x in z.containing(LAT0 + 0.2 * D, LON0 + 0.2 * D)]
    assert names == ["School gate", "A1"]
    # on the shared edge of A1 and A2: deterministic choice (equal area -> by name)
    assert z.grid_cell_at(LAT0 + 0.9 * D, LON0 + D).name == "A1"
    assert z.grid_cell_at(LAT0 + 5 * D, LON0) is None


def test_categorize_order_follows_rules():
    z = city()
    here = z.containing(LAT0 + 0.2 * D, LON0 + 0.2 * D)
    here = [x for x in here if x.kind != "grid_cell"]
    assert categorize("vehicle", here, {"vehicle": {"road": "road_damage"}}, True) == (None, None)
    # a city that reports stalls only inside no-vending zones drops the "*" entry
    only_zone = {"vendor_stall": {"no_vending": "street_vending"}}
    assert categorize("vendor_stall", here, only_zone, True) == (None, None)
    assert categorize("vendor_stall", here, RULES, True) == ("street_vending", None)
    cat, zone = categorize("vehicle", here, RULES, True)
    assert (cat, zone.name) == ("illegal_parking", "School gate")


SELF_INTERSECTING = {"type": "Polygon", "coordinates": [[[LON0, LAT0], [LON0 + D, LAT0 + D], [LON0 + D, LAT0], [LON0, LAT0 + D], [LON0, LAT0]]]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a GeoJSON FeatureCollection"),
        ({"type": "Feature"}, "expected a GeoJSON FeatureCollection"),
        (fc(feat(square(LON0, LAT0), kind="parking_lot", name="Lot 7")), "feature 0 ('Lot 7'): unknown kind 'parking_lot'"),
        (fc(feat(square(LON0, LAT0), name="x")), "unknown kind missing"),
        (
            fc(feat(square(LON0, LAT0), kind="road", name="ok"), feat(SELF_INTERSECTING, kind="road", name="Bowtie")),
            "feature 1 ('Bowtie'): invalid polygon: Self-intersection",
        ),
        (fc(feat(square(500000.0, 4300000.0, 50, 50), kind="road", name="utm")), "feature 0 ('utm'): coordinate (500000, 4.3e+06) is not WGS84"),
        (fc(feat(square(LON0, LAT0), kind="grid_cell", name="B7")), "feature 0 ('B7'): grid_cell has no 'unit'"),
        (fc(feat(square(LON0, LAT0), kind="grid_cell", name="B7", unit="")), "grid_cell has no 'unit'"),
        (
            fc(feat(square(LON0, LAT0), kind="grid_cell", name="B7", unit="u"), feat(square(LON0, LAT0), kind="grid_cell", name="B7", unit="v")),
            "feature 1 ('B7'): grid cell name 'B7' repeats feature 0",
        ),
        (fc(feat({"type": "Point", "coordinates": [LON0, LAT0]}, kind="road", name="p")), "must be a Polygon or MultiPolygon, got 'Point'"),
        (fc(feat(square(LON0, LAT0), kind="road"), crs={"type": "name", "properties": {"name": "EPSG:32650"}}), "is not WGS84"),
        (fc(feat({"type": "Polygon", "coordinates": [[[LON0, LAT0], [LON0 + D, LAT0]]]}, kind="road", name="short")), "feature 0 ('short'): malformed geometry"),
        (fc(feat(square(LON0, LAT0, 0.0, D), kind="road", name="flat")), "feature 0 ('flat')"),
    ],
)
def test_parse_zones_errors(data, message):
    with pytest.raises(ConfigError) as ei:
        parse_zones(data, "z.geojson")
    assert str(ei.value).startswith("z.geojson")
    assert message in str(ei.value)


def test_crs84_and_multipolygon_accepted():
    mp = {"type": "MultiPolygon", "coordinates": [square(LON0, LAT0)["coordinates"], square(LON0 + 2 * D, LAT0)["coordinates"]]}
    z = parse_zones(fc(feat(mp, kind="no_parking", name="two lots"), crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}))
    assert len(z) == 1
    assert [x.name for x in z.containing(LAT0 + 0.5 * D, LON0 + 2.5 * D)] == ["two lots"]
    assert z.containing(LAT0 + 0.5 * D, LON0 + 1.5 * D) == []


def test_load_zones_file(tmp_path):
    p = tmp_path / "zones.geojson"
    p.write_text(json.dumps(fc(feat(square(LON0, LAT0), kind="grid_cell", name="A1", unit="U"))))
    z = load_zones(p)
    assert z.grid_cell_at(LAT0 + D / 2, LON0 + D / 2).unit == "U"
    assert len(load_zones(None)) == 0
    with pytest.raises(ConfigError, match="zones file not found"):
        load_zones(tmp_path / "missing.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.geojson: not valid JSON"):
        load_zones(bad)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (RULES, None),
        ({"vehicle": {"parking": "illegal_parking"}}, "unknown zone kind"),
        ({"vehicle": {"road": "speeding"}}, "unknown category 'speeding'"),
        ({"vehicle": {"grid_cell": "illegal_parking"}}, "grid cells assign units"),
        ({"bicycle": {"*": "illegal_parking"}}, "unknown detector class"),
    ],
)
def test_check_rules(rules, message):
    classes = ("vehicle", "vendor_stall", "road_damage", "garbage")
    if message is None:
        check_rules(rules, classes)
    else:
        with pytest.raises(ConfigError, match=message):
            check_rules(rules, classes)


def test_kinds_documented():
    assert set(ZONE_KINDS) == {"road", "sidewalk", "no_parking", "no_vending", "grid_cell"}


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"vehicle": {"no_parking": "illegal_parking"}, "garbage": {"*": "exposed_garbage"}}, None),
        (
            {"vehicle": {"no_parking": "illegal_parking", "sidewalk": "illegal_parking"},
             "vendor_stall": {"no_vending": "street_vending"}},
            ("no_parking", "no_vending", "sidewalk"),
        ),
        ({}, ()),
    ],
)
def test_roi_zone_kinds_follow_the_rules(rules, expected) -> None:
    from patrol.zones import roi_zone_kinds

    assert roi_zone_kinds(rules) == expected
