"""`patrol verify CASE_ID` and `patrol compare BEFORE AFTER --point LAT,LON`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from patrol.cli import app
from patrol.config import Settings
from patrol.pipeline import process_flight
from patrol.store import open_store
from tests.conftest import shared_path
from tests.pipeline_world import BoxDetector
from tests.verify.flights import pixel_flights  # noqa: F401 - pytest fixture

runner = CliRunner()
# the centre of parked car lot-03 and of road car road-07 in DJI_0019 (its camera, flat ground)
LOT_03 = "53.9185536,27.5759679"
ROAD_07 = "53.9186599,27.5770968"
LOT_20 = "53.9185002,27.5756541"  # outside DJI_0031's frame


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def db(pixel_flights, tmp_path):
    before, after, zones = pixel_flights
    path = tmp_path / "p.db"
    det = BoxDetector([before, after])
    with open_store(path) as store:
        process_flight([before.folder], Settings(), store, det, None, zones=zones)
        s = process_flight([after.folder], Settings(), store, det, None, zones=zones)
        # the removed garbage (queued); the re-observed cases were checked too (still present)
        (rec,) = [r for r in store.verifications(flight_id=s.flight_id) if r.verdict == "fixed"]
    return str(path), rec.case_id, s.flight_id


def test_verify_case_dry_run_json(db, tmp_path) -> None:
    path, case_id, flight = db
    r = run("verify", str(case_id), "--db", path, "--flight", flight, "--no-detector", "--dry-run", "--json", "--out", str(tmp_path / "ev"))
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["verdict"] == "fixed" and d["case_id"] == case_id
    assert d["evidence_path"].endswith(".jpg")


def test_verify_case_table_output(db) -> None:
    path, case_id, _ = db
    r = run("verify", str(case_id), "--db", path, "--no-detector", "--dry-run")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("verdict: fixed")
    assert "aligned by" in r.output


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["verify", "999"], 1, "no case 999"),
        (["verify", "1", "--flight", "nope"], 1, "no flight nope"),
    ],
)
def test_verify_errors_are_one_line(db, args, code, text) -> None:
    path, _, _ = db
    r = run(*args, "--db", path, "--no-detector")
    assert r.exit_code == code
    assert text in r.output and "Traceback" not in r.output


@pytest.mark.parametrize(
    "point, verdict, reason, code",
    [
        (LOT_03, "still_present", None, 0),  # unchanged spot: still there, with or without a detector
        # the car left, but without a detector re-run nothing confirms the spot is clear
        (ROAD_07, "inconclusive", "no_detector", 1),
        (LOT_20, "inconclusive", "out_of_frame", 1),
    ],
)
def test_compare_real_photos_without_a_detector(point, verdict, reason, code, tmp_path) -> None:
    before = shared_path("aerial-cars", "DJI_0019.JPG")
    after = shared_path("aerial-cars", "DJI_0031.JPG")
    r = run("compare", str(before), str(after), "--point", point, "--no-detector", "--json", "--out", str(tmp_path))
    assert r.exit_code == code, r.output
    d = json.loads(r.output[r.output.index("{"):])
    assert d["verdict"] == verdict
    assert d["inconclusive_reason"] == reason
    assert (tmp_path / "compare.jpg").is_file()


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["--point", "north"], 2, "--point must be LAT,LON"),
        (["--point", "95,10"], 2, "out of range"),
    ],
)
def test_compare_bad_point_is_a_usage_error(tmp_path, args, code, text) -> None:
    r = run("compare", str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg"), *args)
    assert r.exit_code == code
    assert text in r.output


def test_compare_missing_photo_names_the_file(tmp_path) -> None:
    r = run("compare", str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg"), "--point", "53.9,27.5", "--no-detector")
    assert r.exit_code == 1
    assert "a.jpg" in r.output and "Traceback" not in r.output
