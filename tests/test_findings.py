"""Findings: ground projection of boxes, merging across frames, zones/grid placement."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from patrol.config import FindingsSettings, RulesSettings
from patrol.detect.base import Detection
from patrol.findings import (
    Finding,
    GroundDetection,
    build_findings,
    finding_id_for,
    ground_detection,
    merge_ground_detections,
)
from patrol.geo.camera import Camera, CameraPose
from patrol.geo.crs import LocalFrame
from patrol.ingest.frame import Intrinsics
from patrol.zones import Zones, parse_zones

LOCAL = LocalFrame(39.9, 116.4)
FS = FindingsSettings()
RULES = RulesSettings().rules
W, H = 4000, 3000
K = Intrinsics(fx_px=2900.0, fy_px=2900.0, cx_px=(W - 1) / 2, cy_px=(H - 1) / 2, size_wh=(W, H), source="sim")


def cam(east=0.0, north=0.0, height=60.0, yaw=0.0, pitch=-90.0, roll=0.0) -> Camera:
    return Camera(K, CameraPose(east, north, height, yaw, pitch, roll))


def box_of(camera: Camera, centre_en, size_lw=(4.5, 1.8), height_m=0.0, heading_deg=0.0, top_inset_m=0.0) -> Detection | None:
    """The pixel box of a (possibly upright) rectangular object on the ground; its top is the
    footprint shrunk by ``top_inset_m`` along its length (a car's roof)."""
    ce, cn = centre_en
    L, Wd = size_lw
    a = math.radians(heading_deg)
    fwd = np.array([math.sin(a), math.cos(a)])
    side = np.array([math.cos(a), -math.sin(a)])
    pts = []
    for sl in (-0.5, 0.5):
        for sw in (-0.5, 0.5):
            p = np.array([ce, cn]) + sl * L * fwd + sw * Wd * side
            pts.append((p[0], p[1], 0.0))
            if height_m > 0:
                q = np.array([ce, cn]) + sl * (L - 2 * top_inset_m) * fwd + sw * Wd * side
                pts.append((q[0], q[1], height_m))
    us, vs = [], []
    pose = camera.pose
    for e, n, z in pts:
        # a point at height z seen from height H projects like a ground point scaled about the camera
        s = pose.height_m / (pose.height_m - z)
        u, v = camera.ground_to_pixel(pose.east_m + (e - pose.east_m) * s, pose.north_m + (n - pose.north_m) * s)
        us.append(float(u))
        vs.append(float(v))
    if not all(map(math.isfinite, us + vs)):
        return None
    x1, x2, y1, y2 = min(us), max(us), min(vs), max(vs)
    if x1 < 0 or y1 < 0 or x2 > W - 1 or y2 > H - 1:
        return None
    return Detection((x1, y1, x2, y2), "vehicle", 0.9)


@pytest.mark.parametrize(
    ("pose", "centre", "obj_h", "inset", "tol_m"),
    [
        (dict(pitch=-90.0), (5.0, 8.0), 0.0, 0.0, 0.05),
        (dict(pitch=-90.0), (-15.0, 20.0), 1.5, 0.0, 0.2),
        (dict(pitch=-60.0, yaw=30.0), (30.0, 60.0), 0.0, 0.0, 0.05),
        (dict(pitch=-45.0, yaw=0.0), (0.0, 60.0), 1.5, 0.0, 0.5),
        (dict(pitch=-35.0, yaw=200.0, height=80.0), (-40.0, -100.0), 1.5, 0.0, 0.8),
        (dict(pitch=-45.0, yaw=90.0, roll=3.0), (55.0, 10.0), 2.0, 0.0, 0.6),
        # a car whose roof is 1 m inside its bumpers: near, the box is the footprint; far, the roof leans out
        (dict(pitch=-90.0), (0.0, 20.0), 1.5, 1.0, 0.2),
        (dict(pitch=-45.0, yaw=0.0), (0.0, 60.0), 1.5, 1.0, 0.5),
        (dict(pitch=-35.0, yaw=200.0, height=80.0), (-40.0, -100.0), 1.5, 1.0, 0.8),
    ],
)
def test_ground_contact(pose, centre, obj_h, inset, tol_m):
    c = cam(**pose)
    det = box_of(c, centre, height_m=obj_h, heading_deg=0.0 if inset else 20.0, top_inset_m=inset)
    assert det is not None
    settings = FindingsSettings(object_height_m={"vehicle": obj_h}, object_top_inset_m={"vehicle": inset})
    g = ground_detection(det, c, LOCAL, "f1.jpg", settings)
    assert g is not None
    err = math.hypot(g.east_m - centre[0], g.north_m - centre[1])
    assert err < tol_m
    assert g.uncertainty_m > err  # the radius covers the actual error
    lat, lon = LOCAL.to_wgs84(*centre)
    assert abs(g.lat_deg - lat) < 1e-5 and abs(g.lon_deg - lon) < 1e-5
    # the ground polygon contains the object's centre
    from shapely.geometry import Point, Polygon

    assert Polygon(g.polygon_en).buffer(0.3).contains(Point(centre))


def test_relief_correction_matters_for_upright_objects_in_oblique_views():
    c = cam(pitch=-40.0)
    centre = (0.0, 70.0)
    det = box_of(c, centre, height_m=1.5)
    with_h = ground_detection(det, c, LOCAL, "f", FindingsSettings(object_height_m={"vehicle": 1.5}, object_top_inset_m={}))
    flat = ground_detection(det, c, LOCAL, "f", FindingsSettings(object_height_m={"vehicle": 0.0}))
    e_h = math.hypot(with_h.east_m - centre[0], with_h.north_m - centre[1])
    e_flat = math.hypot(flat.east_m - centre[0], flat.north_m - centre[1])
    assert e_h < 0.5 < e_flat


def test_uncertainty_grows_with_obliquity_and_gsd():
    near = ground_detection(box_of(cam(pitch=-90.0), (0.0, 5.0)), cam(pitch=-90.0), LOCAL, "a", FS)
    far = ground_detection(box_of(cam(pitch=-30.0), (0.0, 150.0)), cam(pitch=-30.0), LOCAL, "b", FS)
    assert near.obliquity_deg < 10 < 60 < far.obliquity_deg
    assert near.uncertainty_m < far.uncertainty_m
    assert near.gsd_m < far.gsd_m


def test_box_above_horizon_has_no_ground_point():
    c = cam(pitch=-5.0)
    det = Detection((1900.0, 100.0, 2000.0, 200.0), "vehicle", 0.8)  # above the horizon line
    assert ground_detection(det, c, LOCAL, "f", FS) is None


def test_truncated_box_flagged():
    c = cam()
    g = ground_detection(Detection((0.0, 100.0, 80.0, 200.0), "vehicle", 0.8), c, LOCAL, "f", FS)
    assert g.truncated
    g = ground_detection(Detection((100.0, 100.0, 180.0, 200.0), "vehicle", 0.8), c, LOCAL, "f", FS)
    assert not g.truncated


# --- merging --------------------------------------------------------------------------------------

# overlapping frames flying north; three cars (two of them parked side by side 2.2 m apart) and a
# pothole under one of them
OBJECTS = [
    ("vehicle", (0.0, 40.0)),
    ("vehicle", (2.2, 40.0)),
    ("vehicle", (-10.0, 70.0)),
    ("road_damage", (0.3, 40.5)),
]
POSES = [dict(north=n, pitch=-60.0) for n in (0.0, 10.0, 20.0, 30.0)]


def flight_detections(seed: int = 0, jitter_m: float = 0.0) -> list[GroundDetection]:
    rng = random.Random(seed)
    out = []
    for i, p in enumerate(POSES):
        c = cam(**p)
        for cls, centre in OBJECTS:
            centre = (centre[0] + rng.uniform(-jitter_m, jitter_m), centre[1] + rng.uniform(-jitter_m, jitter_m))
            h = FS.object_height_m[cls]
            det = box_of(c, centre, size_lw=(4.5, 1.8) if cls == "vehicle" else (1.0, 1.0), height_m=h,
                         top_inset_m=FS.object_top_inset_m.get(cls, 0.0))
            if det is None:
                continue
            det = Detection(det.bbox_xyxy_px, cls, 0.6 + 0.1 * i)
            g = ground_detection(det, c, LOCAL, f"DJI_{i:04d}.JPG", FS, sharpness=100.0 + i)
            if g is not None:
                out.append(g)
    return out


def test_merge_counts_each_object_once():
    gds = flight_detections(jitter_m=0.3)
    assert len(gds) >= 12
    groups = merge_ground_detections(gds, FS.merge_radius_m)
    assert len(groups) == len(OBJECTS)
    for grp in groups:
        assert len({g.frame for g in grp}) == len(grp)  # one detection per frame
        assert len({g.class_name for g in grp}) == 1


def test_merge_is_deterministic_under_input_order():
    gds = flight_detections(seed=3, jitter_m=0.3)
    order = sorted({g.frame for g in gds})
    a = build_findings(gds, Zones.empty(), RULES, FS, LOCAL, "key", order)
    shuffled = list(gds)
    random.Random(1).shuffle(shuffled)
    b = build_findings(shuffled, Zones.empty(), RULES, FS, LOCAL, "key", order)
    assert a == b
    assert len({f.finding_id for f in a}) == len(a)
    assert build_findings(gds, Zones.empty(), RULES, FS, LOCAL, "other", order)[0].finding_id not in {f.finding_id for f in a}


def test_findings_positions_best_view_and_categories():
    gds = flight_detections()
    fs = build_findings(gds, Zones.empty(), RULES, FS, LOCAL, "k")
    assert len(fs) == 4
    for cls, centre in OBJECTS:
        lat, lon = LOCAL.to_wgs84(*centre)
        near = [f for f in fs if f.class_name == cls and _dist_m(f, lat, lon) < 0.5]
        assert len(near) == 1, (cls, centre)
        f = near[0]
        assert f.category == (None if cls == "vehicle" else "road_damage")
        assert f.best_frame in f.frames and len(f.frames) >= 2
        assert f.score == pytest.approx(0.6 + 0.1 * max(int(x[4:8]) for x in f.frames))
        assert f.uncertainty_m >= FS.position_sigma_m


def _dist_m(f: Finding, lat: float, lon: float) -> float:
    e1, n1 = LOCAL.to_local(f.lat_deg, f.lon_deg)
    e2, n2 = LOCAL.to_local(lat, lon)
    return math.hypot(e1 - e2, n1 - n2)


def test_best_view_prefers_nadir_sharp_untruncated():
    base = dict(class_name="vehicle", lat_deg=39.9, lon_deg=116.4, east_m=0.0, north_m=0.0, uncertainty_m=1.0,
                polygon_en=((0, 0), (1, 0), (1, 1)), polygon_wgs84=((116.4, 39.9), (116.41, 39.9), (116.41, 39.91)))
    views = [
        GroundDetection(frame="a", score=0.9, bbox_xyxy_px=(0, 0, 10, 10), gsd_m=0.02, obliquity_deg=60.0, sharpness=50.0, **base),
        GroundDetection(frame="b", score=0.8, bbox_xyxy_px=(5, 5, 20, 20), gsd_m=0.015, obliquity_deg=5.0, sharpness=90.0, **base),
        GroundDetection(frame="c", score=0.95, bbox_xyxy_px=(0, 5, 20, 20), gsd_m=0.015, obliquity_deg=0.0, sharpness=100.0, truncated=True, **base),
    ]
    (f,) = build_findings(views, Zones.empty(), RULES, FS, LOCAL, "k")
    assert f.best_frame == "b"
    assert f.frames == ("a", "b", "c")
    assert f.best_bbox_xyxy_px == (5, 5, 20, 20)


def test_zone_and_grid_placement():
    gds = flight_detections()
    lat0, lon0 = LOCAL.to_wgs84(-30.0, 0.0)
    lat1, lon1 = LOCAL.to_wgs84(30.0, 100.0)
    latm, lonm = LOCAL.to_wgs84(-5.0, 45.0)

    def rect(a, b, c, d):
        return {"type": "Polygon", "coordinates": [[[b, a], [d, a], [d, c], [b, c], [b, a]]]}

    zones = parse_zones(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": rect(lat0, lon0, lat1, lon1), "properties": {"kind": "grid_cell", "name": "G7", "unit": "Street team 7"}},
                {"type": "Feature", "geometry": rect(lat0, lonm, latm, lon1), "properties": {"kind": "no_parking", "name": "Fire lane"}},
            ],
        }
    )
    fs = build_findings(gds, zones, RULES, FS, LOCAL, "k")
    by = {(f.class_name, round(LOCAL.to_local(f.lat_deg, f.lon_deg)[0])): f for f in fs}
    parked = by[("vehicle", 0)]
    assert (parked.category, parked.zone_name, parked.grid_cell, parked.unit) == ("illegal_parking", "Fire lane", "G7", "Street team 7")
    other = by[("vehicle", -10)]
    assert (other.category, other.zone_name, other.unit) == (None, None, "Street team 7")
    pothole = by[("road_damage", 0)]
    # road damage counts on a road only (there is none here); the finding still names the zone it is in
    assert (pothole.category, pothole.zone_name) == (None, "Fire lane")
    # the same detections without zones: the "no_zones" fallback reports the road damage
    bare = {(f.class_name, round(LOCAL.to_local(f.lat_deg, f.lon_deg)[0])): f for f in build_findings(gds, Zones.empty(), RULES, FS, LOCAL, "k")}
    assert bare[("road_damage", 0)].category == "road_damage"
    assert bare[("vehicle", 0)].category is None  # vehicles are only counted without zones


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        (dict(finding_id=""), ValueError),
        (dict(lat_deg=91.0), ValueError),
        (dict(score=1.5), ValueError),
        (dict(frames=()), ValueError),
        (dict(best_frame="zzz"), ValueError),
        (dict(best_bbox_xyxy_px=(5, 5, 1, 1)), ValueError),
        (dict(polygon_wgs84=((1.0, 2.0),)), ValueError),
        (dict(category=""), ValueError),
        (dict(), None),
    ],
)
def test_finding_validation(kwargs, exc):
    good = dict(
        finding_id="F1", class_name="garbage", category="exposed_garbage", lat_deg=39.9, lon_deg=116.4,
        uncertainty_m=1.0, score=0.7, zone_name=None, zone_kind=None, grid_cell="A", unit="U",
        frames=("a", "b"), best_frame="a", best_bbox_xyxy_px=(1, 1, 5, 5),
        polygon_wgs84=((116.4, 39.9), (116.41, 39.9), (116.41, 39.91)),
    )
    good.update(kwargs)
    if exc is None:
        f = Finding(**good)
        assert f.is_violation and f.__geo_interface__["coordinates"] == (116.4, 39.9)
    else:
        with pytest.raises(exc):
            Finding(**good)


