"""Zones: GeoJSON validation, STRtree queries, rules."""

from __future__ import annotations

import json
import re

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
        ("vendor_stall", 1.5, 0.9, None, None, "A2", "Team East"),  # off public ground: not a violation
        ("vendor_stall", 0.5, 0.62, "street_vending", "Main St north walk", "A1", "Team West"),  # sidewalk
        ("vendor_stall", 1.5, 0.5, "street_vending", "Main St", "A2", "Team East"),  # on the road
        ("road_damage", 1.5, 0.5, "road_damage", "Main St", "A2", "Team East"),
        ("road_damage", 1.5, 0.9, None, None, "A2", "Team East"),  # off road: not a violation
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
    # a file of grid cells alone assigns units but counts as no zones for the rules
    grid_only = parse_zones(fc(feat(square(LON0, LAT0), kind="grid_cell", name="A1", unit="U")))
    assert not grid_only.has_areas and city().has_areas
    g = grid_only.place(class_name, LAT0 + D / 2, LON0 + D / 2, RULES)
    assert (g.category, g.grid_cell, g.unit) == (category, "A1", "U")


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
    # a city that reports stalls only inside no-vending zones keeps only that entry
    only_zone = {"vendor_stall": {"no_vending": "street_vending"}}
    assert categorize("vendor_stall", here, only_zone, True) == (None, None)
    assert categorize("vendor_stall", here, RULES, True) == (None, None)  # a no-parking spot is not public ground
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
        ({"vendor_stall": {"no_zones": "street_vending", "*": "street_vending"}}, None),
        ({"vendor_stall": {"no_zone": "street_vending"}}, "unknown zone kind"),
        ({"vendor_stall": {"no_zones": "vending"}}, "unknown category 'vending'"),
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
    """The README's list of zone kinds is exactly what parse_zones accepts, and each documented kind
    loads as a zone of that kind."""
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sentence = readme.split("`properties.kind` is", 1)[1].split("`properties.name`", 1)[0]
    documented = re.findall(r"`(\w+)`", sentence)
    assert sorted(documented) == sorted(ZONE_KINDS)
    for i, kind in enumerate(documented):
        zones = parse_zones(fc(feat(square(LON0 + i * D, LAT0), kind=kind, name=f"z{i}", unit="U")))
        assert [z.kind for z in zones.zones] == [kind]


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
        ({"road_damage": {"road": "road_damage", "no_zones": "road_damage"}}, ("road",)),  # fallback: no zone kind
        (RULES, None),  # garbage counts anywhere
    ],
)
def test_roi_zone_kinds_follow_the_rules(rules, expected) -> None:
    from patrol.zones import roi_zone_kinds

    assert roi_zone_kinds(rules) == expected


def test_roi_kinds_by_class_defaults() -> None:
    from patrol.zones import roi_kinds_by_class

    assert roi_kinds_by_class(RULES) == {
        "vehicle": ("no_parking", "sidewalk"),
        "vendor_stall": ("no_vending", "road", "sidewalk"),
        "road_damage": ("road",),
        "garbage": None,
    }
    assert roi_kinds_by_class({"vehicle": {"no_zones": "illegal_parking"}}) == {"vehicle": ()}


def _zone(kind: str, name: str) -> "Zone":
    from patrol.zones import Zone

    return Zone(index=0, name=name, kind=kind, unit=None, geometry=None)


# (rules, class, zone kinds at the point, have_zones) -> (category, name of the zone that set it)
FALLBACK = {"vendor_stall": {"no_vending": "street_vending", "no_zones": "street_vending"}}
BOTH = {"garbage": {"no_zones": "exposed_garbage", "*": "road_damage"}}  # odd, but shows the order


