"""The flight report and the case board, parsed: structure, escaping, relative thumbnails, CSP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from patrol.report.html import render_case_board, render_flight_report, script_json, write_case_board_html, write_flight_report_html
from tests.report.factories import HOSTILE_FILE, HOSTILE_ZONE, board, flight_data
from tests.report.htmltree import parse


@pytest.fixture(scope="module")
def flight_out(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flight")
    data = flight_data(tmp / "in")
    path = write_flight_report_html(data, tmp / "out")
    return data, path, parse(path.read_text(encoding="utf-8"))


def _scripts(doc):
    return doc.find_all("script")


def _page_script(doc):
    (s,) = [s for s in _scripts(doc) if "type" not in s.attrs]
    return s


def _data_script(doc):
    (s,) = [s for s in _scripts(doc) if s.attrs.get("type") == "application/json"]
    return s


def _tile(tiles, key) -> str:
    return tiles[key].with_class("n")[0].text


def test_sections_are_present(flight_out) -> None:
    _, _, doc = flight_out
    for sid in ("summary", "map", "findings", "verifications", "failed"):
        assert doc.by_id(sid) is not None, sid
    assert doc.find_all("h1")[0].text.startswith("Flight report")


def test_summary_tiles_show_counts(flight_out) -> None:
    data, _, doc = flight_out
    tiles = {t.attrs["data-key"]: t for t in doc.with_class("tile")}
    assert _tile(tiles, "frames_read") == str(data.frames_read)
    assert _tile(tiles, "frames_failed") == str(data.frames_failed)
    assert _tile(tiles, "violations") == str(len(data.violations))
    assert _tile(tiles, "counted") == str(len(data.counted))
    assert data.violations and data.counted  # the fixture has both
    outcomes = data.case_outcomes()
    for key in ("new", "still_present", "fixed", "inconclusive"):
        assert _tile(tiles, f"cases_{key}") == str(outcomes[key])
    rows = doc.by_id("by-category").find_all("tr")[1:]
    assert {r.attrs["data-label"]: int(r.find_all("td")[1].text) for r in rows} == data.findings_by_category()


def test_one_card_per_violation_one_row_per_counted_object_one_marker_each(flight_out) -> None:
    data, _, doc = flight_out
    cards = [n for n in doc.find_all("article") if n.has_class("card")]
    assert sorted(c.attrs["data-finding"] for c in cards) == sorted(f.finding_id for f in data.violations)
    order = {"new": 0, "still_present": 1}
    by_id = {f.finding_id: f for f in data.findings}
    outcomes = [order.get(by_id[c.attrs["data-finding"]].outcome, 2) for c in cards]
    assert outcomes == sorted(outcomes)  # new problems first
    counted = doc.by_id("counted").find_all("tbody")[0].find_all("tr")
    assert sorted(r.attrs["data-finding"] for r in counted) == sorted(f.finding_id for f in data.counted)
    svg = doc.by_id("flight-map")
    markers = [n for n in svg.iter() if n.has_class("marker")]
    assert sorted(m.attrs["data-finding"] for m in markers) == sorted(f.finding_id for f in data.findings)
    for m in markers:  # each marker links to its card, and has a hover title
        assert doc.by_id(m.attrs["href"][1:]) is not None
        assert m.find_all("title")[0].text
    assert len([n for n in svg.iter() if n.has_class("footprint")]) == len(data.frames)
    assert len([n for n in svg.iter() if n.has_class("flight-path")]) == 1
    assert len([n for n in svg.iter() if n.has_class("camera")]) == len(data.frames)
    assert len([n for n in svg.iter() if n.has_class("check")]) == len(data.verifications)
    zone_titles = [n.find_all("title")[0].text for n in svg.iter() if n.has_class("zone")]
    assert any(HOSTILE_ZONE in t for t in zone_titles)


def test_hostile_names_are_text_not_markup(flight_out) -> None:
    _, path, doc = flight_out
    # No element came out of the names: the only img tags are our thumbnails, the only scripts ours.
    assert all("onerror" not in img.attrs for img in doc.find_all("img"))
    scripts = _scripts(doc)
    assert sorted(str(s.attrs.get("type")) for s in scripts) == ["None", "application/json"]
    # The names are shown verbatim as text.
    failed_cells = [r.find_all("td")[0].text for r in doc.by_id("failed").find_all("tr")[1:]]
    assert HOSTILE_FILE in failed_cells
    zone_cells = [dd.text for dd in doc.find_all("dd")]
    assert HOSTILE_ZONE in zone_cells
    assert "not a JPEG: <b>truncated</b>" in [r.find_all("td")[1].text for r in doc.by_id("failed").find_all("tr")[1:]]
    # The embedded JSON survives the round trip and cannot close its element.
    raw = _data_script(doc).text
    assert "</" not in raw and "<" not in raw
    data = json.loads(raw)
    assert HOSTILE_ZONE in [f["zone"] for f in data["findings"]]


def test_csp_allows_only_the_page_script_and_no_network(flight_out) -> None:
    _, _, doc = flight_out
    csp = [m for m in doc.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"][0].attrs["content"]
    script = _page_script(doc).text
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


def test_thumbnails_are_relative_and_exist(flight_out) -> None:
    data, path, doc = flight_out
    srcs = [img.attrs["src"] for img in doc.find_all("img")]
    assert len(srcs) == len(data.violations) + len(data.verifications)
    for src in srcs:
        assert not src.startswith(("/", "file:", "http")) and ".." not in src
        f = path.parent / src
        # Noise is the worst case for JPEG: real crops are smaller still.
        assert f.is_file() and f.stat().st_size < (260_000 if "/vev-" in src else 60_000)
        assert f.read_bytes()[:2] == b"\xff\xd8"  # JPEG


def test_no_absolute_path_of_this_machine(flight_out, tmp_path_factory) -> None:
    _, path, _ = flight_out
    html = path.read_text(encoding="utf-8")
    base = str(path.parent.parent)
    assert base not in html
    assert str(Path(base).parent) not in html


def test_missing_source_images_show_placeholders(tmp_path) -> None:
    data = flight_data(None)  # no frames on disk, no evidence refs
    doc = parse(render_flight_report(data))
    assert doc.find_all("img") == []
    assert len(doc.with_class("noimg")) == len(data.violations)


def test_empty_flight_renders(tmp_path) -> None:
    data = flight_data(None, n_frames=0, n_findings=0, hostile=False, n_verifications=0)
    doc = parse(render_flight_report(data))
    assert doc.by_id("flight-map") is not None
    assert doc.with_class("card") == []


@pytest.mark.parametrize(
    "value",
    ["</script><script>alert(1)</script>", "<!--", "a & b > c", "\u2028line", {"k": "</SCRIPT>"}],
)
def test_script_json_round_trips_without_markup(value) -> None:
    text = script_json(value)
    assert not re.search(r"[<>&\u2028\u2029]", text)
    assert json.loads(text) == value


# -- case board -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def board_out(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("board")
    b = board(30, tmp / "in")
    path = write_case_board_html(b, tmp / "out")
    return b, path, parse(path.read_text(encoding="utf-8"))


def test_board_rows_and_data_attributes(board_out) -> None:
    b, _, doc = board_out
    rows = doc.by_id("case-table").find_all("tbody")[0].find_all("tr")
    assert sorted(int(r.attrs["data-id"]) for r in rows) == sorted(int(c.case_id) for c in b.cases)
    by_id = {c.case_id: c for c in b.cases}
    for r in rows:
        c = by_id[r.attrs["data-id"]]
        assert r.attrs["data-overdue"] == ("1" if c.overdue else "0")
        assert r.attrs["data-active"] == ("1" if c.active else "0")
        assert float(r.attrs["data-age"]) == pytest.approx(c.age_days, abs=0.01)
    # Active, overdue, oldest first; ties in numeric id order (2 before 10).
    first = by_id[rows[0].attrs["data-id"]]
    assert first.active and first.overdue
    keys = [(not by_id[r.attrs["data-id"]].active, not by_id[r.attrs["data-id"]].overdue,
             -by_id[r.attrs["data-id"]].age_days, int(r.attrs["data-id"])) for r in rows]
    assert keys == sorted(keys)


def test_board_matrix_counts_open_cases(board_out) -> None:
    b, _, doc = board_out
    units, cats, counts = b.open_by_unit_and_category()
    table = doc.by_id("by-unit")
    body = table.find_all("tbody")[0].find_all("tr")
    assert [r.attrs["data-unit"] for r in body] == units
    total = sum(int(r.find_all("td")[-1].text) for r in body)
    assert total == sum(c.active for c in b.cases) == sum(counts.values())


def test_board_filters_offer_every_value(board_out) -> None:
    b, _, doc = board_out
    units = [o.attrs["value"] for o in doc.by_id("f-unit").find_all("option")][1:]
    assert set(units) == {c.unit or "(no unit)" for c in b.cases}
    zones = [td.text for td in doc.find_all("td")]
    assert any(HOSTILE_ZONE in z for z in zones)
    assert [s.attrs.get("type") for s in _scripts(doc)] == [None]


def test_board_thumbnails_only_for_active_cases_and_reused(board_out) -> None:
    b, path, doc = board_out
    imgs = doc.find_all("img")
    assert len(imgs) == sum(c.active for c in b.cases)
    stamp = {p.name: p.stat().st_mtime_ns for p in (path.parent / "thumbs").iterdir()}
    write_case_board_html(b, path.parent)
    assert {p.name: p.stat().st_mtime_ns for p in (path.parent / "thumbs").iterdir()} == stamp


def test_board_with_no_cases_renders() -> None:
    from patrol.report.model import CaseBoardData
    from tests.report.factories import NOW

    doc = parse(render_case_board(CaseBoardData((), NOW, 2.0)))
    assert doc.by_id("case-table") is not None and doc.by_id("by-unit") is None