def test_finding_id_stable():
    gds = flight_detections()
    assert finding_id_for("k", gds[:2]) == finding_id_for("k", list(reversed(gds[:2])))
    assert finding_id_for("k", gds[:2]) != finding_id_for("k", gds[:3])


def test_align_frames_removes_per_frame_pose_errors():
    from patrol.findings import align_frames, apply_correction

    rng = random.Random(5)
    objects = [(("vehicle", "garbage", "road_damage")[i % 3], (rng.uniform(-25, 25), rng.uniform(-10, 110))) for i in range(40)]
    errors = [(1.5, 0.8, -0.6), (-1.2, -0.5, 0.9), (0.4, 1.1, 0.3), (-0.9, -0.7, -1.0), (1.0, 0.2, 0.5), (-0.8, -0.9, 0.1)]
    gds, truth = [], []
    flat = FindingsSettings(object_height_m={})
    for i, (dyaw, de, dn) in enumerate(errors):
        true_cam = cam(north=20.0 * i, height=60.0)
        noisy = cam(east=de, north=20.0 * i + dn, height=60.0, yaw=dyaw)
        for cls, centre in objects:
            det = box_of(true_cam, centre, size_lw=(2.0, 2.0))
            if det is None:
                continue
            g = ground_detection(Detection(det.bbox_xyxy_px, cls, 0.9), noisy, LOCAL, f"F{i}", flat)
            gds.append(g)
            truth.append(centre)

    def spread(items):
        # error around the mean error: what alignment can remove (the flight-wide mean it cannot)
        errs = np.array([(g.east_m - c[0], g.north_m - c[1]) for g, c in zip(items, truth)])
        return float(np.sqrt(((errs - errs.mean(axis=0)) ** 2).sum(axis=1).mean()))

    before = spread(gds)
    corr = align_frames(gds, FS.merge_radius_m)
    fixed = [apply_correction(g, corr[g.frame], LOCAL) if g.frame in corr else g for g in gds]
    after = spread(fixed)
    assert before > 1.0
    assert after < 0.4 * before
    assert abs(sum(c.de_m for c in corr.values())) < 1e-6  # the mean shift is left alone
    # yaw errors are found (sign: the correction undoes the error)
    # relative yaw errors are found (a yaw shared by all frames is only weakly seen along one line)
    est = np.array([corr[f"F{i}"].dyaw_deg for i in range(len(errors))])
    true = np.array([e[0] for e in errors])
    assert np.abs((est - est.mean()) - (true - true.mean())).max() < 0.3
    # and merging then counts every object once
    fs = build_findings(gds, Zones.empty(), RULES, flat, LOCAL, "k")
    assert len(fs) == len(objects)
