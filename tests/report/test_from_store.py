"""The store adapter and `patrol report` / `patrol export` on a real SQLite store built in tmp_path."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from shapely.geometry import Polygon
from typer.testing import CliRunner

from patrol.cases.service import apply_verdict, update_cases
from patrol.cli import app
from patrol.findings import Finding
from patrol.ingest.frame import FrameMeta
from patrol.report import export_text, write_case_board, write_flight_report
from patrol.report.from_store import display_name, load_flight_report, redact_paths
from patrol.report.geojson import rfc7946_problems
from patrol.store import VerificationRecord, open_store
from tests.report.factories import HOSTILE_FILE, HOSTILE_ZONE, ll, square, write_frame
from tests.report.htmltree import parse

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def _finding(fid: str, frame: str, east: float, north: float, category: str | None, zone: str) -> Finding:
    lon, lat = ll(east, north)
    return Finding(
        finding_id=fid, class_name="garbage" if category else "vehicle", category=category, lat_deg=lat,
        lon_deg=lon, uncertainty_m=1.0, score=0.8, zone_name=zone, zone_kind="road", grid_cell="G1",
        unit="Sanitation East", frames=(frame,), best_frame=frame, best_bbox_xyxy_px=(560.0, 410.0, 640.0, 490.0),
        polygon_wgs84=square(east, north, 1.0),
    )


def _flight(store, root: Path, fid: str, at: datetime, findings_at, verify_case: int | None = None):
    folder = root / fid
    names = [f"DJI_{i:04d}.JPG" for i in range(4)] + [HOSTILE_FILE]
    paths = [write_frame(folder / n, i, (1200, 900)) for i, n in enumerate(names)]
    store.begin_flight(fid, name=f"patrol {fid}", source=str(folder), n_files=len(paths), started_at=at)
    for i, p in enumerate(paths[:4]):
        lon, lat = ll(i * 20.0, 0.0)
        meta = FrameMeta(path=str(p), lat_deg=lat, lon_deg=lon, rel_alt_m=60.0, time=at + timedelta(seconds=i))
        store.save_frame(fid, str(p), meta, gsd_m=0.02, footprint_wgs84=Polygon(square(i * 20.0, 0.0, 15.0)))
    store.save_frame(fid, str(paths[4]), None, error=f"{paths[4]}: not a JPEG (truncated)")
    nogps = folder / "sub" / "IMG_0001.JPG"
    store.save_frame(fid, str(nogps), FrameMeta(path=str(nogps)), error="no usable geotag (position missing)")
    findings = [_finding(f"{fid}-{k}", str(paths[k % 4]), e, n, c, z) for k, (e, n, c, z) in enumerate(findings_at)]
    store.save_findings(fid, findings)
    update_cases(store, fid, findings, radius_m=5.0, at=at)
    if verify_case is not None:
        ev = write_frame(root / "evidence" / f"case-{verify_case}.jpg", 99, (900, 300))
        apply_verdict(store, VerificationRecord(
            case_id=verify_case, flight_id=fid, at=at, verdict="fixed", score=0.7,
            before_frame="/elsewhere/old/DJI_0100.JPG", after_frame=str(paths[0]), evidence_path=str(ev),
            details={"reasons": [f"aligned with {paths[0]} (212 inliers)"]},
        ))
    store.finish_flight(fid)
    return folder


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "patrol.db"
    store = open_store(path)
    _flight(store, tmp_path / "in", "flightA", T0, [
        (3.0, 0.0, "exposed_garbage", HOSTILE_ZONE), (23.0, 5.0, "road_damage", "Main St"),
        (43.0, -5.0, None, "Main St"),
    ])
    first = store.list_cases()[0].case_id
    _flight(store, tmp_path / "in", "flightB", T0 + timedelta(days=3), [(23.5, 5.0, "road_damage", "Main St")], verify_case=first)
    store.close()
    return path


def test_flight_report_from_store(db, tmp_path) -> None:
    store = open_store(db, create=False)
    with store:
        data = load_flight_report(store, "flightB")
        (html,) = write_flight_report(store, "flightB", tmp_path / "rep")
    assert (data.frames_read, data.frames_failed, data.frames_unplaced) == (5, 1, 1)
    assert {(f.name, f.reason) for f in data.failed_inputs} == {
        (HOSTILE_FILE, f"{HOSTILE_FILE}: not a JPEG (truncated)"),
        ("sub/IMG_0001.JPG", "no usable geotag (position missing)"),
    }
    assert data.area_covered_m2 == pytest.approx(30 * 30 + 3 * 30 * 20, rel=0.02)  # overlapping footprints
    (card,) = data.findings
    assert card.outcome == "still_present" and card.frames_seen == ("DJI_0000.JPG",)
    (v,) = data.verifications
    assert v.verdict == "fixed" and v.before_frame == "DJI_0100.JPG" and v.after_frame == "DJI_0000.JPG"
    assert v.reason == "aligned with DJI_0000.JPG (212 inliers)"
    text = html.read_text(encoding="utf-8")
    assert str(tmp_path) not in text
    doc = parse(text)
    assert len([n for n in doc.find_all("article") if n.has_class("card")]) == 1
    assert len(doc.find_all("img")) == 2  # the card's crop and the verification evidence


def test_first_flight_outcomes(db) -> None:
    """flightB saw the road damage case again after flightA: flightA's report still links it."""
    with open_store(db, create=False) as store:
        data = load_flight_report(store, "flightA")
    assert sorted((f.category or "-", f.outcome or "-") for f in data.findings) == [
        ("-", "-"), ("exposed_garbage", "new"), ("road_damage", "new")]
    assert all(f.case_id for f in data.findings if f.category)
    assert data.case_outcomes()["new"] == 2


