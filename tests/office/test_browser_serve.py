"""`patrol serve` in Chromium: load the board, click a review, see it in the database; a forged POST
without the CSRF token is refused and changes nothing."""

from __future__ import annotations

import threading

import pytest

from patrol.serve.app import ServeConfig, create_app
from patrol.store import open_store
from patrol.store.reviews import latest_reviews
from tests.office.world import make_world
from tests.report.test_browser import Watched, browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path):
    from werkzeug.serving import make_server

    w = make_world(tmp_path)
    srv = make_server("127.0.0.1", 0, create_app(ServeConfig(db_url=str(w.db), port=0, cache_dir=tmp_path / "c")),
                      threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield w, f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        t.join(10)


def test_review_in_the_browser(browser, server) -> None:  # noqa: F811
    w, base = server
    v = Watched(browser)
    page = v.page
    page.goto(base + "/")
    assert page.evaluate("document.documentElement.getAttribute('data-js')") == "ready"
    row = page.locator("#case-2")
    assert row.locator("img").evaluate("e => e.complete && e.naturalWidth") > 0  # thumbnail served
    with page.expect_navigation():
        row.locator("button[data-review='false_positive']").click()
    assert "case 2: reviewed as false positive" in page.locator("#notice").inner_text()
    with open_store(w.db) as s:
        assert latest_reviews(s)[2].request.label == "false_positive"
        assert s.get_case(2).status == "closed_false_positive"
        dump = s.dump()

    # Case page: the full form (wrong category).
    page.goto(base + "/cases/5")
    page.select_option("#verdict", "category")
    page.select_option("#category", "exposed_garbage")
    page.fill("#note", "<script>alert(1)</script>")
    with page.expect_navigation():
        page.locator("#review-form button[type=submit]").click()
    assert "category exposed_garbage" in page.locator("#notice").inner_text()
    assert "<script>alert(1)</script>" in page.locator("#reviews").inner_text()  # shown as text
    with open_store(w.db) as s:
        assert s.get_case(5).category == "exposed_garbage"
        dump = s.dump()

    # A forged POST with the session cookie but no CSRF token.
    forged = page.request.post(base + "/cases/3/review", form={"verdict": "false_positive"})
    assert forged.status == 403
    with open_store(w.db) as s:
        assert s.dump() == dump
    page.goto(base + "/")
    v.network = [u for u in v.network if not u.startswith(base + "/")]  # our own server is the only host allowed
    v.assert_clean()
