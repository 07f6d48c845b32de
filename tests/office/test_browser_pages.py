"""The stats page and a dispatch sheet as a manager sees them: headless Chromium (Debian's package)
opens the files offline; no console error, no request leaves the page.

Set PATROL_SCREENSHOTS=DIR to keep the screenshots (the README's come from here:
``PATROL_SCREENSHOTS=docs pytest tests/office/test_browser_pages.py``).
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from patrol.office.dispatch import write_dispatch
from patrol.office.stats_page import write_stats_page
from patrol.store import open_store
from tests.office.test_stats import NOW, reviewed_world
from tests.report.test_browser import Watched, browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def keep(shot: Path, name: str) -> None:
    target = os.environ.get("PATROL_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(target) / name)


def test_stats_page_in_chromium(browser, tmp_path) -> None:  # noqa: F811
    w = reviewed_world(tmp_path)
    with open_store(w.db) as s:
        page_path = write_stats_page(s, tmp_path / "out" / "stats.html", now=NOW)
    v = Watched(browser)
    v.open(page_path)
    page = v.page
    assert page.evaluate("document.documentElement.getAttribute('data-js')") == "ready"
    charts = page.locator("figure.chart svg")
    assert charts.count() == 5
    for i in range(5):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 80, (i, box)
    assert page.locator(".tile[data-key='reviewed'] .n").inner_text() == "4"
    shot = tmp_path / "stats.png"
    page.locator("#chart-opened-closed").screenshot(path=str(shot))
    assert shot.stat().st_size > 5_000
    keep(shot, "stats-opened-closed.png")
    v.assert_clean()


def test_dispatch_sheet_in_chromium(browser, tmp_path) -> None:  # noqa: F811
    w = reviewed_world(tmp_path)
    with open_store(w.db) as s:
        res = write_dispatch(s, tmp_path / "out", now=NOW + timedelta(hours=1))
    sheet = next(p for p in res.sheets if p.name == "dispatch-roads-east.html")
    v = Watched(browser)
    v.open(sheet)
    page = v.page
    assert page.evaluate("document.documentElement.getAttribute('data-js')") == "ready"
    rows = page.locator("#dispatch-table tbody tr")
    assert rows.count() == 2
    widths = page.eval_on_selector_all("#dispatch-table img", "els => els.map(e => e.complete ? e.naturalWidth : 0)")
    assert widths and all(wd > 0 for wd in widths)  # the crops load
    assert page.locator("#dispatch-table svg.spot").first.is_visible()
    assert page.locator("a[href^='geo:']").count() == 2
    page.emulate_media(media="print")
    assert page.locator(".noprint").first.is_hidden()
    page.emulate_media(media="screen")
    shot = tmp_path / "dispatch.png"
    page.screenshot(path=str(shot), full_page=True)
    keep(shot, "dispatch-sheet.png")
    v.open(res.index)
    assert v.page.locator("#units tbody tr").count() == 2
    v.assert_clean()
