"""`patrol dispatch`: sheets per unit with the right cases and columns, crops, offline map, and the
dispatched marks written once."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from typer.testing import CliRunner

from patrol.cli import app
from patrol.office.dispatch import write_dispatch
from patrol.office.review import parse_review, review_case
from patrol.store import open_store
from tests.office.world import T0, UNITS, make_world
from tests.report.htmltree import parse

runner = CliRunner()
NOW = T0 + timedelta(days=15)


def test_sheets_per_unit_and_idempotent_marks(tmp_path) -> None:
    w = make_world(tmp_path)
    with open_store(w.db) as s:
        review_case(s, 3, parse_review("false_positive"))  # closed: not on any sheet
        active = {c.case_id: c for c in s.list_cases() if c.is_active}
        res = write_dispatch(s, tmp_path / "out", now=NOW)
        assert sorted(res.dispatched) == sorted(active) and res.cases == len(active)
        for cid in active:
            events = [e for e in s.events(cid) if e.to_status == "dispatched"]
            assert len(events) == 1 and events[0].at == NOW and events[0].source == "reviewer"
        dump = s.dump()
        again = write_dispatch(s, tmp_path / "out2", now=NOW + timedelta(hours=1))
        assert again.dispatched == () and again.cases == len(active)
        assert s.dump() == dump  # a rerun writes no event

    names = sorted(p.name for p in res.sheets)
    assert names == ["dispatch-roads-east.csv", "dispatch-roads-east.html",
                     "dispatch-sanitation-west.csv", "dispatch-sanitation-west.html"]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "dispatch-roads-east.csv").read_text())))
    want = sorted(cid for cid, c in active.items() if c.unit == UNITS[0])
    assert sorted(int(r["case_id"]) for r in rows) == want
    r0 = rows[0]
    assert r0["geo_uri"].startswith("geo:") and r0["first_seen"] and r0["before_photo"].startswith("thumbs/")
    assert float(rows[0]["overdue_days"]) >= float(rows[-1]["overdue_days"])  # most overdue first
    old = next(r for r in rows if r["case_id"] == "4")  # opened at T0, 15 days ago, deadline 2 days
    assert abs(float(old["overdue_days"]) - 13.0) < 0.01

    tree = parse((tmp_path / "out" / "dispatch-roads-east.html").read_text())
    trs = tree.find_all("tr", data_case="4")
    assert len(trs) == 1
    tr = trs[0]
    assert [a.attrs["href"] for a in tr.find_all("a")][0].startswith("geo:")
    assert tr.find_all("svg") and tr.find_all("circle")  # the inline spot map
    imgs = [i.attrs["src"] for i in tr.find_all("img")]
    assert imgs and all((tmp_path / "out" / src).is_file() for src in imgs)
    assert tr.has_class("overdue")
    assert not any(a.attrs.get("href", "").startswith("http") for a in tree.find_all("a"))


def test_cli_dispatch_one_unit_and_bad_unit(tmp_path) -> None:
    w = make_world(tmp_path)
    r = runner.invoke(app, ["dispatch", "--db", str(w.db), "--out", str(tmp_path / "d"), "--unit", UNITS[1]])
    assert r.exit_code == 0, r.output
    assert "dispatch-sanitation-west.html" in r.stdout and not (tmp_path / "d" / "dispatch-roads-east.csv").exists()
    with open_store(w.db) as s:
        st = {c.case_id: (c.unit, str(c.status)) for c in s.list_cases()}
    assert all(status == "dispatched" for unit, status in st.values() if unit == UNITS[1] and status != "fixed")
    assert all(status != "dispatched" for unit, status in st.values() if unit == UNITS[0])
    r = runner.invoke(app, ["dispatch", "--db", str(w.db), "--out", str(tmp_path / "d"), "--unit", "Nobody"])
    assert r.exit_code == 2 and "--unit 'Nobody'" in r.stderr
