"""`patrol stats`: every number on the page from a store whose history is known exactly, the page's
charts, and the CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from patrol.cases.service import set_status
from patrol.cli import app
from patrol.office.review import parse_review, review_case
from patrol.office.stats import FixShare, FpRate, city_stats, week_start
from patrol.office.stats_page import render_stats_page
from patrol.store import open_store
from patrol.store.reviews import all_events, latest_reviews
from tests.office.world import T0, UNITS, make_world
from tests.report.htmltree import parse

runner = CliRunner()
NOW = T0 + timedelta(days=15)
ROADS, SANITATION = UNITS


def reviewed_world(tmp_path):
    """make_world plus: case 5 fixed by a person on day 10; reviews: 2 and 6 false positives, 4 and 8
    confirmed."""
    w = make_world(tmp_path)
    with open_store(w.db) as s:
        set_status(s, 5, "fixed", at=T0 + timedelta(days=10))
        review_case(s, 2, parse_review("false_positive"), at=T0 + timedelta(days=8))
        review_case(s, 6, parse_review("false_positive"), at=T0 + timedelta(days=9))
        review_case(s, 4, parse_review("confirmed"), at=T0 + timedelta(days=9))
        review_case(s, 8, parse_review("confirmed"), at=T0 + timedelta(days=14, hours=2))
    return w


def _stats(w, since=None):
    with open_store(w.db) as s:
        return city_stats(s.list_cases(), all_events(s), latest_reviews(s), now=NOW, overdue_days=2.0, since=since)


def test_week_start_is_monday_utc() -> None:
    assert week_start(T0 + timedelta(days=6, hours=14)) == T0.replace(hour=0)
    assert week_start(T0 + timedelta(days=7)) == (T0 + timedelta(days=7)).replace(hour=0)


def test_numbers(tmp_path) -> None:
    st = _stats(reviewed_world(tmp_path))
    assert st.n_cases == 8 and len(st.opened.weeks) == 3
    assert dict(st.opened.counts) == {
        "exposed_garbage": (2, 0, 1), "illegal_parking": (1, 0, 0), "road_damage": (2, 1, 0), "street_vending": (1, 0, 0)}
    assert dict(st.closed.counts) == {"exposed_garbage": (0, 2, 0), "road_damage": (0, 2, 0)}
    assert dict(st.median_fix_days) == {ROADS: (8.5, 2)}  # case 1 in 7 days (a flight), case 5 in 10 (a person)
    # counted at each week end (Monday 00:00): case 1 was still open then, fixed at 09:00
    assert dict(st.overdue.counts) == {ROADS: (3, 2, 2), SANITATION: (3, 1, 1)}
    assert dict(st.fix_share) == {
        "exposed_garbage": FixShare(0, 0, 1, 2), "illegal_parking": FixShare(0, 0, 1, 0),
        "road_damage": FixShare(1, 1, 1, 0), "street_vending": FixShare(0, 0, 1, 0)}
    assert dict(st.fp_rate) == {"exposed_garbage": FpRate(3, 2), "illegal_parking": FpRate(1, 0)}
    assert st.fp_rate["exposed_garbage"].rate == pytest.approx(2 / 3)


def test_since_keeps_later_cases_only(tmp_path) -> None:
    st = _stats(reviewed_world(tmp_path), since=T0 + timedelta(days=7))
    assert st.n_cases == 2 and len(st.opened.weeks) == 2
    assert dict(st.opened.counts) == {"exposed_garbage": (0, 1), "road_damage": (1, 0)}
    assert dict(st.fp_rate) == {"exposed_garbage": FpRate(1, 0)}


def test_page_has_one_inline_svg_chart_each(tmp_path) -> None:
    html = render_stats_page(_stats(reviewed_world(tmp_path)), 2.0)
    tree = parse(html)
    figs = [f for f in tree.find_all("figure") if f.has_class("chart")]
    assert [f.attrs["data-chart"] for f in figs] == ["opened-closed", "fix-time", "overdue", "fix-share", "fp-rate"]
    assert all(len(f.find_all("svg")) == 1 and len(f.find_all("path")) > 10 for f in figs)
    assert not tree.find_all("image") and "http://" not in html.replace("http://www.w3.org", "")


def test_cli_stats(tmp_path) -> None:
    w = reviewed_world(tmp_path)
    out = tmp_path / "s" / "stats.html"
    r = runner.invoke(app, ["stats", "--db", str(w.db), "--out", str(out), "--since", "2026-11-09"])
    assert r.exit_code == 0, r.output
    assert out.is_file() and "opened since 2026-11-09" in out.read_text()
    r = runner.invoke(app, ["stats", "--db", str(w.db), "--out", str(out), "--since", "last week"])
    assert r.exit_code == 2 and "--since 'last week'" in r.stderr
    r = runner.invoke(app, ["stats", "--db", str(tmp_path / "none.db"), "--out", str(out)])
    assert r.exit_code == 1 and "no such database" in r.stderr
