"""GeoJSON (RFC 7946 rules, loaded with shapely), KML, CSV and Open311 exports of generated data."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from xml.etree import ElementTree as ET

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from patrol.report import geojson
from patrol.report.csv_export import CASE_COLUMNS, FINDING_COLUMNS, cases_csv, findings_csv, safe_cell
from patrol.report.kml import KML_NS, to_kml
from patrol.report.open311 import service_requests
from tests.report.factories import HOSTILE_ZONE, case_rows, flight_data, square


# -- GeoJSON ----------------------------------------------------------------------------------------
def _doc():
    data = flight_data(None)
    return data, json.loads(geojson.dumps(geojson.feature_collection(case_rows(12), data.findings, data.flight_id)))


def test_geojson_follows_rfc7946_and_loads_in_shapely() -> None:
    data, doc = _doc()
    assert geojson.rfc7946_problems(doc) == []
    assert "crs" not in doc
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert kinds.count("case") == 12 and kinds.count("finding") == len(data.findings)
    for f in doc["features"]:
        g = shape(f["geometry"])
        assert g.is_valid
        lon, lat = g.representative_point().x, g.representative_point().y
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        if g.geom_type == "Polygon":
            assert shapely.is_ccw(g.exterior)
            # lon/lat order: the outline contains the finding's point, given as (lon, lat)
            p = f["properties"]
            assert g.buffer(1e-9).contains(shapely.Point(p["lon_deg"], p["lat_deg"]))
    x0, y0, x1, y1 = doc["bbox"]
    assert x0 <= x1 and y0 <= y1 and 114 < x0 < 115 and 37 < y0 < 39


def test_clockwise_input_is_rewound() -> None:
    cw = square(0, 0, 5, clockwise=True)
    assert not shapely.is_ccw(shapely.LinearRing(cw))
    g = geojson.polygon_geometry(cw, holes=[square(0, 0, 1)])  # the hole is CCW: must become CW
    assert shapely.is_ccw(shapely.LinearRing(g["coordinates"][0]))
    assert not shapely.is_ccw(shapely.LinearRing(g["coordinates"][1]))


@given(st.lists(st.tuples(st.floats(-179, 179), st.floats(-89, 89)), min_size=3, max_size=12))
@settings(max_examples=80, deadline=None)
def test_any_ring_comes_out_closed_and_ccw(points) -> None:
    ring = shapely.Polygon(points).convex_hull
    if ring.geom_type != "Polygon" or ring.area < 1e-6:
        return
    coords = list(ring.exterior.coords)[::-1]  # shapely's hull is CW-or-CCW: force CW input
    g = geojson.polygon_geometry(coords)
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": g}]}
    assert geojson.rfc7946_problems(doc) == []


@pytest.mark.parametrize(
    "geometry, problem",
    [
        ({"type": "Point", "coordinates": [200.0, 10.0]}, "longitude"),
        ({"type": "Point", "coordinates": [10.0, -95.0]}, "latitude"),
        ({"type": "Point", "coordinates": [10.0]}, "position"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]]}, "counter-clockwise"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}, "closed ring"),
        ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "unexpected geometry"),
    ],
)
def test_validator_catches_broken_geometry(geometry, problem) -> None:
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": geometry}]}
    problems = geojson.rfc7946_problems(doc)
    assert len(problems) == 1 and problem in problems[0]


def test_validator_rejects_crs_member() -> None:
    assert geojson.rfc7946_problems({"type": "FeatureCollection", "features": [], "crs": {}})


# -- KML --------------------------------------------------------------------------------------------
def test_kml_parses_and_keeps_hostile_text_as_text() -> None:
    data = flight_data(None)
    rows = case_rows(10)
    root = ET.fromstring(to_kml(rows, data.findings).encode("utf-8"))
    ns = {"k": KML_NS}
    folders = root.findall("k:Document/k:Folder", ns)
    assert [f.find("k:name", ns).text for f in folders] == ["Cases", "Findings"]
    assert len(folders[0].findall("k:Placemark", ns)) == 10
    assert len(folders[1].findall("k:Placemark", ns)) == len(data.findings)
    descs = [p.find("k:description", ns).text for p in root.iter(f"{{{KML_NS}}}Placemark")]
    assert any(HOSTILE_ZONE in d for d in descs)
    first = folders[0].find("k:Placemark/k:Point/k:coordinates", ns).text
    lon, lat, _ = map(float, first.split(","))
    assert (lat, lon) == pytest.approx((rows[0].lat_deg, rows[0].lon_deg), abs=1e-6)
    style_ids = {s.get("id") for s in root.findall("k:Document/k:Style", ns)}
    for p in root.iter(f"{{{KML_NS}}}Placemark"):
        assert p.find("k:styleUrl", ns).text[1:] in style_ids


# -- CSV --------------------------------------------------------------------------------------------
def test_cases_csv_round_trips() -> None:
    rows = case_rows(8)
    parsed = list(csv.DictReader(io.StringIO(cases_csv(rows))))
    assert tuple(parsed[0].keys()) == CASE_COLUMNS
    assert [r["case_id"] for r in parsed] == [c.case_id for c in rows]
    assert float(parsed[3]["lat_deg"]) == pytest.approx(rows[3].lat_deg, abs=1e-7)
    assert parsed[0]["zone"] == HOSTILE_ZONE
    assert datetime.fromisoformat(parsed[0]["opened_at"]) == rows[0].opened_at


def test_findings_csv_has_a_row_per_finding() -> None:
    data = flight_data(None)
    parsed = list(csv.DictReader(io.StringIO(findings_csv(data.findings))))
    assert tuple(parsed[0].keys()) == FINDING_COLUMNS
    assert len(parsed) == len(data.findings)


@pytest.mark.parametrize(
    "value, expected",
    [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-cmd", "'-cmd"), ("@SUM(A1)", "'@SUM(A1)"),
     ("plain", "plain"), (-3.5, -3.5), (None, ""), (True, "true")],
)
def test_csv_cells_cannot_become_formulas(value, expected) -> None:
    assert safe_cell(value) == expected


# -- Open311 ----------------------------------------------------------------------------------------
REQUIRED = ("service_request_id", "status", "service_code", "service_name", "description", "lat", "long",
            "agency_responsible", "requested_datetime", "updated_datetime", "media_url")


def test_open311_fields_and_statuses() -> None:
    rows = case_rows(10, hostile=False)
    reqs = json.loads(json.dumps(service_requests(rows, 2.0, "https://city.example/board/", {"1": "thumbs/c-1.jpg"})))
    assert len(reqs) == 10
    for r, c in zip(reqs, rows, strict=True):
        assert set(REQUIRED) <= set(r)
        assert r["service_request_id"] == c.case_id
        assert r["status"] == ("open" if c.active else "closed")
        assert r["service_code"] == c.category
        assert r["agency_responsible"] == c.unit
        assert (r["lat"], r["long"]) == pytest.approx((c.lat_deg, c.lon_deg), abs=1e-7)
        assert datetime.fromisoformat(r["requested_datetime"]).utcoffset() is not None
        assert datetime.fromisoformat(r["updated_datetime"]) >= datetime.fromisoformat(r["requested_datetime"])
    assert reqs[0]["media_url"] == "https://city.example/board/thumbs/c-1.jpg"
    assert all(r["media_url"] is None for r in reqs[1:])
