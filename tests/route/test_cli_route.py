"""`patrol route`: files written for the waiting cases, bad input, several routes for spread cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrol.cases.service import set_status, update_cases
from patrol.cli import app
from patrol.route.wpml import read_kmz
from patrol.store import open_store
from patrol.store.revisits import list_routes
from tests.cases.helpers import T0, finding, latlon

runner = CliRunner()


def _db(tmp_path: Path, spots: list[tuple[float, float]], dispatch: bool = True) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = tmp_path / "p.db"
    with open_store(db) as s:
        s.begin_flight("F1", name="f1", source="/f1", n_files=1, started_at=T0)
        fs = [finding(f"f{i}", "exposed_garbage", e, n) for i, (e, n) in enumerate(spots)]
        s.save_findings("F1", fs)
        update_cases(s, "F1", fs, at=T0)
        if dispatch:
            for c in s.list_cases():
                set_status(s, c.case_id, "dispatched", at=T0)
    return db


GRID = [(x * 120.0, y * 90.0) for x in range(5) for y in range(4)] + [(3.0, 2.0), (-4.0, 5.0)]  # 22 cases, 20 spots


def test_route_kmz_covers_every_waiting_case_and_beats_the_naive_order(tmp_path: Path) -> None:
    db = _db(tmp_path, GRID)
    out = tmp_path / "revisit.kmz"
    r = runner.invoke(app, ["route", "--db", str(db), "--out", str(out), "--drone", "m30t", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    assert info["cases"] == list(range(1, 23)) and len(info["routes"]) == 1
    assert info["length_m"] < info["naive_length_m"]
    back = read_kmz(out)
    assert (back.drone_enum, back.drone_sub_enum, back.payload_enum) == (67, 1, 53)
    assert len(back.points) == 20  # the three spots within a few metres share one photo
    assert all(p.actions == ("gimbalRotate", "takePhoto") for p in back.points)
    with open_store(db) as s:
        (rec,) = list_routes(s)
    assert rec.name == "revisit" and rec.case_ids == tuple(range(1, 23)) and rec.drone == "m30t"
    r = runner.invoke(app, ["route", "--db", str(db), "--out", str(out)])
    assert "tour" in r.output and "% shorter" in r.output


@pytest.mark.parametrize("fmt, suffix", [("kml", ".kml"), ("geojson", ".geojson")])
def test_route_plain_formats(tmp_path: Path, fmt: str, suffix: str) -> None:
    db = _db(tmp_path, GRID[:4])
    r = runner.invoke(app, ["route", "--db", str(db), "--out", str(tmp_path / "r"), "--format", fmt])
    assert r.exit_code == 0, r.output
    assert (tmp_path / f"r{suffix}").is_file()
    if fmt == "geojson":
        gj = json.loads((tmp_path / "r.geojson").read_text())
        assert sorted(c for f in gj["features"] for c in f["properties"].get("case_ids", [])) == [1, 2, 3, 4]


def test_no_case_waiting_writes_no_file(tmp_path: Path) -> None:
    db = _db(tmp_path, GRID[:3], dispatch=False)  # open drone cases wait for a reviewer, not for a flight
    out = tmp_path / "revisit.kmz"
    r = runner.invoke(app, ["route", "--db", str(db), "--out", str(out)])
    assert r.exit_code == 1 and "no cases wait for a check" in r.output and not out.exists()
    r = runner.invoke(app, ["route", "--db", str(_db(tmp_path / "b", GRID[:3])), "--out", str(out), "--unit", "Nobody"])
    assert r.exit_code == 1 and "unit Nobody" in r.output and not out.exists()


def test_cases_spread_beyond_one_battery_give_several_routes(tmp_path: Path) -> None:
    db = _db(tmp_path, [(0, 0), (50, 0), (3000, 0), (3050, 40)])
    r = runner.invoke(app, ["route", "--db", str(db), "--out", str(tmp_path / "rv.kmz"), "--max-length-m", "2000", "--json"])
    assert r.exit_code == 0, r.output
    routes = json.loads(r.output)["routes"]
    assert len(routes) == 2 and all(x["length_m"] <= 2000 for x in routes)
    assert sorted(c for x in routes for c in x["cases"]) == [1, 2, 3, 4]
    assert sorted(Path(x["file"]).name for x in routes) == ["rv-1.kmz", "rv-2.kmz"]
    for x in routes:
        read_kmz(x["file"])


def test_a_spot_out_of_reach_from_the_takeoff(tmp_path: Path) -> None:
    db = _db(tmp_path, [(0, 0), (6000, 0)])
    lat, lon = latlon(0, 0)
    r = runner.invoke(app, ["route", "--db", str(db), "--out", str(tmp_path / "rv.kmz"), "--max-length-m", "5000",
                            "--takeoff", f"{lat},{lon}"])
    assert r.exit_code == 1 and "out of reach" in r.output and not (tmp_path / "rv.kmz").exists()


@pytest.mark.parametrize("args, message", [
    (["--drone", "phantom"], "--drone: unknown drone 'phantom'"),
    (["--format", "pdf"], "--format: expected kmz, kml or geojson"),
    (["--takeoff", "north"], "--takeoff: expected LAT,LON"),
    (["--category", "graffiti"], "--category: expected one of"),
    (["--height-m", "2"], "--height-m: must be within 10..500"),
])
def test_bad_options_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    db = _db(tmp_path, GRID[:2])
    r = runner.invoke(app, ["route", "--db", str(db), "--out", str(tmp_path / "x.kmz"), *args])
    assert r.exit_code == 2 and message in r.output, r.output