def test_case_board_from_store(db, tmp_path) -> None:
    with open_store(db, create=False) as store:
        (html,) = write_case_board(store, tmp_path / "board", now=T0 + timedelta(days=5))
    doc = parse(html.read_text(encoding="utf-8"))
    rows = {r.attrs["data-id"]: r for r in doc.by_id("case-table").find_all("tbody")[0].find_all("tr")}
    assert len(rows) == 2
    statuses = sorted(r.attrs["data-status"] for r in rows.values())
    assert statuses == ["fixed", "open"]
    active = [r for r in rows.values() if r.attrs["data-active"] == "1"]
    assert active[0].attrs["data-overdue"] == "1"  # open 5 days, overdue after 2


@pytest.mark.parametrize("fmt", ["geojson", "kml", "csv", "open311"])
def test_exports_from_store(db, fmt) -> None:
    with open_store(db, create=False) as store:
        all_cases = export_text(store, fmt)
        one_flight = export_text(store, fmt, flight_id="flightA")
    if fmt == "geojson":
        doc = json.loads(all_cases)
        assert rfc7946_problems(doc) == [] and len(doc["features"]) == 2
        doc = json.loads(one_flight)
        assert rfc7946_problems(doc) == []
        assert sorted(f["properties"]["kind"] for f in doc["features"]) == ["case"] * 2 + ["finding"] * 3
    elif fmt == "csv":
        assert len(list(csv.DictReader(io.StringIO(all_cases)))) == 2
        assert len(list(csv.DictReader(io.StringIO(one_flight)))) == 3
    elif fmt == "open311":
        reqs = json.loads(all_cases)
        assert sorted(r["status"] for r in reqs) == ["closed", "open"]
        assert {r["agency_responsible"] for r in reqs} == {"Sanitation East"}
    else:
        assert all_cases.startswith("<?xml") and "Placemark" in all_cases


@pytest.mark.parametrize(
    "path, source, expected",
    [("/data/f1/DJI_1.JPG", "/data/f1", "DJI_1.JPG"), ("/data/f1/sub/a.JPG", "/data/f1", "sub/a.JPG"),
     ("/other/a.JPG", "/data/f1", "a.JPG"), ("/v/clip.MP4#30", "/v", "clip.MP4#30"), ("rel/a.jpg", None, "a.jpg")],
)
def test_display_name(path, source, expected) -> None:
    assert display_name(path, source) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("/data/f1/a.jpg: bad", "a.jpg: bad"), ("cannot read /mnt/x/y/b.JPG (EOF)", "cannot read b.JPG (EOF)"),
     ("C:\\flights\\a.jpg: no GPS", "a.jpg: no GPS"), ("no path here", "no path here")],
)
def test_redact_paths(text, expected) -> None:
    assert redact_paths(text, ["/data/f1"]) == expected


