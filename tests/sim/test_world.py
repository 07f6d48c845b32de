from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest
from shapely.geometry import Point, Polygon, shape

from patrol.detect.base import CLASSES
from patrol.sim.world import build_world, zones_geojson
from tests.sim.conftest import SMALL


def test_world_is_deterministic_for_a_seed(small_before) -> None:
    again = build_world(3, "before", **SMALL)
    assert hashlib.sha256(again.image.tobytes()).digest() == hashlib.sha256(small_before.image.tobytes()).digest()
    assert [o.outline_en for o in again.objects] == [o.outline_en for o in small_before.objects]
    other = build_world(4, "before", **SMALL)
    assert not np.array_equal(other.image, small_before.image)


def test_raster_shape_and_objects_inside(small_before) -> None:
    w = small_before
    assert w.image.shape == (800, 800, 3) and w.image.dtype == np.uint8
    h = w.size_m / 2
    for o in w.objects:
        p = np.array(o.outline_en)
        assert np.all(np.abs(p) <= h), o.id
    boxes = w.boxes_px()
    assert boxes and all(0 - 1 <= b[0] < b[2] <= 801 and -1 <= b[1] < b[3] <= 801 for _, b in boxes)


def test_default_world_has_every_class_and_variety() -> None:
    # the layout and objects alone (no raster) of a full-size world
    from patrol.sim.layout import generate_layout
    from patrol.sim.scenario import populate

    objs = populate(generate_layout(11, 300.0), 11)
    classes = Counter(o.class_name for o in objs)
    assert all(classes[c] >= 5 for c in CLASSES), classes
    kinds = Counter(o.kind for o in objs)
    for k in ("car", "suv", "umbrella", "tarp", "cart", "table", "pothole", "cracks", "subsidence", "garbage", "manhole", "oil_stain"):
        assert kinds[k] >= 1, k
    violations = Counter(o.violation for o in objs if o.violation)
    assert set(violations) == {"illegal_parking", "street_vending", "road_damage", "exposed_garbage"}
    # no two objects overlap
    polys = [o.polygon for o in objs]
    from shapely.strtree import STRtree

    tree = STRtree(polys)
    for i, p in enumerate(polys):
        for j in tree.query(p, predicate="intersects"):
            assert j == i or p.intersection(polys[j]).area < 1e-6, (objs[i].id, objs[int(j)].id)


def test_zones_geojson_and_rules_agree_with_truth() -> None:
    from patrol.sim.layout import generate_layout
    from patrol.sim.scenario import populate

    lay = generate_layout(5, 300.0)
    objs = populate(lay, 5)
    zones = {k: [Polygon(z.outline_en) for z in lay.zones if z.kind == k] for k in ("road", "sidewalk", "no_parking", "no_vending", "grid_cell")}
    assert all(zones[k] for k in zones), {k: len(v) for k, v in zones.items()}
    assert all(z.unit for z in lay.zones if z.kind == "grid_cell")
    grid_area = sum(p.area for p in zones["grid_cell"])
    assert grid_area == pytest.approx(300.0 * 300.0, rel=1e-6)

    def inside(o, kind):
        c = Point(o.polygon.centroid)
        return any(z.contains(c) for z in zones[kind])

    for o in objs:
        if o.violation == "illegal_parking":
            assert inside(o, "sidewalk") or inside(o, "no_parking"), o.id
        elif o.class_name == "vehicle":
            assert not inside(o, "sidewalk") and not inside(o, "no_parking"), (o.id, o.placement)
        if o.violation == "road_damage":
            assert inside(o, "road"), o.id


def test_zones_geojson_format(small_before) -> None:
    fc = zones_geojson(small_before)
    assert fc["type"] == "FeatureCollection"
    for f in fc["features"]:
        assert f["properties"]["kind"] in ("road", "sidewalk", "no_parking", "no_vending", "grid_cell")
        assert f["properties"]["name"]
        g = shape(f["geometry"])
        assert g.is_valid and abs(g.centroid.y - 37.739) < 0.01 and abs(g.centroid.x - 115.670) < 0.01  # lon, lat order


def test_after_world_statuses(small_before, small_after) -> None:
    before = {o.id: o for o in small_before.objects}
    after = {o.id: o for o in small_after.objects}
    statuses = Counter(o.status for o in small_after.objects if o.is_problem)
    assert set(statuses) <= {"fixed", "remaining", "new"}
    for o in small_after.objects:
        if o.status in ("fixed", "remaining"):
            assert o.id in before and before[o.id].outline_en == o.outline_en
            assert o.present == (o.status == "remaining")
        elif o.status == "new":
            assert o.id not in before
    # every problem of the before world is accounted for
    assert all(after[i].status in ("fixed", "remaining") for i, o in before.items() if o.is_problem)
    assert small_after.sun != small_before.sun


def test_after_statuses_all_occur_in_a_full_world() -> None:
    from patrol.sim.layout import generate_layout
    from patrol.sim.scenario import after_world, populate

    lay = generate_layout(8, 300.0)
    before = populate(lay, 8)
    after = after_world(lay, before, 8)
    st = Counter(o.status for o in after if o.is_problem)
    assert st["fixed"] >= 3 and st["remaining"] >= 3 and st["new"] >= 3, st
    moved = {o.id for o in before if o.placement in ("bay", "lot")} - {o.id for o in after}
    assert moved, "some legally parked cars left"
    assert any(o.kind == "patch" and o.placement == "road" for o in after if o.id not in {b.id for b in before})


@pytest.mark.parametrize("kw, raises", [(dict(scenario="during"), ValueError), (dict(size_m=5.0), ValueError), (dict(res_m=0.0), ValueError)])
def test_bad_arguments(kw, raises) -> None:
    with pytest.raises(raises):
        build_world(0, **{"scenario": "before", "size_m": 60.0, "res_m": 0.1, **kw})
