"""Match a flight's findings to known cases, and find the cases the flight covered but did not see.

Pure: findings, cases and frame footprints in, a MatchResult out. Distances are in metres in a local
east-north plane around the flight (an ellipsoidal equirectangular projection at the findings'
centroid: at a 5 m radius it agrees with patrol.geo.crs.LocalFrame to millimetres, see _project).

Rules:
- only findings with a category take part; a finding joins the nearest matchable case (see
  MATCHABLE_STATUSES) of the same category within ``radius_m``, one finding per case per flight
  (nearest pairs first), otherwise it opens a new case;
- an active case that no finding matched, whose spot lies inside a frame footprint of this flight at
  the ground resolution its class needs (``max_verify_gsd_m``: one limit, or one per class, see
  ``VerifySettings.max_gsd_m``), is queued for before/after verification (with the finest frame);
  one whose spot a frame shows only coarser (a ``Coverage`` with ``class_name="*"``) is queued too,
  so that verification records why it could not judge it (the case stays open and says so);
- every other case is untouched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely import STRtree

from patrol.cases.model import ACTIVE_STATUSES, MATCHABLE_STATUSES, Case, CaseSpot

_EARTH_R_M = 6_371_008.8


@dataclass(frozen=True)
class Coverage:
    """One frame's ground footprint: a shapely Polygon in (lon_deg, lat_deg) and its GSD in m/px.

    ``gsd_m`` should be the GSD over the polygon (for an oblique frame pass the part of the footprint
    at usable GSD, or its worst GSD); a frame coarser than the threshold never queues verification.
    """

    frame: str
    polygon_wgs84: Any
    gsd_m: float
    # None: usable for every class; a class name: the part of the frame where that class's objects
    # are seen at the resolution they need; "*": the whole footprint, at whatever resolution
    class_name: str | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.gsd_m) and self.gsd_m > 0):
            raise ValueError(f"gsd_m must be > 0, got {self.gsd_m}")


@dataclass(frozen=True)
class Match:
    """``case_id`` None: the finding opens a new case; otherwise it re-observes that case."""

    finding: Any
    case_id: int | None
    distance_m: float | None = None


@dataclass(frozen=True)
class VerifyRequest:
    """An active case this flight covered well but did not see: compare before/after at ``frame``."""

    case_id: int
    frame: str
    gsd_m: float


@dataclass(frozen=True)
class MatchResult:
    matches: tuple[Match, ...]  # one per finding with a category, in input order
    not_violations: int  # findings without a category (counted, never cases)
    to_verify: tuple[VerifyRequest, ...] = field(default=())  # sorted by case_id

    @property
    def new(self) -> list[Match]:
        return [m for m in self.matches if m.case_id is None]

    @property
    def matched(self) -> list[Match]:
        return [m for m in self.matches if m.case_id is not None]


_WGS84_A_M = 6_378_137.0
_WGS84_E2 = 6.69437999014e-3


def _project(lat: np.ndarray, lon: np.ndarray, origin: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) -> (east_m, north_m) on the WGS84 ellipsoid's local tangent plane at ``origin``,
    using the meridional and prime-vertical radii of curvature there (equirectangular).

    Why not LocalFrame (pyproj aeqd): building one costs ~0.1 s here, more than the whole match, and
    for two points 5 m apart anywhere within 20 km of the origin the two agree to a few millimetres.
    """
    phi0 = math.radians(origin[0])
    w = 1.0 - _WGS84_E2 * math.sin(phi0) ** 2
    m_r = _WGS84_A_M * (1.0 - _WGS84_E2) / w**1.5  # meridional radius of curvature
    n_r = _WGS84_A_M / math.sqrt(w)  # prime vertical radius of curvature
    dlon = (np.asarray(lon, dtype=float) - origin[1] + 180.0) % 360.0 - 180.0  # across the antimeridian
    east = np.radians(dlon) * n_r * math.cos(phi0)
    north = np.radians(np.asarray(lat, dtype=float) - origin[0]) * m_r
    return east, north


