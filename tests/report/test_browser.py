"""The reports as a reviewer sees them: headless Chromium (Debian's package) opens the files.

Skipped with the reason when /usr/bin/chromium or the playwright package is missing (.ci/run installs
both). Playwright only drives the system browser; it never downloads one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patrol.report.html import write_case_board_html, write_flight_report_html
from tests.report.factories import HOSTILE_FILE, HOSTILE_ZONE, board, flight_data

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT_COPY = Path("/tmp/report-screenshot.png")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium; .ci/run does it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e .[test])")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


class Watched:
    """A page with every console message, page error, dialog and non-file request recorded."""

    def __init__(self, browser) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 1000})
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.network: list[str] = []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else self.network.append(r.url))

    def _dialog(self, d) -> None:
        self.dialogs.append(d.message)
        d.dismiss()

    def open(self, path: Path) -> None:
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")

    def assert_clean(self) -> None:
        bad = [m for m in self.console if m[0] in ("error", "warning")]
        assert bad == [] and self.errors == [], (bad, self.errors)
        assert self.dialogs == [], f"a dialog fired: {self.dialogs}"
        assert self.network == [], f"the page tried the network: {self.network}"


def test_flight_report_in_chromium(browser, tmp_path) -> None:
    data = flight_data(tmp_path / "in")
    html = write_flight_report_html(data, tmp_path / "out")
    w = Watched(browser)
    w.open(html)
    page = w.page
    assert page.evaluate("document.documentElement.getAttribute('data-js')") == "ready"  # our script ran

    # Map: drawn with a real size, one visible marker per finding.
    box = page.locator("#flight-map").bounding_box()
    assert box and box["width"] > 400 and box["height"] > 150
    assert page.locator("#flight-map .marker").count() == len(data.findings)
    assert page.locator("#flight-map .marker circle").first.is_visible()

    # Cards render with their thumbnail decoded.
    assert page.locator("article.card").count() == len(data.violations)
    widths = page.eval_on_selector_all("article.card img", "els => els.map(e => e.complete ? e.naturalWidth : 0)")
    assert widths and all(wd > 0 for wd in widths)

    # Hostile names are visible as text.
    assert page.locator("#failed td").first.inner_text() == HOSTILE_FILE
    assert page.locator("article.card dd", has_text="</script>").first.inner_text() == HOSTILE_ZONE

    # Hover a marker: the info panel shows the finding.
    f0 = data.findings[0]
    page.locator(f"#flight-map .marker[data-finding='{f0.finding_id}']").hover()
    assert f0.label in page.locator("#map-info").inner_text()
    assert HOSTILE_ZONE in page.locator("#map-info").inner_text()

    # Category filter hides other cards.
    label = data.findings[1].label
    page.locator(f".filters button[data-label='{label}']").click()
    visible = page.eval_on_selector_all("article.card", "els => els.filter(e => !e.hidden).length")
    assert visible == sum(f.label == label for f in data.findings)
    page.locator(".filters button[data-label='*']").click()

    # A counted object's marker opens the collapsed table and lands on its row.
    counted = data.counted[0]
    assert not page.locator(f"#finding-{counted.finding_id}").is_visible()
    page.locator(f"#flight-map .marker[data-finding='{counted.finding_id}']").click()
    assert page.locator(f"#finding-{counted.finding_id}").is_visible()
    page.evaluate("window.scrollTo(0, 0)")

    page.screenshot(path=str(tmp_path / "flight.png"), full_page=False)
    try:
        shutil.copyfile(tmp_path / "flight.png", SCREENSHOT_COPY)
    except OSError:
        pass
    assert (tmp_path / "flight.png").stat().st_size > 10_000
    w.assert_clean()


def test_case_board_in_chromium(browser, tmp_path) -> None:
    b = board(30, tmp_path / "in")
    html = write_case_board_html(b, tmp_path / "out")
    w = Watched(browser)
    w.open(html)
    page = w.page
    assert page.evaluate("document.documentElement.getAttribute('data-js')") == "ready"

    def shown() -> int:
        return int(page.locator("#shown-count").inner_text())

    assert shown() == sum(c.active for c in b.cases)  # default: open cases
    page.locator("#f-overdue").check()
    assert shown() == sum(c.overdue for c in b.cases)
    page.locator("#f-overdue").uncheck()
    page.locator("#f-status").select_option("*")
    assert shown() == len(b.cases)
    page.locator("#f-unit").select_option("Unit A")
    assert shown() == sum((c.unit or "(no unit)") == "Unit A" for c in b.cases)
    page.locator("#f-unit").select_option("*")
    page.locator("#f-text").fill("</script>")
    assert shown() == 1
    page.locator("#f-text").fill("")

    # Sort by age, both ways.
    page.locator("th[data-key='age'] button").click()
    ages = page.eval_on_selector_all("#case-table tbody tr", "rs => rs.map(r => parseFloat(r.dataset.age))")
    assert ages == sorted(ages)
    page.locator("th[data-key='age'] button").click()
    ages = page.eval_on_selector_all("#case-table tbody tr", "rs => rs.map(r => parseFloat(r.dataset.age))")
    assert ages == sorted(ages, reverse=True)

    page.screenshot(path=str(tmp_path / "board.png"))
    w.assert_clean()
