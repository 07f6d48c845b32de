"""Repository functions for citizen/hotline reports and revisit routes (migration 0002).

Plain functions over a ``Store`` (kept out of repo.py, which holds the flight pipeline's tables).
A case without a report that opened it comes from a drone flight (source ``drone``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from patrol.store import codec

DRONE_SOURCE = "drone"
REPORT_SOURCES = ("citizen", "hotline")


@dataclass(frozen=True)
class CaseReport:
    """One citizen or hotline report, attached to the case it opened or re-observed."""

    case_id: int
    opened_case: bool
    source: str
    reported_at: datetime
    category: str
    lat_deg: float
    lon_deg: float
    flight_id: str  # the report's own record in ``flights`` (cases and events name a flight)
    photo: str | None = None
    photo_sha256: str | None = None
    note: str = ""
    report_id: int = 0

    def __post_init__(self) -> None:
        if self.source not in REPORT_SOURCES:
            raise ValueError(f"source must be one of {', '.join(REPORT_SOURCES)}, got {self.source!r}")


@dataclass(frozen=True)
class RouteWaypointRecord:
    index: int
    lat_deg: float
    lon_deg: float
    height_m: float
    gimbal_pitch_deg: float
    case_ids: tuple[int, ...]


@dataclass(frozen=True)
class RouteRecord:
    name: str
    part: int
    created_at: datetime
    drone: str
    height_m: float
    length_m: float
    naive_length_m: float
    waypoints: tuple[RouteWaypointRecord, ...]
    path: str | None = None
    route_id: int = 0

    @property
    def case_ids(self) -> tuple[int, ...]:
        return tuple(sorted(c for w in self.waypoints for c in w.case_ids))


def save_report(store: Any, r: CaseReport) -> CaseReport:
    new_id = store._insert(
        "INSERT INTO reports (case_id, opened_case, source, reported_at, category, lat_deg, lon_deg, photo, photo_sha256, note, "
        "flight_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (r.case_id, int(r.opened_case), r.source, codec.ts(r.reported_at), r.category, r.lat_deg, r.lon_deg, r.photo,
         r.photo_sha256, r.note, r.flight_id),
        "report_id",
    )
    return replace(r, report_id=new_id)


def _report(row: Any) -> CaseReport:
    return CaseReport(
        case_id=row["case_id"], opened_case=bool(row["opened_case"]), source=row["source"],
        reported_at=codec.parse_ts(row["reported_at"]),  # type: ignore[arg-type]
        category=row["category"], lat_deg=row["lat_deg"], lon_deg=row["lon_deg"], flight_id=row["flight_id"],
        photo=row["photo"], photo_sha256=row["photo_sha256"], note=row["note"], report_id=row["report_id"],
    )


def reports_of_case(store: Any, case_id: int) -> list[CaseReport]:
    return [_report(r) for r in store._x("SELECT * FROM reports WHERE case_id = ? ORDER BY report_id", (case_id,))]


def report_with_photo(store: Any, sha256: str) -> CaseReport | None:
    """The report made with this exact photo already (so the same photo never reports twice)."""
    row = store._x("SELECT * FROM reports WHERE photo_sha256 = ? ORDER BY report_id LIMIT 1", (sha256,)).fetchone()
    return None if row is None else _report(row)


def case_sources(store: Any, case_ids: Iterable[int] | None = None) -> dict[int, str]:
    """case id -> ``citizen`` | ``hotline`` | ``drone`` (every case asked for, or every case)."""
    rows = store._x("SELECT case_id, source FROM reports WHERE opened_case = 1").fetchall()
    opened = {int(r[0]): r[1] for r in rows}
    ids = [int(r[0]) for r in store._x("SELECT case_id FROM cases ORDER BY case_id")] if case_ids is None else list(case_ids)
    return {i: opened.get(i, DRONE_SOURCE) for i in ids}


def save_route(store: Any, route: RouteRecord) -> RouteRecord:
    """Insert a planned route and its case -> waypoint links, in one transaction."""
    wps = [[w.index, w.lat_deg, w.lon_deg, w.height_m, w.gimbal_pitch_deg, list(w.case_ids)] for w in route.waypoints]
    with store.transaction():
        rid = store._insert(
            "INSERT INTO routes (name, part, created_at, path, drone, height_m, length_m, naive_length_m, waypoints) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (route.name, route.part, codec.ts(route.created_at), route.path, route.drone, route.height_m, route.length_m,
             route.naive_length_m, codec.dumps(wps)),
            "route_id",
        )
        store._many("INSERT INTO route_cases (route_id, case_id, waypoint_index) VALUES (?, ?, ?)",
                    [(rid, c, w.index) for w in route.waypoints for c in w.case_ids])
    return replace(route, route_id=rid)


def _route(row: Any) -> RouteRecord:
    wps = tuple(RouteWaypointRecord(int(w[0]), w[1], w[2], w[3], w[4], tuple(int(c) for c in w[5]))
                for w in codec.loads_plain(row["waypoints"]))
    return RouteRecord(row["name"], row["part"], codec.parse_ts(row["created_at"]), row["drone"], row["height_m"],  # type: ignore[arg-type]
                       row["length_m"], row["naive_length_m"], wps, row["path"], row["route_id"])


def list_routes(store: Any, route_ids: Sequence[int] | None = None) -> list[RouteRecord]:
    rows = store._x("SELECT * FROM routes ORDER BY route_id").fetchall()
    out = [_route(r) for r in rows]
    return out if route_ids is None else [r for r in out if r.route_id in set(route_ids)]


def link_flight_route(store: Any, flight_id: str, route_id: int, waypoints_seen: int) -> None:
    store._x(
        "INSERT INTO flight_routes (flight_id, route_id, waypoints_seen) VALUES (?, ?, ?) "
        "ON CONFLICT (flight_id, route_id) DO UPDATE SET waypoints_seen = excluded.waypoints_seen",
        (flight_id, route_id, waypoints_seen),
    )


def routes_of_flight(store: Any, flight_id: str) -> list[tuple[RouteRecord, int]]:
    """The routes this flight flew, with how many of their waypoints it photographed."""
    rows = store._x("SELECT route_id, waypoints_seen FROM flight_routes WHERE flight_id = ? ORDER BY route_id", (flight_id,)).fetchall()
    seen = {int(r[0]): int(r[1]) for r in rows}
    return [(r, seen[r.route_id]) for r in list_routes(store, list(seen))]


def cases_seen_on_flight(store: Any, flight_id: str) -> set[int]:
    """The cases a finding of this flight was linked to (opened or re-observed)."""
    rows = store._x("SELECT DISTINCT case_id FROM findings WHERE flight_id = ? AND case_id IS NOT NULL", (flight_id,)).fetchall()
    return {int(r[0]) for r in rows}
