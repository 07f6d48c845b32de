"""The edges of revisit routes: waiting cases from the store -> a plan -> route files (and records);
later, which route a processed flight flew and what it found at each case.

Waiting for a check: every case ``dispatched``, ``still_present`` or ``reopened`` (a unit was told,
or the problem was seen again: the next flight should look), every case with a before/after check
still pending, and every active case a citizen or the hotline reported (the drone confirms it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from patrol.cases.model import Case, CaseStatus, now_utc
from patrol.errors import ConfigError, InputError
from patrol.route.drones import DroneModel, drone_model
from patrol.route.plan import CameraGeometry, RouteError, RoutePlan, Spot, plan_routes
from patrol.store import revisits

WAITING_STATUSES = frozenset({CaseStatus.DISPATCHED, CaseStatus.STILL_PRESENT, CaseStatus.REOPENED})
#: a frame within this horizontal distance of a waypoint photographed it (GNSS error + hover drift)
WAYPOINT_TOLERANCE_M = 15.0


class RouteFormat(StrEnum):
    KMZ = "kmz"
    KML = "kml"
    GEOJSON = "geojson"


@dataclass(frozen=True)
class RouteRequest:
    """What `patrol route` asks for. Heights in metres above the take-off point."""

    out: Path
    fmt: RouteFormat = RouteFormat.KMZ
    drone: str = "m3e"
    height_m: float = 60.0
    max_waypoints: int = 200
    max_length_m: float = 8000.0
    takeoff_latlon: tuple[float, float] | None = None
    unit: str | None = None
    category: str | None = None
    overdue: bool = False
    speed_m_s: float = 8.0


@dataclass(frozen=True)
class RouteResult:
    plan: RoutePlan
    files: tuple[Path, ...]
    route_ids: tuple[int, ...]
    drone: DroneModel


def category_max_gsd_m(category: str, settings: Any) -> float:
    """The coarsest GSD (m/px) at which a photo can check a case of ``category``: for every detector
    class the rules map to this category, the finer of its verification gate (``[verify]
    object_size_m / min_object_px``) and the scale it is detected at (``[detect] class_gsd_m``), so
    the revisit photo can both re-detect and verify it. A category no rule produces (a citizen's
    free-form one) gets the verification default, 5 cm/px."""
    limits = [
        min(settings.verify.max_gsd_m(cls), float(settings.detect.class_gsd_m.get(cls, float("inf"))))
        for cls, kinds in settings.rules.rules.items()
        if category in kinds.values()
    ]
    return min(limits) if limits else settings.verify.max_gsd_m("")


def waiting_cases(store: Any, settings: Any, *, unit: str | None = None, category: str | None = None,
                  overdue: bool = False, now: datetime | None = None) -> list[Case]:
    """The cases a revisit flight should look at (see the module docstring), by case id."""
    from patrol.cases.model import ACTIVE_STATUSES

    now = now or now_utc()
    cats = [category] if category else None
    active = store.list_cases(statuses=ACTIVE_STATUSES, categories=cats, unit=unit)
    pending = {q.case_id for q in store.pending_verifications()}
    reported = {cid for cid, src in revisits.case_sources(store, [c.case_id for c in active]).items() if src != revisits.DRONE_SOURCE}
    out = [c for c in active if c.status in WAITING_STATUSES or c.case_id in pending or c.case_id in reported]
    if overdue:
        out = [c for c in out if c.is_overdue(now, settings.cases.overdue_days)]
    return out


def _files_for(out: Path, fmt: RouteFormat, n: int) -> list[Path]:
    suffix = {RouteFormat.KMZ: ".kmz", RouteFormat.KML: ".kml", RouteFormat.GEOJSON: ".geojson"}[fmt]
    base = out if out.suffix.lower() == suffix else out.with_suffix(suffix)
    if n == 1:
        return [base]
    return [base.with_name(f"{base.stem}-{i}{suffix}") for i in range(1, n + 1)]


def _render(route: Any, name: str, fmt: RouteFormat, drone: DroneModel, speed_m_s: float, at: datetime) -> bytes:
    if fmt == RouteFormat.KMZ:
        from patrol.route.wpml import MissionOptions, kmz_bytes

        return kmz_bytes(route, drone, MissionOptions(speed_m_s=speed_m_s, created_at=at))
    from patrol.route.formats import route_geojson, route_kml

    if fmt == RouteFormat.KML:
        return route_kml(route, name)
    return route_geojson(route, name).encode("utf-8")


def plan_revisit(store: Any, settings: Any, req: RouteRequest, *, now: datetime | None = None) -> RouteResult:
    """Plan the revisit of every waiting case (filtered by ``req``), write one file per route and
    record the routes in the store. RouteError when no case waits (no file is written) or a spot is
    out of reach; ConfigError for bad options; InputError when a file cannot be written."""
    drone = drone_model(req.drone)
    if not (0 < req.speed_m_s <= drone.max_speed_m_s):
        raise ConfigError(f"--speed: must be within (0, {drone.max_speed_m_s:g}] m/s for the {drone.name}, got {req.speed_m_s:g}")
    if not (1 <= req.max_waypoints <= 65535):
        raise ConfigError(f"--max-waypoints: must be within 1..65535, got {req.max_waypoints}")
    now = now or now_utc()
    cases = waiting_cases(store, settings, unit=req.unit, category=req.category, overdue=req.overdue, now=now)
    if not cases:
        what = ", ".join(x for x in (f"unit {req.unit}" if req.unit else "", f"category {req.category}" if req.category else "",
                                     "overdue" if req.overdue else "") if x)
        raise RouteError("no cases wait for a check" + (f" ({what})" if what else "") + ": nothing to fly, no file written")
    sources = revisits.case_sources(store, [c.case_id for c in cases])
    spots = [Spot(c.case_id, c.category, c.lat_deg, c.lon_deg, category_max_gsd_m(c.category, settings), sources[c.case_id])
             for c in cases]
    cam = CameraGeometry(drone.focal_px, drone.image_wh)
    plan = plan_routes(spots, cam, height_m=req.height_m, max_length_m=req.max_length_m, max_waypoints=req.max_waypoints,
                       takeoff_latlon=req.takeoff_latlon, drone=drone.key)
    files = _files_for(req.out, req.fmt, len(plan.routes))
    ids = []
    for route, path in zip(plan.routes, files):
        data = _render(route, path.stem, req.fmt, drone, req.speed_m_s, now)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as e:
            raise InputError(path, f"cannot write the route: {e.strerror or e}") from e
        rec = revisits.RouteRecord(
            name=path.stem, part=route.part, created_at=now, drone=drone.key, height_m=req.height_m, length_m=route.length_m,
            naive_length_m=route.naive_length_m, path=str(path.resolve()),
            waypoints=tuple(revisits.RouteWaypointRecord(w.index, w.lat_deg, w.lon_deg, w.height_m, w.gimbal_pitch_deg, w.case_ids)
                            for w in route.waypoints),
        )
        ids.append(revisits.save_route(store, rec).route_id)
    return RouteResult(plan, tuple(files), tuple(ids), drone)


# --- after the flight ----------------------------------------------------------------------------------


def _dist_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    k = math.cos(math.radians((lat1 + lat2) / 2))
    return 111_195.0 * math.hypot(lat2 - lat1, (lon2 - lon1) * k)


def link_flight(store: Any, flight_id: str, *, tolerance_m: float = WAYPOINT_TOLERANCE_M) -> list[int]:
    """Record which planned routes this flight flew: a route whose waypoints, at least half of
    them, have a frame of the flight within ``tolerance_m``. Returns their ids."""
    frames = [(f.meta.lat_deg, f.meta.lon_deg) for f in store.load_frames(flight_id)
              if f.meta is not None and getattr(f.meta, "lat_deg", None) is not None]
    if not frames:
        return []
    linked = []
    for r in revisits.list_routes(store):
        seen = sum(1 for w in r.waypoints if any(_dist_m(w.lat_deg, w.lon_deg, la, lo) <= tolerance_m for la, lo in frames))
        if r.waypoints and seen * 2 >= len(r.waypoints):
            revisits.link_flight_route(store, flight_id, r.route_id, seen)
            linked.append(r.route_id)
    return linked


OUTCOME_WORDS = {"fixed": "fixed", "still_present": "still present", "not_found": "not found", "inconclusive": "inconclusive"}
OUTCOME_ORDER = ("fixed", "still present", "not found", "inconclusive", "not seen")


@dataclass(frozen=True)
class RevisitOutcome:
    route_id: int
    route_name: str
    case_outcomes: tuple[tuple[int, str], ...]  # (case id, one of OUTCOME_ORDER)

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in OUTCOME_ORDER}
        for _, o in self.case_outcomes:
            out[o] += 1
        return out

    def line(self) -> str:
        c = self.counts()
        parts = ", ".join(f"{n} {k}" for k, n in c.items() if n or k in ("fixed", "still present", "not seen"))
        return f"revisit {self.route_name} (route {self.route_id}) for {len(self.case_outcomes)} cases: {parts}"


def revisit_outcomes(store: Any, flight_id: str) -> list[RevisitOutcome]:
    """For each route this flight flew: what it found at each of the route's cases (the flight's
    verification verdict; a finding that re-observed the case = still present; else not seen)."""
    verdicts = {v.case_id: v.verdict for v in store.verifications(flight_id=flight_id)}
    reobserved = revisits.cases_seen_on_flight(store, flight_id)
    out = []
    for route, _ in revisits.routes_of_flight(store, flight_id):
        res = []
        for cid in route.case_ids:
            v = verdicts.get(cid)
            if v in OUTCOME_WORDS and not (v == "inconclusive" and cid in reobserved):
                res.append((cid, OUTCOME_WORDS[v]))
            elif cid in reobserved:
                res.append((cid, "still present"))
            else:
                res.append((cid, "not seen"))
        out.append(RevisitOutcome(route.route_id, route.name, tuple(res)))
    return out

