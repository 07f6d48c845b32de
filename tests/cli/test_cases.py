"""`patrol cases list|show|set-status` against a small database."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from patrol.cases.model import now_utc
from patrol.cases.service import update_cases
from patrol.cli import app
from patrol.store import open_store
from tests.cases.helpers import finding

runner = CliRunner()


@pytest.fixture
def db(tmp_path) -> str:
    path = tmp_path / "cases.db"
    fs = [
        finding("a", "road_damage", 0, 0, unit="Roads"),
        finding("b", "street_vending", 40, 0, unit="Markets"),
        finding("c", "street_vending", 80, 0, unit="Markets"),
    ]
    with open_store(path) as s:
        s.begin_flight("F1", name="f", source="/x", n_files=1)
        s.save_findings("F1", fs)
        update_cases(s, "F1", fs, radius_m=5, at=now_utc() - timedelta(days=5))
    return str(path)


def run(*args: str):
    return runner.invoke(app, list(args))


def test_list_table_and_json(db) -> None:
    r = run("cases", "list", "--db", db)
    assert r.exit_code == 0, r.output
    assert "3 case(s)" in r.output and "OVERDUE" in r.output and "Markets" in r.output
    r = run("cases", "list", "--db", db, "--json", "--category", "street_vending")
    rows = json.loads(r.stdout)
    assert [c["case_id"] for c in rows] == [2, 3] and all(c["overdue"] for c in rows)


def test_set_status_flow_and_show(db) -> None:
    r = run("cases", "set-status", "2", "false-positive", "--note", "a parked van", "--db", db)
    assert r.exit_code == 0 and "open -> closed_false_positive" in r.stdout
    r = run("cases", "set-status", "3", "duplicate", "--of", "1", "--db", db, "--json")
    out = json.loads(r.stdout)
    assert out["case"]["status"] == "duplicate" and out["case"]["duplicate_of"] == 1
    r = run("cases", "set-status", "1", "dispatched", "--db", db)
    assert r.exit_code == 0
    r = run("cases", "list", "--db", db, "--json", "--active")
    assert [c["case_id"] for c in json.loads(r.stdout)] == [1]
    r = run("cases", "show", "2", "--db", db, "--json")
    shown = json.loads(r.stdout)
    assert [e["kind"] for e in shown["events"]] == ["opened", "transition"]
    assert shown["events"][1]["note"] == "a parked van" and shown["events"][1]["source"] == "reviewer"
    assert shown["findings"] == [{"flight_id": "F1", "finding_id": "b", "frames": ["DJI_0001.JPG"]}]
    r = run("cases", "show", "2", "--db", db)
    assert "closed_false_positive" in r.stdout and "a parked van" in r.stdout


@pytest.mark.parametrize(
    "args, code, message",
    [
        (("set-status", "1", "bogus"), 2, "unknown status 'bogus'"),
        (("set-status", "1", "duplicate"), 2, "needs --of"),
        (("set-status", "1", "closed", "--of", "2"), 2, "--of is only"),
        (("set-status", "1", "reopened"), 1, "cannot go from open to reopened"),
        (("set-status", "9", "closed"), 1, "no case 9"),
        (("set-status", "1", "duplicate", "--of", "7"), 1, "no such case"),
        (("show", "42"), 1, "no case 42"),
        (("list", "--status", "nope"), 2, "--status"),
    ],
)
def test_errors_are_one_line(db, args, code, message) -> None:
    r = run("cases", *args, "--db", db)
    assert r.exit_code == code
    assert message in r.stderr and "Traceback" not in r.output
    assert len(r.stderr.strip().splitlines()) == 1


def test_missing_database_is_not_created(tmp_path) -> None:
    r = run("cases", "list", "--db", str(tmp_path / "none.db"))
    assert r.exit_code == 1 and "no such database" in r.stderr
    assert not (tmp_path / "none.db").exists()
