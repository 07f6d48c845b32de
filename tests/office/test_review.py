"""Reviews: parsing, what each verdict does to a case, idempotence, the CLI, and how reports show them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from patrol.cli import app
from patrol.errors import CaseError, ConfigError, InvalidTransition
from patrol.office.review import ReviewRequest, ReviewVerdict, parse_review, review_case
from patrol.report.from_store import load_case_board, load_flight_report
from patrol.report.html import render_case_board, render_flight_report
from patrol.store import open_store
from patrol.store.reviews import latest_reviews, reviews
from tests.office.world import make_world
from tests.report.htmltree import parse

runner = CliRunner()


@pytest.mark.parametrize(
    "text, expected, error",
    [
        ("confirmed", ReviewRequest(ReviewVerdict.CONFIRMED), None),
        ("false_positive", ReviewRequest(ReviewVerdict.FALSE_POSITIVE), None),
        ("FP", ReviewRequest(ReviewVerdict.FALSE_POSITIVE), None),
        ("duplicate:12", ReviewRequest(ReviewVerdict.DUPLICATE, duplicate_of=12), None),
        ("category:road_damage", ReviewRequest(ReviewVerdict.CATEGORY, category="road_damage"), None),
        ("category:road-damage", ReviewRequest(ReviewVerdict.CATEGORY, category="road_damage"), None),
        ("duplicate", None, "case number"),
        ("duplicate:x", None, "case number"),
        ("duplicate:0", None, "case number"),
        ("category:potholes", None, "category must be one of"),
        ("category:", None, "category is set"),
        ("confirmed:3", None, "takes no"),
        ("maybe", None, "unknown review"),
    ],
)
def test_parse_review(text, expected, error) -> None:
    if error is None:
        assert parse_review(text) == expected
    else:
        with pytest.raises(ConfigError, match=error):
            parse_review(text)


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path)


def test_each_verdict_moves_the_case_and_is_recorded(world) -> None:
    with open_store(world.db) as s:
        r, changed = review_case(s, 2, parse_review("false_positive"), note="a bin", reviewer="ana")
        assert changed and s.get_case(2).status == "closed_false_positive"
        ev = s.events(2)[-1]
        assert ev.event_id == r.event_id and ev.source == "reviewer" and "false_positive" in ev.note and "a bin" in ev.note
        assert r.previous_category == "exposed_garbage" and r.reviewer == "ana"

        review_case(s, 3, parse_review("duplicate:4"))
        assert s.get_case(3).status == "duplicate" and s.get_case(3).duplicate_of == 4

        before = s.get_case(5).status
        review_case(s, 5, parse_review("category:exposed_garbage"))
        c5 = s.get_case(5)
        assert (c5.category, c5.class_name, c5.status) == ("exposed_garbage", "garbage", before)

        review_case(s, 4, parse_review("confirmed"))
        assert s.get_case(4).status == before  # confirming changes no status
        review_case(s, 2, parse_review("confirmed"), note="it was garbage after all")
        assert s.get_case(2).status == "reopened"  # a confirmed false positive comes back

        latest = latest_reviews(s)
        assert {k: v.request.label for k, v in latest.items()} == {
            2: "confirmed", 3: "duplicate:4", 4: "confirmed", 5: "category:exposed_garbage"}
        assert [x.request.label for x in reviews(s, 2)] == ["false_positive", "confirmed"]


def test_same_review_twice_changes_nothing(world) -> None:
    with open_store(world.db) as s:
        review_case(s, 2, parse_review("false_positive"))
        n_events = len(s.events(2))
        dump = s.dump()
        r, changed = review_case(s, 2, parse_review("fp"))
        assert not changed and r.request.verdict == "false_positive"
        assert s.dump() == dump and len(s.events(2)) == n_events


@pytest.mark.parametrize(
    "case_id, text, error",
    [
        (99, "confirmed", CaseError),
        (2, "duplicate:99", CaseError),
        (2, "duplicate:2", InvalidTransition),
        (2, "category:exposed_garbage", CaseError),  # it already is
    ],
)
def test_refused_reviews_write_nothing(world, case_id, text, error) -> None:
    with open_store(world.db) as s:
        dump = s.dump()
        with pytest.raises(error):
            review_case(s, case_id, parse_review(text))
        assert s.dump() == dump


def test_cli_review(world) -> None:
    db = str(world.db)
    r = runner.invoke(app, ["cases", "review", "2", "--as", "false_positive", "--note", "shadow", "--db", db])
    assert r.exit_code == 0, r.output
    assert "false positive" in r.stdout and "closed_false_positive" in r.stdout
    r = runner.invoke(app, ["cases", "review", "2", "--as", "false_positive", "--db", db, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["recorded"] is False
    r = runner.invoke(app, ["cases", "review", "3", "--as", "potato", "--db", db])
    assert r.exit_code == 2 and "--as 'potato'" in r.stderr
    r = runner.invoke(app, ["cases", "review", "77", "--as", "confirmed", "--db", db])
    assert r.exit_code == 1 and "no case 77" in r.stderr
    r = runner.invoke(app, ["cases", "show", "2", "--db", db, "--json"])
    assert json.loads(r.stdout)["events"][-1]["note"] == "review: false_positive — shadow"


def test_reviewed_cases_look_different_on_board_and_flight_report(world) -> None:
    with open_store(world.db) as s:
        review_case(s, 2, parse_review("false_positive"))
        review_case(s, 4, parse_review("confirmed"))
        board = load_case_board(s, closed_window_days=None)
        report = load_flight_report(s, "flightA")
    tree = parse(render_case_board(board))
    row2, row4, row5 = (tree.by_id(f"case-{i}") for i in (2, 4, 5))
    assert row2.has_class("reviewed-false_positive") and row2.attrs["data-review"] == "false_positive"
    assert row4.has_class("reviewed-confirmed") and not row5.has_class("reviewed")
    assert [n.text for n in row2.iter() if n.has_class("review-mark")] == ["reviewed: false positive"]

    tree = parse(render_flight_report(report))
    cards = {c.attrs["data-finding"]: c for c in tree.find_all("article") if c.has_class("card")}
    by_case = {f.case_id: f.finding_id for f in report.findings}
    assert cards[by_case["2"]].has_class("reviewed-false_positive")
    assert cards[by_case["4"]].has_class("reviewed-confirmed")
    assert not cards[by_case["5"]].has_class("reviewed")
