"""Store: the repository over one database connection. Every stage reads and writes through it.

Write functions that issue several statements wrap them in ``transaction()`` (nested calls become
savepoints), so each is all-or-nothing; a stage wraps all its writes and its stage marker in one
outer ``transaction()`` so a process killed at any moment leaves either the whole stage or none of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from patrol.cases.model import Case, CaseEvent, CaseSpot, CaseStatus, now_utc
from patrol.errors import StoreError
from patrol.store import codec
from patrol.store.dialect import dialect_for, parse_url
from patrol.store.schema import MIGRATIONS, MIGRATIONS_TABLE

FLIGHT_STATUSES = ("processing", "done", "failed")


@dataclass(frozen=True)
class FlightRecord:
    flight_id: str
    name: str
    source: str
    n_files: int
    created_at: datetime
    status: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    summary: dict | None = None


@dataclass(frozen=True)
class StoredFrame:
    """A frame as stored: ``meta`` is None (and ``error`` set) for a frame that could not be read."""

    flight_id: str
    path: str
    meta: Any | None
    gsd_m: float | None = None
    footprint_wkt: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class QueuedVerification:
    case_id: int
    flight_id: str
    frame_path: str
    gsd_m: float
    queued_at: datetime
    state: str


@dataclass(frozen=True)
class VerificationRecord:
    """A before/after verdict for one case on one flight (``verdict``: fixed | still_present |
    inconclusive). ``details`` is free-form JSON (scores, homography quality...)."""

    case_id: int
    flight_id: str
    at: datetime
    verdict: str
    score: float | None = None
    before_frame: str | None = None
    after_frame: str | None = None
    evidence_path: str | None = None
    details: dict | None = None
    verification_id: int = 0


def flight_content_key(paths: Iterable[str | Path], *, quick: bool = False) -> str:
    """Content key of a flight: sha256 over each file's name, size and content digest, in name order.

    Moving or renaming the folder keeps the key; changing, adding or removing a file changes it.
    ``quick`` hashes only the first and last MiB of each file (EXIF time and GPS are at the start),
    for very large video files. Raises StoreError for an unreadable file (naming it).
    """
    items = []
    for p in sorted((Path(x) for x in paths), key=lambda q: (q.name, str(q))):
        try:
            size = p.stat().st_size
            h = hashlib.sha256()
            with p.open("rb") as fh:
                if quick and size > 2 * 2**20:
                    h.update(fh.read(2**20))
                    fh.seek(-(2**20), os.SEEK_END)
                    h.update(fh.read(2**20))
                else:
                    for chunk in iter(lambda: fh.read(2**20), b""):
                        h.update(chunk)
        except OSError as e:
            raise StoreError(f"{p}: cannot read to compute the flight key: {e.strerror or e}") from e
        items.append(f"{p.name}\t{size}\t{h.hexdigest()}")
    top = hashlib.sha256(("quick\n" if quick else "full\n").encode())
    top.update("\n".join(items).encode("utf-8"))
    return top.hexdigest()[:32]


class Store:
    """Repository over one connection. Use ``open_store(url)`` to get one; close it (or use ``with``)."""

    def __init__(self, conn: Any, dialect: Any, url: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.url = url
        self._depth = 0

    # -- plumbing -------------------------------------------------------------------------------
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return self.conn.execute(self.dialect.sql(sql), tuple(params))
        except self.dialect.errors() as e:
            raise StoreError(f"{self.url}: {self.dialect.describe(e)} (in: {' '.join(sql.split())[:120]})") from e

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self.conn.executemany(self.dialect.sql(sql), rows)
        except self.dialect.errors() as e:
            raise StoreError(f"{self.url}: {self.dialect.describe(e)} (in: {' '.join(sql.split())[:120]})") from e

    def _insert(self, sql: str, params: Sequence[Any], id_column: str) -> int:
        """Run an INSERT and return the new row's generated id (INSERT ... RETURNING, portable)."""
        row = self._x(f"{sql} RETURNING {id_column}", params).fetchone()
        return int(row[0])

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All writes inside commit together or not at all. Nested use makes a savepoint."""
        if self._depth == 0:
            self._x(self.dialect.begin())
        else:
            self._x(f"SAVEPOINT sp{self._depth}")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                if self.dialect.in_transaction(self.conn):
                    self._x("ROLLBACK")
            else:
                self._x(f"ROLLBACK TO sp{self._depth}")
                self._x(f"RELEASE sp{self._depth}")
            raise
        self._depth -= 1
        if self._depth == 0:
            self._x("COMMIT")
        else:
            self._x(f"RELEASE sp{self._depth}")

    def migrate(self) -> list[str]:
        """Apply every migration not yet recorded, each in its own transaction; returns their names."""
        self._x(self.dialect.ddl(MIGRATIONS_TABLE))
        applied = []
        for name, statements in MIGRATIONS:
            with self.transaction():
                if self._x("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                    continue
                for stmt in statements:
                    self._x(self.dialect.ddl(stmt))
                self._x("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, codec.ts(now_utc())))
                applied.append(name)
        return applied

    def applied_migrations(self) -> list[str]:
        return [r[0] for r in self._x("SELECT name FROM migrations ORDER BY name")]

    # -- flights and stage markers --------------------------------------------------------------
    def begin_flight(self, flight_id: str, *, name: str, source: str, n_files: int, started_at: datetime | None = None) -> FlightRecord:
        """Record a flight (status ``processing``) unless it is already known; returns the record.

        A known flight keeps its data (status, stages): the caller checks ``status == "done"`` to skip
        it, or ``stage_done`` to resume a crashed run.
        """
        with self.transaction():
            known = self.get_flight(flight_id)
            if known is not None:
                return known
            self._x(
                "INSERT INTO flights (flight_id, name, source, n_files, started_at, created_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?, 'processing')",
                (flight_id, name, source, n_files, codec.ts(started_at), codec.ts(now_utc())),
            )
            return self.get_flight(flight_id)  # type: ignore[return-value]

    def get_flight(self, flight_id: str) -> FlightRecord | None:
        row = self._x("SELECT * FROM flights WHERE flight_id = ?", (flight_id,)).fetchone()
        return None if row is None else self._flight(row)

    def list_flights(self) -> list[FlightRecord]:
        rows = self._x("SELECT * FROM flights ORDER BY created_at, flight_id").fetchall()
        return [self._flight(r) for r in rows]

    @staticmethod
    def _flight(row: Any) -> FlightRecord:
        return FlightRecord(
            flight_id=row["flight_id"],
            name=row["name"],
            source=row["source"],
            n_files=row["n_files"],
            created_at=codec.parse_ts(row["created_at"]),  # type: ignore[arg-type]
            status=row["status"],
            started_at=codec.parse_ts(row["started_at"]),
            finished_at=codec.parse_ts(row["finished_at"]),
            error=row["error"],
            summary=codec.loads_plain(row["summary"]),
        )

    def finish_flight(self, flight_id: str, *, status: str = "done", error: str | None = None, summary: dict | None = None) -> None:
        """Set a flight's final status (``done`` or ``failed``) and its summary (free-form JSON)."""
        if status not in FLIGHT_STATUSES:
            raise StoreError(f"flight status must be one of {', '.join(FLIGHT_STATUSES)}, got {status!r}")
        cur = self._x(
            "UPDATE flights SET status = ?, error = ?, summary = ?, finished_at = ? WHERE flight_id = ?",
            (status, error, codec.dumps(summary), codec.ts(now_utc()), flight_id),
        )
        if cur.rowcount == 0:
            raise StoreError(f"unknown flight {flight_id}")

    def mark_stage(self, flight_id: str, stage: str, info: dict | None = None) -> None:
        """Record that ``stage`` finished for the flight. Call it inside the stage's transaction."""
        self._x(
            "INSERT INTO flight_stages (flight_id, stage, done_at, info) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (flight_id, stage) DO UPDATE SET done_at = excluded.done_at, info = excluded.info",
            (flight_id, stage, codec.ts(now_utc()), codec.dumps(info)),
        )

    def stage_done(self, flight_id: str, stage: str) -> bool:
        return self._x("SELECT 1 FROM flight_stages WHERE flight_id = ? AND stage = ?", (flight_id, stage)).fetchone() is not None

    def stages(self, flight_id: str) -> dict[str, dict | None]:
        """Finished stages of a flight -> their info."""
        rows = self._x("SELECT stage, info FROM flight_stages WHERE flight_id = ? ORDER BY done_at", (flight_id,))
        return {r["stage"]: codec.loads_plain(r["info"]) for r in rows}

    # -- frames and detections ------------------------------------------------------------------
    def save_frame(
        self,
        flight_id: str,
        path: str,
        meta: Any | None,
        *,
        gsd_m: float | None = None,
        footprint_wgs84: Any | None = None,
        error: str | None = None,
    ) -> None:
        """Insert or replace one frame (FrameMeta or None with ``error``); footprint is a shapely
        Polygon in (lon, lat)."""
        self._x(
            "INSERT INTO frames (flight_id, path, taken_at, lat_deg, lon_deg, gsd_m, footprint_wkt, meta, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (flight_id, path) DO UPDATE SET "
            "taken_at = excluded.taken_at, lat_deg = excluded.lat_deg, lon_deg = excluded.lon_deg, "
            "gsd_m = excluded.gsd_m, footprint_wkt = excluded.footprint_wkt, meta = excluded.meta, error = excluded.error",
            (
                flight_id,
                str(path),
                codec.ts(getattr(meta, "time", None)),
                getattr(meta, "lat_deg", None),
                getattr(meta, "lon_deg", None),
                gsd_m,
                None if footprint_wgs84 is None else footprint_wgs84.wkt,
                None if meta is None else codec.frame_meta_to_json(meta),
                error,
            ),
        )

    def get_frame(self, flight_id: str, path: str) -> StoredFrame | None:
        """One stored frame of a flight by its path (e.g. a case's evidence frame), or None."""
        rows = self._x("SELECT * FROM frames WHERE flight_id = ? AND path = ?", (flight_id, str(path))).fetchall()
        found = self._frames(rows)
        return found[0] if found else None

    def load_frames(self, flight_id: str) -> list[StoredFrame]:
        return self._frames(self._x("SELECT * FROM frames WHERE flight_id = ? ORDER BY path", (flight_id,)).fetchall())

    @staticmethod
    def _frames(rows: Sequence[Any]) -> list[StoredFrame]:
        return [
            StoredFrame(
                flight_id=r["flight_id"],
                path=r["path"],
                meta=None if r["meta"] is None else codec.frame_meta_from_json(r["meta"]),
                gsd_m=r["gsd_m"],
                footprint_wkt=r["footprint_wkt"],
                error=r["error"],
            )
            for r in rows
        ]

    def save_detections(self, flight_id: str, frame_path: str, detections: Sequence[Any]) -> None:
        """Replace the detections of one frame (idempotent)."""
        with self.transaction():
            self._x("DELETE FROM detections WHERE flight_id = ? AND frame_path = ?", (flight_id, str(frame_path)))
            self._many(
                "INSERT INTO detections (flight_id, frame_path, class_name, score, x1_px, y1_px, x2_px, y2_px) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(flight_id, str(frame_path), d.class_name, float(d.score), *map(float, d.bbox_xyxy_px)) for d in detections],
            )

    def load_detections(self, flight_id: str) -> dict[str, list[Any]]:
        """frame path -> its detections (Detection records), in insertion order."""
        from patrol.detect.base import Detection

        out: dict[str, list[Any]] = {}
        rows = self._x("SELECT * FROM detections WHERE flight_id = ? ORDER BY detection_pk", (flight_id,))
        for r in rows:
            out.setdefault(r["frame_path"], []).append(
                Detection((r["x1_px"], r["y1_px"], r["x2_px"], r["y2_px"]), r["class_name"], r["score"])
            )
        return out

    def count_detections(self, flight_id: str) -> int:
        return self._x("SELECT count(*) FROM detections WHERE flight_id = ?", (flight_id,)).fetchone()[0]

    # -- findings -------------------------------------------------------------------------------
    def save_findings(self, flight_id: str, findings: Sequence[Any]) -> None:
        """Replace the flight's findings (Finding records). Case links are set by ``link_finding``."""
        with self.transaction():
            self._x("DELETE FROM findings WHERE flight_id = ?", (flight_id,))
            self._many(
                "INSERT INTO findings (flight_id, finding_id, class_name, category, lat_deg, lon_deg, score, "
                "grid_cell, unit, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (flight_id, f.finding_id, f.class_name, f.category, f.lat_deg, f.lon_deg, float(f.score), f.grid_cell, f.unit, codec.dumps(f))
                    for f in findings
                ],
            )

    def load_findings(self, flight_id: str) -> list[Any]:
        rows = self._x("SELECT data FROM findings WHERE flight_id = ? ORDER BY finding_id", (flight_id,))
        return [codec.finding_from_json(r["data"]) for r in rows]

    def link_finding(self, flight_id: str, finding_id: str, case_id: int) -> None:
        self._x("UPDATE findings SET case_id = ? WHERE flight_id = ? AND finding_id = ?", (case_id, flight_id, finding_id))

    def findings_of_case(self, case_id: int) -> list[tuple[str, Any]]:
        """(flight_id, Finding) pairs linked to a case, oldest flight first."""
        rows = self._x(
            "SELECT f.flight_id, f.data FROM findings f JOIN flights g ON g.flight_id = f.flight_id "
            "WHERE f.case_id = ? ORDER BY g.created_at, f.finding_id",
            (case_id,),
        )
        return [(r["flight_id"], codec.finding_from_json(r["data"])) for r in rows]

    # -- cases and events -----------------------------------------------------------------------
    def insert_case(self, case: Case) -> Case:
        """Insert a new case (its case_id is ignored); returns it with the assigned case_id."""
        cols = codec.CASE_COLUMNS.split(", ", 1)[1]
        new_id = self._insert(f"INSERT INTO cases ({cols}) VALUES ({', '.join('?' * 19)})", codec.case_values(case), "case_id")
        return dataclasses.replace(case, case_id=new_id)

    def update_case(self, case: Case) -> None:
        cols = codec.CASE_COLUMNS.split(", ")[1:]
        cur = self._x(
            f"UPDATE cases SET {', '.join(c + ' = ?' for c in cols)} WHERE case_id = ?",
            (*codec.case_values(case), case.case_id),
        )
        if cur.rowcount == 0:
            raise StoreError(f"no case {case.case_id}")

    def get_case(self, case_id: int) -> Case | None:
        row = self._x(f"SELECT {codec.CASE_COLUMNS} FROM cases WHERE case_id = ?", (case_id,)).fetchone()
        return None if row is None else codec.case_from_row(row)

    def list_cases(
        self,
        *,
        statuses: Iterable[CaseStatus | str] | None = None,
        categories: Iterable[str] | None = None,
        unit: str | None = None,
        flight_id: str | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int | None = None,
    ) -> list[Case]:
        """Cases by id, filtered by status, category, unit, last flight, or bbox
        (min_lon, min_lat, max_lon, max_lat)."""
        where, params = [], []
        if statuses is not None:
            sts = [str(CaseStatus(s)) for s in statuses]
            where.append(f"status IN ({', '.join('?' * len(sts))})" if sts else "1 = 0")
            params += sts
        if categories is not None:
            cats = list(categories)
            where.append(f"category IN ({', '.join('?' * len(cats))})" if cats else "1 = 0")
            params += cats
        if unit is not None:
            where.append("unit = ?")
            params.append(unit)
        if flight_id is not None:
            where.append("(last_flight_id = ? OR first_flight_id = ?)")
            params += [flight_id, flight_id]
        if bbox is not None:
            where.append("lon_deg BETWEEN ? AND ? AND lat_deg BETWEEN ? AND ?")
            params += [bbox[0], bbox[2], bbox[1], bbox[3]]
        sql = f"SELECT {codec.CASE_COLUMNS} FROM cases"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY case_id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [codec.case_from_row(r) for r in self._x(sql, params)]

    def case_spots(
        self, *, statuses: Iterable[CaseStatus | str], bbox: tuple[float, float, float, float] | None = None
    ) -> list[CaseSpot]:
        """Light (case_id, category, status, lat, lon, class_name) views of the cases with these statuses, inside
        ``bbox`` (min_lon, min_lat, max_lon, max_lat) when given — what matching needs."""
        sts = [str(CaseStatus(s)) for s in statuses]
        if not sts:
            return []
        sql = f"SELECT case_id, category, status, lat_deg, lon_deg, class_name FROM cases WHERE status IN ({', '.join('?' * len(sts))})"
        params: list[Any] = list(sts)
        if bbox is not None:
            sql += " AND lon_deg BETWEEN ? AND ? AND lat_deg BETWEEN ? AND ?"
            params += [bbox[0], bbox[2], bbox[1], bbox[3]]
        status_of = {str(s): s for s in CaseStatus}
        return [CaseSpot(r[0], r[1], status_of[r[2]], r[3], r[4], r[5] or "") for r in self._x(sql + " ORDER BY case_id", params)]

    def count_cases(self) -> dict[str, int]:
        """status -> number of cases."""
        return {r[0]: r[1] for r in self._x("SELECT status, count(*) FROM cases GROUP BY status ORDER BY status")}

    def add_event(self, event: CaseEvent) -> CaseEvent:
        """Append an event (its event_id is ignored); returns it with the assigned id."""
        new_id = self._insert(
            "INSERT INTO case_events (case_id, at, from_status, to_status, source, flight_id, finding_id, evidence, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.case_id,
                codec.ts(event.at),
                None if event.from_status is None else str(event.from_status),
                str(event.to_status),
                str(event.source),
                event.flight_id,
                event.finding_id,
                event.evidence,
                event.note,
            ),
            "event_id",
        )
        return dataclasses.replace(event, event_id=new_id)

    def events(self, case_id: int) -> list[CaseEvent]:
        rows = self._x(f"SELECT {codec.EVENT_COLUMNS} FROM case_events WHERE case_id = ? ORDER BY event_id", (case_id,))
        return [codec.event_from_row(r) for r in rows]

    # -- verification -----------------------------------------------------------------------------
    def queue_verification(self, case_id: int, flight_id: str, frame_path: str, gsd_m: float) -> None:
        """Queue a before/after check of a case on a flight (idempotent)."""
        self._x(
            "INSERT INTO verification_queue (case_id, flight_id, frame_path, gsd_m, queued_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (case_id, flight_id) DO NOTHING",
            (case_id, flight_id, frame_path, gsd_m, codec.ts(now_utc())),
        )

    def pending_verifications(self, flight_id: str | None = None) -> list[QueuedVerification]:
        sql = "SELECT * FROM verification_queue WHERE state = 'pending'"
        params: tuple = ()
        if flight_id is not None:
            sql += " AND flight_id = ?"
            params = (flight_id,)
        rows = self._x(sql + " ORDER BY case_id, flight_id", params)
        return [
            QueuedVerification(r["case_id"], r["flight_id"], r["frame_path"], r["gsd_m"], codec.parse_ts(r["queued_at"]), r["state"])  # type: ignore[arg-type]
            for r in rows
        ]

    def save_verification(self, v: VerificationRecord) -> VerificationRecord:
        """Store a verdict (replacing one for the same case and flight) and mark the queue item done."""
        with self.transaction():
            self._x("DELETE FROM verifications WHERE case_id = ? AND flight_id = ?", (v.case_id, v.flight_id))
            new_id = self._insert(
                "INSERT INTO verifications (case_id, flight_id, at, verdict, score, before_frame, after_frame, "
                "evidence_path, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (v.case_id, v.flight_id, codec.ts(v.at), v.verdict, v.score, v.before_frame, v.after_frame, v.evidence_path, codec.dumps(v.details)),
                "verification_id",
            )
            self._x("UPDATE verification_queue SET state = 'done' WHERE case_id = ? AND flight_id = ?", (v.case_id, v.flight_id))
            return dataclasses.replace(v, verification_id=new_id)

    def verifications(self, case_id: int | None = None, flight_id: str | None = None) -> list[VerificationRecord]:
        where, params = [], []
        if case_id is not None:
            where.append("case_id = ?")
            params.append(case_id)
        if flight_id is not None:
            where.append("flight_id = ?")
            params.append(flight_id)
        sql = "SELECT * FROM verifications" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY verification_id"
        return [
            VerificationRecord(
                case_id=r["case_id"],
                flight_id=r["flight_id"],
                at=codec.parse_ts(r["at"]),  # type: ignore[arg-type]
                verdict=r["verdict"],
                score=r["score"],
                before_frame=r["before_frame"],
                after_frame=r["after_frame"],
                evidence_path=r["evidence_path"],
                details=codec.loads_plain(r["details"]),
                verification_id=r["verification_id"],
            )
            for r in self._x(sql, params)
        ]

    # -- whole-database views (tests, "identical database" checks) ------------------------------
    def dump(self, *, volatile: bool = False) -> dict[str, list[tuple]]:
        """Every table's rows, sorted; without ``volatile`` the wall-clock columns are left out, so two
        databases built from the same inputs compare equal."""
        skip = set() if volatile else {"created_at", "finished_at", "done_at", "applied_at", "queued_at"}
        out = {}
        for (table,) in self._x(self.dialect.tables_sql()).fetchall():
            cols = [c for c in self.dialect.columns(self.conn, table) if c not in skip]
            rows = self._x(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
            out[table] = sorted((tuple(r) for r in rows), key=repr)
        return out


def open_store(url: str | Path | None = None, *, create: bool = True, busy_timeout_s: float | None = None) -> Store:
    """Open (creating and migrating as needed) the database at ``url``: a file path, ``sqlite:///path``,
    ``:memory:`` / ``sqlite://``. ``postgresql://...`` raises StoreError (backend not installed).
    With ``create=False`` a missing SQLite file is a StoreError instead of a new empty database.
    ``busy_timeout_s``: how long to wait for another process's write lock (None = the dialect's 60 s).
    A locked, corrupt or read-only database is a StoreError of one line saying which."""
    text = "patrol.db" if url is None else str(url)
    target = parse_url(text)
    if not create and target.kind == "sqlite" and target.location != ":memory:" and not Path(target.location).exists():
        raise StoreError(f"{target.location}: no such database (run `patrol process` first, or pass --db)")
    dialect = dialect_for(target, busy_timeout_s)
    conn = dialect.connect()
    store = Store(conn, dialect, text)
    try:
        store.migrate()
    except BaseException:
        conn.close()
        raise
    return store