@pytest.mark.parametrize(
    ("rules", "class_name", "kinds", "have_zones", "expected"),
    [
        # the defaults with zones: public ground only
        (RULES, "vendor_stall", ["no_vending"], True, ("street_vending", "no_vending")),
        (RULES, "vendor_stall", ["sidewalk"], True, ("street_vending", "sidewalk")),
        (RULES, "vendor_stall", ["road"], True, ("street_vending", "road")),
        (RULES, "vendor_stall", ["sidewalk", "no_vending"], True, ("street_vending", "no_vending")),  # rule order
        (RULES, "vendor_stall", ["no_parking"], True, (None, None)),
        (RULES, "vendor_stall", [], True, (None, None)),  # a roof, a park: not a violation
        (RULES, "road_damage", ["road"], True, ("road_damage", "road")),
        (RULES, "road_damage", ["sidewalk"], True, (None, None)),
        (RULES, "road_damage", [], True, (None, None)),
        (RULES, "garbage", [], True, ("exposed_garbage", None)),
        (RULES, "garbage", ["road"], True, ("exposed_garbage", None)),
        (RULES, "vehicle", ["sidewalk"], True, ("illegal_parking", "sidewalk")),
        (RULES, "vehicle", ["road"], True, (None, None)),
        # the defaults without zones: every stall, road damage and garbage; vehicles only counted
        (RULES, "vendor_stall", [], False, ("street_vending", None)),
        (RULES, "road_damage", [], False, ("road_damage", None)),
        (RULES, "garbage", [], False, ("exposed_garbage", None)),
        (RULES, "vehicle", [], False, (None, None)),
        (RULES, "bicycle", [], False, (None, None)),  # a class without rules
        # the fallback key applies only without zones
        (FALLBACK, "vendor_stall", [], True, (None, None)),
        (FALLBACK, "vendor_stall", ["no_vending"], True, ("street_vending", "no_vending")),
        (FALLBACK, "vendor_stall", [], False, ("street_vending", None)),
        ({"vendor_stall": {"no_vending": "street_vending"}}, "vendor_stall", [], False, (None, None)),
        # without zones the fallback wins over "*"; with zones "*" applies and the fallback does not
        (BOTH, "garbage", [], False, ("exposed_garbage", None)),
        (BOTH, "garbage", [], True, ("road_damage", None)),
        ({"garbage": {"*": "exposed_garbage"}}, "garbage", [], False, ("exposed_garbage", None)),
    ],
)
def test_categorize_table(rules, class_name, kinds, have_zones, expected) -> None:
    here = [_zone(k, k) for k in kinds]
    cat, zone = categorize(class_name, here, rules, have_zones)
    assert (cat, zone.name if zone else None) == expected


def test_sim_violations_lie_in_zones_their_default_rule_names() -> None:
    """Every simulated stall and road damage (all violations in the simulator's truth) has its centre
    in a zone of a kind the default rule lists, so the "public space" defaults can find them all."""
    from shapely import Point, Polygon

    from patrol.sim.layout import generate_layout
    from patrol.sim.scenario import after_world, populate

    kinds_by_class = {c: {k for k in r if k not in ("*", "no_zones")} for c, r in RULES.items()}
    checked = 0
    for seed in (7, 11):
        lay = generate_layout(seed)
        zones = [(z.kind, Polygon(z.outline_en).buffer(0.01)) for z in lay.zones if z.kind != "grid_cell"]
        before = populate(lay, seed)
        for o in before + after_world(lay, before, seed):
            if o.class_name not in ("vendor_stall", "road_damage") or not o.violation:
                continue
            c = Point(o.polygon.centroid)
            inside = {k for k, g in zones if g.contains(c)}
            assert inside & kinds_by_class[o.class_name], (seed, o.id, o.placement, sorted(inside))
            checked += 1
    assert checked > 30


# --- checks decided from the data, before any flight is processed ----------------------------------


def test_repeated_zone_names_warn_naming_both_features():
    z = parse_zones(fc(feat(square(LON0, LAT0), kind="no_parking", name="Gate"), feat(square(LON0 + 0.001, LAT0), kind="no_parking", name="Gate")))
    assert len(z) == 2
    assert z.warnings == ("zones: feature 1 ('Gate'): no_parking name 'Gate' repeats feature 0; cases will not tell them apart",)


def test_zones_swapped_lon_lat_refused_against_the_flight():
    # a layer exported as [lat, lon]: still in range for a city at lon < 90, but in the wrong place
    lat, lon = 48.137, 11.575  # the flight (Munich)
    swapped = parse_zones(fc(feat(square(lat, lon, 0.001, 0.001), kind="road", name="Main St")))
    with pytest.raises(ConfigError, match="longitude and latitude swapped"):
        swapped.check_against_flight(lat, lon)
    right = parse_zones(fc(feat(square(lon, lat, 0.001, 0.001), kind="road", name="Main St")))
    assert right.check_against_flight(lat, lon) is None
    far = right.check_against_flight(40.0, 116.4)
    assert far is not None and "km from the flight" in far and "none of them applies" in far


def test_swapped_zones_stop_the_flight_before_detection(tmp_path):
    from patrol.config import Settings
    from patrol.pipeline import process_flight
    from patrol.store import open_store
    from tests.test_faults import make_frames

    flight = make_frames(tmp_path / "f1", lat=38.0, lon=14.5)  # real JPEGs with GPS at (38.0 N, 14.5 E)
    seen = []

    class Det:
        def detect_path(self, path, image):
            seen.append(path)
            return []

        def detect(self, image):
            return []

    swapped = parse_zones(fc(feat(square(38.0, 14.5, 0.001, 0.001), kind="road", name="r")), "z.geojson")
    with open_store(tmp_path / "p.db") as store:
        with pytest.raises(ConfigError, match="z.geojson: the zones lie .* with longitude and latitude swapped"):
            process_flight([flight], Settings(), store, Det(), zones=swapped)
        assert seen == []  # stopped before any detection
        right = parse_zones(fc(feat(square(14.5, 38.0, 0.001, 0.001), kind="road", name="r")), "z.geojson")
        s = process_flight([flight], Settings(), store, Det(), zones=right)  # the rerun with the fixed file
    assert s.frames_read == 3 and len(seen) == 3 and s.warnings == ()
