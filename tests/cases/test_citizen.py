"""Citizen and hotline reports: opening or re-observing cases from a photo's GPS or a point, refusals,
and the drone's check of a reported case (found = still present; not found is not fixed)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from patrol.cases.citizen import ReportInput, add_report, check_reported_cases
from patrol.cases.model import CaseStatus
from patrol.cases.service import set_status, update_cases
from patrol.config import Settings
from patrol.errors import ConfigError, InputError
from patrol.store.revisits import case_sources, reports_of_case
from patrol.zones import Zones, parse_zones
from tests.cases.helpers import T0, finding, latlon
from tests.conftest import shared_path

SETTINGS = Settings()


def _zones(center: tuple[float, float], half_deg: float = 0.002, unit: str = "Team East") -> Zones:
    lat, lon = center
    ring = [[lon - half_deg, lat - half_deg], [lon + half_deg, lat - half_deg], [lon + half_deg, lat + half_deg],
            [lon - half_deg, lat + half_deg], [lon - half_deg, lat - half_deg]]
    return parse_zones({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "grid_cell", "name": "G-07", "unit": unit},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}, "zones.geojson")


ZONES = _zones(latlon(0, 0))


def _point(e: float, n: float, category: str = "exposed_garbage", **kw) -> ReportInput:
    lat, lon = latlon(e, n)
    return ReportInput(category, kw.pop("source", "citizen"), lat_deg=lat, lon_deg=lon, reported_at=kw.pop("at", T0), **kw)


def test_a_point_opens_a_case_with_its_grid_cell_unit_and_source(store) -> None:
    r = add_report(store, SETTINGS, _point(3, 4, note="bags by the bins", source="hotline"), ZONES)
    assert r.opened and r.case.status == CaseStatus.OPEN
    assert (r.case.grid_cell, r.case.unit, r.case.class_name) == ("G-07", "Team East", "garbage")
    assert case_sources(store, [r.case.case_id]) == {r.case.case_id: "hotline"}
    ev = store.events(r.case.case_id)
    assert len(ev) == 1 and "hotline report" in ev[0].note and "bags by the bins" in ev[0].note


def test_a_second_report_nearby_reobserves_and_another_category_opens(store) -> None:
    a = add_report(store, SETTINGS, _point(0, 0), ZONES)
    b = add_report(store, SETTINGS, _point(2, 1, at=T0 + timedelta(hours=1)), ZONES)  # within the 5 m radius
    c = add_report(store, SETTINGS, _point(2, 1, category="road_damage"), ZONES)
    d = add_report(store, SETTINGS, _point(30, 0), ZONES)  # same category, 30 m away
    assert not b.opened and b.case.case_id == a.case.case_id and b.case.observations == 2
    assert c.opened and d.opened and len({a.case.case_id, c.case.case_id, d.case.case_id}) == 3
    assert [r.opened_case for r in reports_of_case(store, a.case.case_id)] == [True, False]


def test_a_report_on_a_dispatched_drone_case_makes_it_still_present(store) -> None:
    store.begin_flight("F1", name="f1", source="/f1", n_files=1)
    update_cases(store, "F1", [finding("f1", "exposed_garbage", 0, 0)], at=T0)
    cid = store.list_cases()[0].case_id
    set_status(store, cid, "dispatched", at=T0)
    r = add_report(store, SETTINGS, _point(1, 1, at=T0 + timedelta(hours=2)), ZONES)
    assert r.case.case_id == cid and r.case.status == CaseStatus.STILL_PRESENT
    assert r.case.evidence_frame == "DJI_0001.JPG"  # the drone's evidence stays
    assert case_sources(store, [cid]) == {cid: "drone"}  # a drone found it first


def test_far_outside_every_zone_is_refused(store) -> None:
    with pytest.raises(InputError, match=r"point .*: the spot .* is 1\.[0-9] km outside every zone of zones.geojson"):
        add_report(store, SETTINGS, _point(1500, 0), ZONES)
    assert store.list_cases() == []


@pytest.mark.parametrize("kw, message", [
    (dict(category="exposed_garbage"), "exactly one of --photo or --point"),
    (dict(category="exposed_garbage", lat_deg=1.0, lon_deg=2.0, source="email"), "--source"),
])
def test_bad_report_arguments(kw, message) -> None:
    with pytest.raises(ConfigError, match=message):
        ReportInput(**kw)


def test_unknown_category_is_refused(store) -> None:
    with pytest.raises(ConfigError, match="unknown category 'graffiti'"):
        add_report(store, SETTINGS, _point(0, 0, category="graffiti"), ZONES)


def test_a_photo_without_gps_is_refused(store, tmp_path: Path) -> None:
    p = tmp_path / "no_gps.jpg"
    cv2.imwrite(str(p), np.full((60, 80, 3), 128, np.uint8))
    with pytest.raises(InputError, match="no_gps.jpg.*no GPS position"):
        add_report(store, SETTINGS, ReportInput("exposed_garbage", photo=p), ZONES)


GPS_PHOTOS = ("DSCN0010.jpg", "DSCN0021.jpg", "DSCN0042.jpg")  # three Nikon photos in one Tuscan town


def test_real_phone_photos_open_cases_or_are_refused(store) -> None:
    folder = shared_path("exif", "exif-samples", "gps")
    town = _zones((43.4660, 11.8835), half_deg=0.004)
    opened, refused = [], []
    for p in sorted(folder.iterdir()):
        try:
            opened.append((p.name, add_report(store, SETTINGS, ReportInput("street_vending", photo=p), town)))
        except InputError as e:
            refused.append((p.name, str(e)))
    assert sorted(n for n, _ in opened) == list(GPS_PHOTOS)
    for name, r in opened:
        assert r.opened and r.case.unit == "Team East" and r.case.evidence_frame.endswith(name)
        assert r.case.opened_at.year == 2008  # the photo's EXIF time
    assert len(refused) == len(list(folder.iterdir())) - 3
    assert all("outside every zone" in why for _, why in refused), refused
    with pytest.raises(InputError, match="already reported"):
        add_report(store, SETTINGS, ReportInput("street_vending", photo=folder / GPS_PHOTOS[0]), town)


def test_real_heic_photo_opens_a_case(store) -> None:
    p = shared_path("exif", "exif-samples", "gps", "IMG_5195.HEIC")
    r = add_report(store, SETTINGS, ReportInput("road_damage", photo=p), Zones.empty())
    assert r.opened and (r.case.lat_deg, r.case.lon_deg) == pytest.approx((39.05134, -94.28877), abs=1e-4)
    assert r.case.unit is None  # no zones: no unit, and no "outside" check


def _drone_flight(store, flight_id: str, findings, queue: list[int] = (), at=T0 + timedelta(days=1)):
    store.begin_flight(flight_id, name=flight_id, source="/" + flight_id, n_files=1, started_at=at)
    store.save_findings(flight_id, findings)
    update_cases(store, flight_id, findings, at=at)
    for cid in queue:
        store.queue_verification(cid, flight_id, "DJI_0100.JPG", 0.03)


def test_the_drone_confirms_a_report_found_on_the_spot(store) -> None:
    r = add_report(store, SETTINGS, _point(0, 0), ZONES)
    _drone_flight(store, "F2", [finding("g1", "exposed_garbage", 1.0, 0.5, frame="DJI_0007.JPG")])
    assert check_reported_cases(store, "F2", SETTINGS) == {"still_present": 1, "not_found": 0}
    case = store.get_case(r.case.case_id)
    assert case.status == CaseStatus.STILL_PRESENT and case.evidence_frame == "DJI_0007.JPG"
    v = store.verifications(case_id=case.case_id)
    assert [x.verdict for x in v] == ["still_present"] and v[0].details["check"] == "detection_on_spot"
    assert "confirmed, still present" in store.events(case.case_id)[-1].note
    assert check_reported_cases(store, "F2", SETTINGS) == {"still_present": 0, "not_found": 0}  # idempotent


def test_not_found_on_the_spot_is_not_fixed(store) -> None:
    r = add_report(store, SETTINGS, _point(0, 0), ZONES)
    _drone_flight(store, "F2", [], queue=[r.case.case_id])
    assert check_reported_cases(store, "F2", SETTINGS) == {"still_present": 0, "not_found": 1}
    case = store.get_case(r.case.case_id)
    assert case.status == CaseStatus.OPEN  # not fixed until a reviewer closes it
    assert [x.verdict for x in store.verifications(case_id=case.case_id)] == ["not_found"]
    assert store.pending_verifications("F2") == []  # the before/after stage will not try it
    note = store.events(case.case_id)[-1].note
    assert "not found" in note and "Not 'fixed'" in note and "reviewer closes" in note


def test_a_drone_confirmed_report_is_left_to_before_after_verification(store) -> None:
    r = add_report(store, SETTINGS, _point(0, 0), ZONES)
    _drone_flight(store, "F2", [finding("g1", "exposed_garbage", 1.0, 0.5)])
    check_reported_cases(store, "F2", SETTINGS)
    _drone_flight(store, "F3", [], queue=[r.case.case_id], at=T0 + timedelta(days=2))
    assert check_reported_cases(store, "F3", SETTINGS) == {"still_present": 0, "not_found": 0}
    assert [q.case_id for q in store.pending_verifications("F3")] == [r.case.case_id]


def test_cli_cases_add_and_list_show_the_source(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from patrol.cli import app

    db = tmp_path / "p.db"
    zf = tmp_path / "zones.geojson"
    lat, lon = latlon(0, 0)
    zf.write_text(json.dumps({"type": "FeatureCollection", "features": [z.__geo_interface__ for z in ZONES]}), encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["cases", "add", "--db", str(db), "--category", "exposed_garbage", "--point", f"{lat},{lon}",
                            "--source", "hotline", "--zones", str(zf), "--note", "call 12345"])
    assert r.exit_code == 0, r.output
    assert "case 1 opened: exposed_garbage" in r.output and "Team East" in r.output
    r = runner.invoke(app, ["cases", "add", "--db", str(db), "--category", "exposed_garbage", "--point", "1.0,2.0", "--zones", str(zf)])
    assert r.exit_code == 1 and "outside every zone" in r.output
    r = runner.invoke(app, ["cases", "add", "--db", str(db), "--category", "exposed_garbage"])
    assert r.exit_code == 2 and "--photo PHOTO... or --point" in r.output
    r = runner.invoke(app, ["cases", "list", "--db", str(db), "--json"])
    assert [c["source"] for c in json.loads(r.output)] == ["hotline"]
    r = runner.invoke(app, ["cases", "show", "1", "--db", str(db)])
    assert "source     hotline (1 report(s))" in r.output and "call 12345" in r.output
