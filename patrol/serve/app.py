"""The Flask application behind `patrol serve` (rules in ``patrol.serve.security``).

Every request opens its own store connection (SQLite in WAL mode takes concurrent readers and one
writer); pages are rendered from the report templates; the only writes are reviews, through
``patrol.office.review.review_case`` — the same code as ``patrol cases review``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patrol.cases.model import CATEGORIES
from patrol.errors import CaseError, ConfigError, PatrolError
from patrol.serve import security

READY_SCRIPT = 'document.documentElement.setAttribute("data-js", "ready");'
MAX_FORM_BYTES = 16 * 1024
THUMB_PX = 320


@dataclass(frozen=True)
class ServeConfig:
    """Where the store is, where the server listens, and what it may show."""

    db_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    media_dirs: tuple[Path, ...] = ()
    cache_dir: Path | None = None  # thumbnails; default: a temporary folder
    overdue_days: float = 2.0
    closed_window_days: float | None = 90.0

    def __post_init__(self) -> None:
        security.check_bind(self.host, self.token)
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port: must be 0-65535, got {self.port}")


@dataclass(frozen=True)
class ServeView:
    """What the board template needs to draw review forms."""

    csrf_token: str
    message: str | None = None
    categories: tuple[str, ...] = field(default=CATEGORIES)

    @staticmethod
    def review_url(case_id: Any) -> str:
        return f"/cases/{int(case_id)}/review"

    @staticmethod
    def case_url(case_id: Any) -> str:
        return f"/cases/{int(case_id)}"


def _csp(script: str, header: bool = False) -> str:
    """The reports' policy, with forms allowed to post to this server; ``frame-ancestors`` only in the
    HTTP header (a <meta> policy cannot carry it)."""
    from patrol.report.html import _csp as report_csp

    policy = report_csp(script).replace("form-action 'none'", "form-action 'self'").replace(
        "img-src 'self' data: file:", "img-src 'self' data:")
    return policy + "; frame-ancestors 'none'" if header else policy


def parse_review_form(form: Any) -> tuple[Any, str, str]:
    """(ReviewRequest, note, reviewer) from a submitted form; ConfigError naming the bad field."""
    from patrol.office.review import NOTE_MAX_CHARS, ReviewRequest, ReviewVerdict

    verdict = (form.get("verdict") or "").strip()
    try:
        v = ReviewVerdict(verdict)
    except ValueError as e:
        raise ConfigError(f"verdict: expected one of {', '.join(ReviewVerdict)}, got {verdict[:40]!r}") from e
    dup = (form.get("duplicate_of") or "").strip()
    cat = (form.get("category") or "").strip()
    note = form.get("note") or ""
    if len(note) > NOTE_MAX_CHARS:
        raise ConfigError(f"note: at most {NOTE_MAX_CHARS} characters")
    if v == ReviewVerdict.DUPLICATE and not (dup.isdigit() and len(dup) < 10 and int(dup) > 0):
        raise ConfigError("duplicate_of: a case number is needed for a duplicate")
    if v == ReviewVerdict.CATEGORY and cat not in CATEGORIES:
        raise ConfigError(f"category: expected one of {', '.join(CATEGORIES)}")
    req = ReviewRequest(v, duplicate_of=int(dup) if v == ReviewVerdict.DUPLICATE else None,
                        category=cat if v == ReviewVerdict.CATEGORY else None)
    return req, note, (form.get("reviewer") or "").strip()


def create_app(cfg: ServeConfig) -> Any:
    """The Flask app for ``cfg``. Raises ConfigError for an unsafe binding (see security)."""
    import tempfile

    from flask import Flask, abort, g, redirect, request, send_file, session

    app = Flask("patrol.serve")
    app.config.update(SECRET_KEY=secrets.token_bytes(32), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict", MAX_CONTENT_LENGTH=MAX_FORM_BYTES)
    cache = cfg.cache_dir or Path(tempfile.mkdtemp(prefix="patrol-serve-"))
    hosts = security.allowed_hosts(cfg.host, cfg.port)

    @app.before_request
    def guard() -> Any:
        if cfg.token is None and request.host not in hosts and not _any_port_loopback(request.host):
            abort(400, "unexpected Host header")
        if cfg.token is not None and not session.get("auth"):
            bearer = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            if security.same_token(bearer, cfg.token):
                pass
            elif request.method == "GET" and security.same_token(request.args.get("token"), cfg.token):
                session["auth"] = True
                return redirect(request.path, 303)
            else:
                abort(401, "a token is needed (Authorization: Bearer TOKEN, or ?token=TOKEN)")
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        if request.method == "POST":
            if not security.origin_ok(request.headers.get("Origin"), request.host):
                abort(403, "cross-site request refused")
            if not security.same_token(request.form.get("csrf_token"), session.get("csrf")):
                abort(403, "missing or wrong CSRF token")
        from patrol.store import open_store

        g.store = open_store(cfg.db_url, create=False)
        return None

    def _any_port_loopback(host_header: str) -> bool:
        return host_header.rsplit(":", 1)[0] in ("127.0.0.1", "localhost", "[::1]") and security.is_loopback(cfg.host)

    @app.teardown_request
    def close_store(exc: BaseException | None) -> None:
        store = g.pop("store", None)
        if store is not None:
            store.close()

    @app.after_request
    def headers(resp: Any) -> Any:
        resp.headers.setdefault("Content-Security-Policy", _csp(READY_SCRIPT, header=True))
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "same-origin"  # no-referrer would make Chrome send Origin: null on POST
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(PatrolError)
    def patrol_error(e: PatrolError) -> Any:
        return _message_page(str(e), 400 if isinstance(e, ConfigError) else 409 if isinstance(e, CaseError) else 500)

    @app.get("/")
    def board() -> Any:
        from patrol.report.from_store import load_case_board
        from patrol.report.html import _env, case_board_context

        data = load_case_board(g.store, _settings(cfg), closed_window_days=cfg.closed_window_days)
        ctx = case_board_context(data)
        ctx.update(thumb=lambda row: f"/thumb/{int(row.case_id)}" if row.evidence else None,
                   serve=ServeView(session["csrf"], session.pop("message", None)),
                   csp=_csp(ctx["script"]))
        html = _env().get_template("cases.html.j2").render(**ctx)
        resp = app.make_response(html)
        resp.headers["Content-Security-Policy"] = _csp(ctx["script"], header=True)
        return resp

    @app.get("/favicon.ico")
    def favicon() -> Any:
        return app.response_class(status=204)  # no icon, and no 404 in the console

    @app.get("/cases/<int:case_id>")
    def case_page(case_id: int) -> Any:
        from patrol.report.html import _env, _static
        from patrol.store.reviews import reviews

        case = g.store.get_case(case_id)
        if case is None:
            abort(404, f"no case {case_id}")
        return _env().get_template("serve_case.html.j2").render(
            c=case, events=g.store.events(case_id), reviews=reviews(g.store, case_id),
            checks=g.store.verifications(case_id=case_id), serve=ServeView(session["csrf"], session.pop("message", None)),
            css=_static("report.css"), script=READY_SCRIPT, csp=_csp(READY_SCRIPT))

    @app.post("/cases/<int:case_id>/review")
    def review(case_id: int) -> Any:
        from patrol.office.review import review_case

        req, note, reviewer = parse_review_form(request.form)
        rev, changed = review_case(g.store, case_id, req, note=note, reviewer=reviewer)
        session["message"] = (f"case {case_id}: reviewed as {rev.describe()}" if changed
                              else f"case {case_id}: already reviewed as {rev.describe()}")
        target = f"/#case-{case_id}" if request.form.get("next") == "board" else f"/cases/{case_id}"
        return redirect(target, 303)

    @app.get("/thumb/<int:case_id>")
    def thumb(case_id: int) -> Any:
        from patrol.report.model import ImageRef
        from patrol.report.thumbs import ThumbJob, safe_name, write_thumbnails

        case = g.store.get_case(case_id)
        path = None if case is None else security.served_path(case.evidence_frame, _roots(g.store, cfg))
        if path is None:
            abort(404)
        rel = safe_name("c", f"{case_id}|{path}|{case.evidence_bbox_xyxy_px}")
        if not (cache / rel).is_file():
            write_thumbnails([ThumbJob(ImageRef(str(path), case.evidence_bbox_xyxy_px), rel, THUMB_PX)], cache)
        if not (cache / rel).is_file():
            abort(404)
        return send_file(cache / rel, mimetype="image/jpeg")

    @app.get("/evidence/<int:verification_id>")
    def evidence(verification_id: int) -> Any:
        found = [v for v in g.store.verifications() if v.verification_id == verification_id]
        path = security.served_path(found[0].evidence_path, _roots(g.store, cfg)) if found else None
        if path is None:
            abort(404)
        return send_file(path, mimetype="image/png" if path.suffix.lower() == ".png" else "image/jpeg")

    return app


def _settings(cfg: ServeConfig) -> Any:
    from patrol.config import load_settings

    settings = load_settings(None)
    import dataclasses

    return dataclasses.replace(settings, cases=dataclasses.replace(settings.cases, overdue_days=cfg.overdue_days))


def _roots(store: Any, cfg: ServeConfig) -> list[Path]:
    """The store's own folders: every flight's input folder, the database's folder, --media folders."""
    from patrol.store.dialect import parse_url

    roots = list(cfg.media_dirs)
    target = parse_url(cfg.db_url)
    if target.kind == "sqlite" and target.location != ":memory:":
        roots.append(Path(target.location).resolve().parent)
    for f in store.list_flights():
        if f.source:
            src = Path(f.source)
            roots.append(src if src.is_dir() else src.parent)
    return roots


def _message_page(text: str, status: int) -> Any:
    from flask import make_response
    from markupsafe import escape

    return make_response(f"<!DOCTYPE html><title>patrol</title><p>{escape(text)}</p><p><a href=\"/\">back to the board</a></p>", status)


def run_server(cfg: ServeConfig, log: Any = print) -> None:
    """Serve until interrupted (werkzeug's threaded server: a tool for a few reviewers, not the internet)."""
    from werkzeug.serving import make_server

    server = make_server(cfg.host, cfg.port, create_app(cfg), threaded=True)
    url = f"http://{cfg.host}:{server.server_port}/"
    log(f"patrol serve: {url}" + ("  (add ?token=... once; the session remembers it)" if cfg.token else ""))
    try:
        server.serve_forever()
    finally:
        server.server_close()
