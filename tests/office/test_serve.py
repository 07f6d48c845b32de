"""`patrol serve` without a browser (Flask's test client): the security rules one by one, and a review
saved through the form."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from patrol.cli import app as cli_app
from patrol.errors import ConfigError
from patrol.serve.app import ServeConfig, create_app
from patrol.serve.security import served_path
from patrol.store import open_store
from patrol.store.reviews import latest_reviews
from tests.office.world import make_world

TOKEN = "s3cret-token-0123456789"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("serve"))


def client(world, tmp_path, **kw):
    cfg = ServeConfig(db_url=str(world.db), cache_dir=tmp_path / "cache", **kw)
    return create_app(cfg).test_client()


def csrf(c) -> str:
    page = c.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("host, token, ok", [
    ("127.0.0.1", None, True), ("localhost", None, True), ("::1", None, True),
    ("0.0.0.0", None, False), ("192.168.1.5", None, False), ("0.0.0.0", TOKEN, True), ("0.0.0.0", "short", False),
])
def test_binding_off_loopback_needs_a_token(host, token, ok) -> None:
    if ok:
        ServeConfig(db_url=":memory:", host=host, token=token)
    else:
        with pytest.raises(ConfigError):
            ServeConfig(db_url=":memory:", host=host, token=token)


def test_board_review_and_refusals(world, tmp_path) -> None:
    c = client(world, tmp_path)
    r = c.get("/")
    assert r.status_code == 200 and "form-action 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"
    token = csrf(c)
    with open_store(world.db) as s:
        before = s.dump()
    # forged: no token, wrong token, other origin, GET
    assert c.post("/cases/3/review", data={"verdict": "false_positive"}).status_code == 403
    assert c.post("/cases/3/review", data={"verdict": "false_positive", "csrf_token": "x" * 43}).status_code == 403
    assert c.post("/cases/3/review", data={"verdict": "false_positive", "csrf_token": token},
                  headers={"Origin": "http://evil.example"}).status_code == 403
    assert c.get("/cases/3/review").status_code == 405
    # invalid inputs
    for form in ({"verdict": "maybe"}, {"verdict": "duplicate", "duplicate_of": "x"},
                 {"verdict": "category", "category": "potholes"}, {"verdict": "confirmed", "note": "n" * 3000}):
        assert c.post("/cases/3/review", data={**form, "csrf_token": token}).status_code == 400, form
    assert c.post("/cases/99/review", data={"verdict": "confirmed", "csrf_token": token}).status_code == 409
    with open_store(world.db) as s:
        assert s.dump() == before  # nothing was written
    # the real thing
    r = c.post("/cases/3/review", data={"verdict": "duplicate", "duplicate_of": "4", "note": "same stall",
                                        "csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"].endswith("/cases/3")
    assert "reviewed as duplicate of case 4" in c.get("/cases/3").get_data(as_text=True)
    with open_store(world.db) as s:
        assert latest_reviews(s)[3].request.label == "duplicate:4" and s.get_case(3).status == "duplicate"


def test_host_header_and_token(world, tmp_path) -> None:
    c = client(world, tmp_path)
    assert c.get("/", headers={"Host": "evil.example"}).status_code == 400  # DNS rebinding
    t = client(world, tmp_path, host="0.0.0.0", token=TOKEN)
    assert t.get("/").status_code == 401
    assert t.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    r = t.get(f"/?token={TOKEN}")
    assert r.status_code == 303 and "token" not in r.headers["Location"]
    assert t.get("/").status_code == 200  # the session remembers


def test_images_only_from_the_stores_folders(world, tmp_path) -> None:
    c = client(world, tmp_path)
    r = c.get("/thumb/2")
    assert r.status_code == 200 and r.mimetype == "image/jpeg" and r.data[:2] == b"\xff\xd8"
    assert c.get("/evidence/1").status_code == 200  # the verification's evidence, inside the db folder
    for url in ("/thumb/../../etc/passwd", "/thumb/%2e%2e%2fetc%2fpasswd", "/thumb/-1", "/evidence/999", "/static/x"):
        assert c.get(url).status_code == 404, url
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((world.root / "flightA" / "DJI_0000.JPG").read_bytes())
    roots = [world.root / "flightA"]
    assert served_path(str(outside), roots) is None
    assert served_path("/etc/passwd", [__import__("pathlib").Path("/")]) is None  # not an image
    assert served_path(str(world.root / "flightA" / "DJI_0000.JPG"), roots) is not None
    link = world.root / "flightA" / "link.jpg"
    link.symlink_to(outside)
    assert served_path(str(link), roots) is None  # a symlink out of the folder does not count


def test_cli_serve_refuses_unsafe_binding(world) -> None:
    r = CliRunner().invoke(cli_app, ["serve", "--db", str(world.db), "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "--token" in r.stderr
