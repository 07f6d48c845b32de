"""The rules that keep `patrol serve` safe by default, pure where they can be.

- Bound to the loopback interface unless told otherwise; binding anywhere else needs a token
  (>= 16 characters), which every request must then carry (``Authorization: Bearer``, or ``?token=``
  once, which the session remembers).
- On loopback without a token, the ``Host`` header must name the loopback address (a web page on
  another site cannot reach the board through DNS rebinding).
- Every state change is a POST carrying the session's CSRF token; a POST whose ``Origin`` is another
  site is refused even with it.
- Images are served only by case / verification number, from paths the store recorded, and only
  when the resolved file lies inside the store's own folders (flight inputs, the database's folder,
  and any ``--media`` folder) and is an image: no name from the request ever becomes a path.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from pathlib import Path

from patrol.errors import ConfigError

MIN_TOKEN_CHARS = 16
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """ConfigError unless ``host`` is loopback or a long enough token is given."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"--token: at least {MIN_TOKEN_CHARS} characters (got {len(token)})")
    if not is_loopback(host) and token is None:
        raise ConfigError(f"--host {host}: serving beyond this machine needs --token (or PATROL_SERVE_TOKEN)")


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    names = {host, "localhost", "127.0.0.1", "[::1]"}
    return frozenset({*(f"{n}:{port}" for n in names), *names})


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


def origin_ok(origin: str | None, host_header: str) -> bool:
    """No Origin (not a browser form), or the same host the request went to."""
    if not origin:
        return True
    if origin == "null":
        return False
    return origin.split("://", 1)[-1].rstrip("/") == host_header


def served_path(recorded: str | None, roots: Iterable[Path]) -> Path | None:
    """The recorded image path when it resolves to an image file inside one of ``roots``, else None."""
    if not recorded:
        return None
    try:
        p = Path(recorded).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file():
        return None
    for root in roots:
        try:
            if p.is_relative_to(root.resolve()):
                return p
        except OSError:
            continue
    return None
