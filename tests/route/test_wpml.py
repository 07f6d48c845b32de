"""The WPML KMZ, KML and GeoJSON writers, checked by parsing their output back and by comparing the
KMZ's element structure with DJI's documented sample (../shared/reference/wpml-and-open311.md 1.8/1.9)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from defusedxml import ElementTree as DET

from patrol.errors import InputError
from patrol.route.drones import DRONES, drone_model
from patrol.route.formats import route_geojson, route_kml
from patrol.route.plan import CameraGeometry, plan_routes
from patrol.route.wpml import KML_NS, WPML_NS, MissionOptions, kmz_bytes, parse_kmz
from tests.route.test_plan import spot_at

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "wpml-and-open311.md"
OPT = MissionOptions(created_at=datetime(2026, 11, 22, 8, 0, tzinfo=UTC))
NS = {"k": KML_NS, "w": WPML_NS}


def _route(drone: str = "m3e", spots=None):
    d = drone_model(drone)
    spots = spots or [spot_at(1, 0, 0), spot_at(2, 10, 4), spot_at(3, 300, 0), spot_at(4, 300, 300),
                      spot_at(5, 0, 300), spot_at(6, 150, 10, gsd=0.01, category="road_damage")]
    plan = plan_routes(spots, CameraGeometry(d.focal_px, d.image_wh), height_m=60.0, max_length_m=1e6, max_waypoints=200, drone=drone)
    return plan.routes[0], d


def test_kmz_parses_back_with_one_photo_group_per_waypoint() -> None:
    route, d = _route()
    data = kmz_bytes(route, d, OPT)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == ["wpmz/template.kml", "wpmz/waylines.wpml"]  # at the root, no prefix
    back = parse_kmz(data)
    assert (back.drone_enum, back.drone_sub_enum, back.payload_enum) == (77, 0, 66)
    assert back.height_mode == "relativeToStartPoint"
    assert [p.index for p in back.points] == list(range(len(route.waypoints)))
    for p, w in zip(back.points, route.waypoints):
        assert (p.lon_deg, p.lat_deg) == pytest.approx((w.lon_deg, w.lat_deg), abs=1e-8)  # lon,lat order
        assert p.height_m == w.height_m
        assert p.actions == ("gimbalRotate", "takePhoto") and len(p.action_group_ids) == 1
        assert p.gimbal_pitch_deg == -90.0
    assert len({g for p in back.points for g in p.action_group_ids}) == len(back.points)
    # the road-damage spot (1 cm/px) flies lower than the rest
    low = [p for p, w in zip(back.points, route.waypoints) if 6 in w.case_ids]
    assert low and low[0].height_m < 60.0


@pytest.mark.parametrize("key", [d.key for d in DRONES])
def test_every_drone_writes_its_enums(key: str) -> None:
    route, d = _route(key)
    back = parse_kmz(kmz_bytes(route, d, OPT))
    assert (back.drone_enum, back.drone_sub_enum, back.payload_enum) == (d.drone_enum, d.drone_sub_enum, d.payload_enum)


def test_a_one_spot_route_gets_a_second_point_so_dji_loads_it() -> None:
    route, d = _route(spots=[spot_at(1, 0, 0)])
    back = parse_kmz(kmz_bytes(route, d, OPT))
    assert len(back.points) == 2
    assert back.points[0].actions == ("gimbalRotate", "takePhoto")
    assert back.points[1].actions == ("hover",) and back.points[1].height_m == back.points[0].height_m + 10


def _paths(el, prefix: str = "") -> set[str]:
    out = set()
    for child in el:
        if not isinstance(child.tag, str):
            continue
        tag = child.tag.replace(f"{{{WPML_NS}}}", "wpml:").replace(f"{{{KML_NS}}}", "")
        p = f"{prefix}/{tag}"
        out.add(p)
        out |= _paths(child, p)
    return out


def _reference_blocks() -> list[str]:
    if not REFERENCE.is_file():
        pytest.skip(f"WPML reference not available: {REFERENCE}")
    return re.findall(r"```xml\n(.*?)```", REFERENCE.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_structure_matches_djis_documented_sample() -> None:
    ref_template, ref_waylines = _reference_blocks()[:2]
    route, d = _route("m30t")
    with zipfile.ZipFile(io.BytesIO(kmz_bytes(route, d, OPT))) as z:
        ours_t = DET.fromstring(z.read("wpmz/template.kml"))
        ours_w = DET.fromstring(z.read("wpmz/waylines.wpml"))
    ref_t = DET.fromstring(ref_template.encode())
    ref_w = DET.fromstring(ref_waylines.encode())
    assert ours_t.tag == ref_t.tag == f"{{{KML_NS}}}kml"
    pt, rt = _paths(ours_t), _paths(ref_t)
    hover = {p for p in rt if "hoverTime" in p}  # the sample's second point hovers; ours photograph
    assert rt - hover <= pt, f"missing from our template.kml: {sorted(rt - hover - pt)}"
    assert pt - rt == set(), f"template.kml elements not in DJI's sample: {sorted(pt - rt)}"
    # waylines: the sample elides missionConfig (a comment: same as the template) and action groups
    pw, rw = _paths(ours_w), _paths(ref_w)
    rw_points = {p for p in rw if "/Placemark" in p}
    export_only = {p for p in rw_points if "waypointGimbalHeadingParam" in p or "waypointWorkType" in p}
    assert rw_points - export_only <= pw
    ours_points = {p for p in pw if "/Placemark" in p and "/wpml:actionGroup" not in p}
    assert ours_points <= rw_points
    mission_t = {p.split("missionConfig", 1)[1] for p in pt if "missionConfig" in p}
    mission_w = {p.split("missionConfig", 1)[1] for p in pw if "missionConfig" in p}
    assert mission_t == mission_w  # "identical content to template.kml missionConfig"
    assert {p for p in pw if "/Folder/wpml:" in p and "/Placemark" not in p} == {p for p in rw if "/Folder/wpml:" in p and "/Placemark" not in p}


def test_the_reference_sample_itself_validates() -> None:
    """Our reader accepts DJI's own sample (proof it checks structure, not our output's quirks)."""
    ref_template, ref_waylines = _reference_blocks()[:2]
    mc = re.search(r"<wpml:missionConfig>.*?</wpml:missionConfig>", ref_template, flags=re.DOTALL).group(0)
    waylines = ref_waylines.replace("<wpml:missionConfig><!-- identical content to template.kml missionConfig --></wpml:missionConfig>", mc)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("wpmz/template.kml", ref_template)
        z.writestr("wpmz/waylines.wpml", waylines)
    back = parse_kmz(buf.getvalue())
    assert (back.drone_enum, back.drone_sub_enum, back.payload_enum) == (67, 1, 53)
    assert [p.index for p in back.points] == [0, 1]
    assert back.points[0].lon_deg == pytest.approx(8.541694) and back.points[0].lat_deg == pytest.approx(47.376887)


def _rezip(data: bytes, edit) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        files = {n: z.read(n).decode() for n in z.namelist()}
    files = edit(files)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, t in files.items():
            z.writestr(n, t)
    return buf.getvalue()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda f: {("route/" + n): t for n, t in f.items()}, "at the archive root"),
        (lambda f: {n: t.replace("<wpml:index>1</wpml:index>", "<wpml:index>7</wpml:index>") for n, t in f.items()}, "not 0..n-1"),
        (lambda f: {n: t.replace("<wpml:actionGroupId>1</wpml:actionGroupId>", "<wpml:actionGroupId>0</wpml:actionGroupId>") for n, t in f.items()}, "not unique"),
        (lambda f: {n: re.sub(r"<wpml:finishAction>.*?</wpml:finishAction>", "", t) for n, t in f.items()}, "missing wpml:missionConfig/wpml:finishAction"),
        (lambda f: {n: t.replace("relativeToStartPoint</wpml:executeHeightMode>", "WGS84</wpml:executeHeightMode>") for n, t in f.items()}, "do not pair"),
        (lambda f: {n: t.replace("http://www.dji.com/wpmz/1.0.2", "http://example.com/wpmz") for n, t in f.items()}, "missing"),
    ],
)
def test_broken_kmz_is_refused_with_the_reason(edit, message: str) -> None:
    route, d = _route()
    with pytest.raises(InputError, match=message):
        parse_kmz(_rezip(kmz_bytes(route, d, OPT), edit), "x.kmz")


def test_geojson_and_kml() -> None:
    route, _ = _route()
    gj = json.loads(route_geojson(route, "revisit"))
    pts = [f for f in gj["features"] if f["properties"]["kind"] == "waypoint"]
    assert [f["properties"]["index"] for f in pts] == list(range(len(route.waypoints)))
    assert sorted(c for f in pts for c in f["properties"]["case_ids"]) == [1, 2, 3, 4, 5, 6]
    lon, lat = pts[0]["geometry"]["coordinates"]
    assert (lat, lon) == (route.waypoints[0].lat_deg, route.waypoints[0].lon_deg)
    root = DET.fromstring(route_kml(route, "revisit"))
    marks = root.findall("k:Document/k:Placemark", NS)
    assert len(marks) == len(route.waypoints) + 1
    c = marks[0].find("k:Point/k:coordinates", NS).text.split(",")
    assert float(c[0]) == pytest.approx(route.waypoints[0].lon_deg) and float(c[1]) == pytest.approx(route.waypoints[0].lat_deg)