def match_findings(
    findings: Sequence[Any],
    cases: Sequence[Case | CaseSpot],
    *,
    radius_m: float,
    coverage: Sequence[Coverage] = (),
    max_verify_gsd_m: float | Mapping[str, float] = 0.05,
) -> MatchResult:
    """Match ``findings`` (Finding records) to ``cases``; see the module docstring for the rules.

    ``cases`` (Case or the lighter CaseSpot) may hold cases of any status; only MATCHABLE_STATUSES take findings and only
    ACTIVE_STATUSES are queued for verification. Deterministic: ties break by finding order, then
    case_id. Raises ValueError for a negative radius.
    """
    if not (radius_m >= 0):
        raise ValueError(f"radius_m must be >= 0, got {radius_m}")
    viol = [f for f in findings if getattr(f, "category", None) is not None]
    not_violations = len(findings) - len(viol)
    cand = [c for c in cases if c.status in MATCHABLE_STATUSES]

    assigned: dict[int, tuple[int, float]] = {}  # finding index -> (case index in cand, distance)
    if viol and cand:
        f_lat = np.fromiter((f.lat_deg for f in viol), float, len(viol))
        f_lon = np.fromiter((f.lon_deg for f in viol), float, len(viol))
        c_lat = np.fromiter((c.lat_deg for c in cand), float, len(cand))
        c_lon = np.fromiter((c.lon_deg for c in cand), float, len(cand))
        origin = (float(f_lat.mean()), float(f_lon.mean()))
        # Cheap prefilter in degrees so that only nearby cases are projected (100k cases, 1 city).
        pad_lat = math.degrees(radius_m / _EARTH_R_M) * 2 + 1e-6
        pad_lon = pad_lat / max(math.cos(math.radians(origin[0])), 1e-6)
        near = (
            (c_lat >= f_lat.min() - pad_lat)
            & (c_lat <= f_lat.max() + pad_lat)
            & (c_lon >= f_lon.min() - pad_lon)
            & (c_lon <= f_lon.max() + pad_lon)
        )
        near_idx = np.flatnonzero(near)
        if near_idx.size:
            fe, fn = _project(f_lat, f_lon, origin)
            ce, cn = _project(c_lat[near_idx], c_lon[near_idx], origin)
            tree = STRtree(shapely.points(ce, cn))
            fi, ti = tree.query(shapely.points(fe, fn), predicate="dwithin", distance=radius_m)
            if fi.size:
                ci = near_idx[ti]
                cats_f = np.array([viol[i].category for i in fi], dtype=object)
                cats_c = np.array([cand[i].category for i in ci], dtype=object)
                keep = cats_f == cats_c
                fi, ti, ci = fi[keep], ti[keep], ci[keep]
                d = np.hypot(fe[fi] - ce[ti], fn[fi] - cn[ti])
                case_ids = np.fromiter((cand[i].case_id for i in ci), np.int64, ci.size)
                order = np.lexsort((case_ids, fi, d))  # nearest first; ties: finding order, case id
                taken: set[int] = set()
                for k in order:
                    f_i, c_i = int(fi[k]), int(ci[k])
                    if f_i in assigned or c_i in taken:
                        continue
                    assigned[f_i] = (c_i, float(d[k]))
                    taken.add(c_i)

    matches = tuple(
        Match(f, cand[assigned[i][0]].case_id, assigned[i][1]) if i in assigned else Match(f, None, None)
        for i, f in enumerate(viol)
    )
    seen_ids = {m.case_id for m in matches if m.case_id is not None}
    to_verify = covered_unseen(
        [c for c in cases if c.status in ACTIVE_STATUSES and c.case_id not in seen_ids],
        coverage,
        max_verify_gsd_m=max_verify_gsd_m,
    )
    return MatchResult(matches=matches, not_violations=not_violations, to_verify=to_verify)


def _limit(limits: float | Mapping[str, float], class_name: str) -> float:
    if isinstance(limits, Mapping):
        return float(limits.get(class_name, 0.05))
    return float(limits)


def covered_unseen(
    cases: Sequence[Case | CaseSpot], coverage: Sequence[Coverage], *, max_verify_gsd_m: float | Mapping[str, float]
) -> tuple[VerifyRequest, ...]:
    """The ``cases`` whose spot lies inside a footprint usable for their class (``class_name`` None
    or theirs, ``gsd_m`` at most their class's limit), each with the finest such frame (ties: frame
    name); failing that, inside a ``"*"`` footprint (seen, but maybe too coarse: verification says
    so). Cases outside every footprint are left out."""
    usable = [c for c in coverage if not c.polygon_wgs84.is_empty]
    if not cases or not usable:
        return ()
    polys = [c.polygon_wgs84 for c in usable]
    minx, miny, maxx, maxy = shapely.total_bounds(polys)
    lat = np.fromiter((c.lat_deg for c in cases), float, len(cases))
    lon = np.fromiter((c.lon_deg for c in cases), float, len(cases))
    inside = np.flatnonzero((lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy))
    if inside.size == 0:
        return ()
    tree = STRtree(polys)
    pi, ti = tree.query(shapely.points(lon[inside], lat[inside]), predicate="intersects")
    best: dict[int, tuple[int, float, str]] = {}  # case -> (0 usable / 1 seen only, gsd, frame)
    for p, t in zip(pi.tolist(), ti.tolist()):
        cov = usable[t]
        case = cases[int(inside[p])]
        cls = getattr(case, "class_name", "") or ""
        if cov.class_name == "*":
            rank = 1
        elif (cov.class_name is None or cov.class_name == cls) and cov.gsd_m <= _limit(max_verify_gsd_m, cls):
            rank = 0
        else:
            continue
        cur = best.get(case.case_id)
        if cur is None or (rank, cov.gsd_m, cov.frame) < cur:
            best[case.case_id] = (rank, cov.gsd_m, cov.frame)
    return tuple(VerifyRequest(cid, frame, gsd) for cid, (_, gsd, frame) in sorted(best.items()))
