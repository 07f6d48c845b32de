"""The SQL dialect layer: the only place that knows which database engine is behind a URL.

The repository writes portable SQL with ``?`` placeholders and ``{pk}``-style type macros in DDL; a
dialect connects, expands the macros, and translates placeholders. A PostgreSQL backend is one more
Dialect (psycopg connection, ``%s`` placeholders, ``BIGSERIAL``) — the stages do not change.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patrol.errors import StoreError


@dataclass(frozen=True)
class Target:
    """A parsed database URL: ``kind`` is "sqlite" or "postgresql"; ``location`` the file, DSN or
    ":memory:"."""

    kind: str
    location: str


def parse_url(url: str | Path) -> Target:
    """Accept a file path, ``sqlite:///relative/or/absolute``, ``sqlite://`` / ``:memory:``, or a
    PostgreSQL URL. Raises StoreError for an empty or unknown scheme."""
    text = str(url).strip()
    if not text:
        raise StoreError("empty database URL; expected a file path, sqlite:///path or :memory:")
    if text in (":memory:", "sqlite://", "sqlite:///:memory:"):
        return Target("sqlite", ":memory:")
    if text.startswith("sqlite:///"):
        return Target("sqlite", text[len("sqlite:///") :])
    if text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return Target("postgresql", text)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise StoreError(f"{text}: unknown database scheme {scheme!r}; expected a file path, sqlite:///path or postgresql://")
    return Target("sqlite", text)


class SqliteDialect:
    """SQLite: WAL journal, foreign keys on, a busy timeout so two runs wait instead of failing."""

    name = "sqlite"
    macros = {
        "pk": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "ts": "TEXT",  # ISO 8601 UTC, sortable as text
        "json": "TEXT",
        "real": "REAL",
        "int": "INTEGER",
        "text": "TEXT",
    }

    def __init__(self, location: str, timeout_s: float = 60.0) -> None:
        self.location = location
        self.timeout_s = timeout_s

    def connect(self) -> sqlite3.Connection:
        if sqlite3.sqlite_version_info < (3, 35, 0):  # INSERT ... RETURNING, ON CONFLICT upserts
            raise StoreError(f"SQLite {sqlite3.sqlite_version} is too old: patrol needs 3.35 or newer")
        if self.location != ":memory:":
            parent = Path(self.location).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreError(f"{self.location}: folder {parent} does not exist")
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves (one transaction per stage).
            conn = sqlite3.connect(self.location, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            if self.location != ":memory:":
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreError(f"{self.location}: could not switch to WAL journal (got {mode})")
                conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a crash loses no commit
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # fails here on a non-database
            if self.location != ":memory:":
                # a damaged page anywhere is found now, before a stage trusts half a database
                bad = [r[0] for r in conn.execute("PRAGMA quick_check(3)").fetchall() if r[0] != "ok"]
                if bad:
                    conn.close()
                    raise StoreError(
                        f"{self.location}: the database file is corrupt ({'; '.join(bad)}); restore it from a backup "
                        "or move it away to start a new one"
                    )
        except sqlite3.Error as e:
            raise StoreError(f"{self.location}: cannot open the SQLite database: {self.describe(e)}") from e
        return conn

    def describe(self, e: BaseException) -> str:
        """SQLite's message plus what it means for the user (locked, corrupt, read-only, disk full)."""
        text = str(e)
        low = text.lower()
        if "locked" in low or "busy" in low:
            return f"{text}: another process held it longer than the busy timeout ({self.timeout_s:g} s, store.busy_timeout_s); nothing was written, run again when it is done"
        if "not a database" in low or "malformed" in low or "corrupt" in low:
            return f"{text}: the database file is corrupt; restore it from a backup or move it away to start a new one"
        if "readonly" in low or "read-only" in low or "unable to open" in low:
            return f"{text}: the database file or its folder is not writable (read-only disk or permissions)"
        if "full" in low:
            return f"{text}: the disk is full; nothing of this step was committed, free space and run again"
        if "disk i/o" in low:
            return f"{text}: the disk failed to read or write (full, removed or damaged)"
        return text

    def ddl(self, statement: str) -> str:
        return statement.format(**self.macros)

    def sql(self, statement: str) -> str:
        return statement  # the repository's placeholder style is SQLite's

    def begin(self) -> str:
        # IMMEDIATE takes the write lock up front: two writers queue instead of deadlocking.
        return "BEGIN IMMEDIATE"

    def is_integrity_error(self, e: BaseException) -> bool:
        return isinstance(e, sqlite3.IntegrityError)

    def errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error,)

    def in_transaction(self, conn: sqlite3.Connection) -> bool:
        return conn.in_transaction

    def tables_sql(self) -> str:
        return "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"

    def columns(self, conn: sqlite3.Connection, table: str) -> list[str]:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def dialect_for(target: Target, busy_timeout_s: float | None = None) -> Any:
    """The Dialect for a parsed URL. PostgreSQL is designed for but not installed here."""
    if target.kind == "sqlite":
        return SqliteDialect(target.location) if busy_timeout_s is None else SqliteDialect(target.location, busy_timeout_s)
    scheme, _, rest = target.location.partition("://")
    shown = f"{scheme}://{'***@' if '@' in rest else ''}{rest.rpartition('@')[2]}"  # never echo a password
    raise StoreError(
        f"{shown}: the PostgreSQL backend is not installed in this version of patrol; use a SQLite file "
        "path or sqlite:///path (the schema and repository are dialect-neutral, see patrol/store/dialect.py)"
    )