# -- CLI --------------------------------------------------------------------------------------------
runner = CliRunner()


def test_cli_report_and_export(db, tmp_path) -> None:
    r = runner.invoke(app, ["report", "--flight", "flightA", "--out", str(tmp_path / "r"), "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r" / "index.html").is_file()
    r = runner.invoke(app, ["report", "--cases", "--out", str(tmp_path / "b"), "--db", str(db)])
    assert r.exit_code == 0 and (tmp_path / "b" / "index.html").is_file()
    r = runner.invoke(app, ["export", "--format", "geojson", "--db", str(db)])
    assert r.exit_code == 0 and json.loads(r.stdout)["type"] == "FeatureCollection"
    out = tmp_path / "x" / "cases.csv"
    r = runner.invoke(app, ["export", "--format", "csv", "--out", str(out), "--db", str(db), "--active"])
    assert r.exit_code == 0 and len(out.read_text().splitlines()) == 2


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["report", "--out", "OUT"], 2, "exactly one"),
        (["report", "--flight", "x", "--cases", "--out", "OUT"], 2, "exactly one"),
        (["report", "--flight", "nope", "--out", "OUT"], 1, "unknown flight"),
        (["export", "--format", "shapefile"], 2, ""),
        (["export", "--format", "csv", "--flight", "nope"], 1, "unknown flight"),
    ],
)
def test_cli_errors(db, tmp_path, args, code, message) -> None:
    args = [a.replace("OUT", str(tmp_path / "o")) for a in args] + ["--db", str(db)]
    r = runner.invoke(app, args)
    assert r.exit_code == code, r.output
    assert message in r.output
    assert "Traceback" not in r.output


def test_cli_missing_database_is_one_line(tmp_path) -> None:
    r = runner.invoke(app, ["export", "--format", "csv", "--db", str(tmp_path / "none.db")])
    assert r.exit_code == 1 and "no such database" in r.output


def test_case_board_leaves_old_closed_cases_off(db, tmp_path) -> None:
    from patrol.report.from_store import load_case_board

    with open_store(db, create=False) as store:
        soon = load_case_board(store, now=T0 + timedelta(days=5), closed_window_days=30)
        later = load_case_board(store, now=T0 + timedelta(days=60), closed_window_days=30)
        everything = load_case_board(store, now=T0 + timedelta(days=60))
    assert (len(soon.cases), soon.hidden_closed) == (2, 0)
    assert (len(later.cases), later.hidden_closed) == (1, 1) and later.cases[0].active
    assert len(everything.cases) == 2


def test_middle_flight_keeps_its_case_links_after_a_later_flight(db, tmp_path) -> None:
    """Case opened on flightA, seen on flightB, then on flightC: flightB's report still links it."""
    with open_store(db, create=False) as store:
        _flight(store, tmp_path / "in", "flightC", T0 + timedelta(days=6), [(23.2, 5.0, "road_damage", "Main St")])
        data = load_flight_report(store, "flightB")
        case = store.get_case(int(data.findings[0].case_id))
    assert (case.first_flight_id, case.last_flight_id) == ("flightA", "flightC")
    assert data.findings[0].outcome == "still_present"


@pytest.mark.parametrize(
    "text, expected, error",
    [("flightA", "flightA", None), ("fligh", None, "ambiguous"), ("flightB"[:6] + "X", None, "unknown"),
     ("patrol flightB", "flightB", None), ("fl", None, "unknown")],
)
def test_resolve_flight_id(db, text, expected, error) -> None:
    from patrol.errors import PatrolError
    from patrol.report.from_store import resolve_flight_id

    with open_store(db, create=False) as store:
        if error:
            with pytest.raises(PatrolError, match=error):
                resolve_flight_id(store, text)
        else:
            assert resolve_flight_id(store, text) == expected
