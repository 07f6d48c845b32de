"""Plan a revisit flight, pure: case spots in, waypoints ordered as a short tour out.

- ``cluster_spots``: one waypoint per spot or per group of nearby spots that ONE nadir photo shows at
  the ground sample distance each spot's category needs. A nadir pinhole photo over flat ground has
  the same GSD everywhere (``height_m / focal_px``), so a waypoint's height is the lowest height any
  of its spots needs (never above ``--height-m``) and every spot must lie within ``cover_frac`` of
  half the photo's shorter ground side from the nadir point: inside the photo whatever the heading.
- ``tour``: nearest neighbour, then 2-opt, on the closed loop take-off -> waypoints -> take-off
  (without a take-off point the loop closes on its first waypoint); lengths are horizontal metres.
- ``split_tour``: cut the tour into routes that each fit ``max_length_m`` (one battery) and
  ``max_waypoints``; a spot out of reach from the take-off even alone is a RouteError.

Distances are metres in a local east-north plane (``patrol.geo.crs.LocalFrame``) at the spots' centroid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import STRtree

from patrol.errors import PatrolError

#: Spots must lie within this share of half the photo's shorter ground side (margin for GPS and
#: heading error, and the verification's 5% frame-edge margin).
COVER_FRAC = 0.8
NADIR_PITCH_DEG = -90.0


class RouteError(PatrolError):
    """A route cannot be planned (no cases, a spot out of reach, impossible GSD)."""


@dataclass(frozen=True)
class Spot:
    """A case's spot to photograph: ``max_gsd_m`` is the coarsest GSD its category can be checked at."""

    case_id: int
    category: str
    lat_deg: float
    lon_deg: float
    max_gsd_m: float
    source: str = "drone"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_gsd_m) and self.max_gsd_m > 0):
            raise ValueError(f"case {self.case_id}: max_gsd_m must be > 0, got {self.max_gsd_m}")
        if not (-90 <= self.lat_deg <= 90 and -180 <= self.lon_deg <= 180):
            raise ValueError(f"case {self.case_id}: bad position {self.lat_deg}, {self.lon_deg}")


@dataclass(frozen=True)
class CameraGeometry:
    """The photo the waypoint takes: focal length and size in pixels (nadir)."""

    focal_px: float
    image_wh: tuple[int, int]

    def gsd_m(self, height_m: float) -> float:
        return height_m / self.focal_px

    def height_for_gsd(self, gsd_m: float) -> float:
        return gsd_m * self.focal_px

    def cover_radius_m(self, height_m: float, cover_frac: float = COVER_FRAC) -> float:
        """Radius around the nadir point inside the photo at any heading (with the margin)."""
        return cover_frac * 0.5 * min(self.image_wh) * height_m / self.focal_px


@dataclass(frozen=True)
class Waypoint:
    """A photo position: heights relative to the take-off point, pitch -90 = nadir."""

    index: int
    lat_deg: float
    lon_deg: float
    height_m: float
    gimbal_pitch_deg: float
    case_ids: tuple[int, ...]
    categories: tuple[str, ...]
    gsd_m: float  # GSD of the photo at the spots
    max_offset_m: float  # farthest spot from the nadir point


@dataclass(frozen=True)
class Route:
    """One flight: waypoints in tour order (indices 0..n-1), closed-loop lengths in metres."""

    part: int  # 1-based, among the routes of one plan
    waypoints: tuple[Waypoint, ...]
    length_m: float
    naive_length_m: float  # the same waypoints in case-id order
    takeoff_latlon: tuple[float, float] | None = None

    @property
    def case_ids(self) -> tuple[int, ...]:
        return tuple(sorted(c for w in self.waypoints for c in w.case_ids))


@dataclass(frozen=True)
class RoutePlan:
    routes: tuple[Route, ...]
    height_m: float
    drone: str

    @property
    def length_m(self) -> float:
        return sum(r.length_m for r in self.routes)

    @property
    def naive_length_m(self) -> float:
        return sum(r.naive_length_m for r in self.routes)

    @property
    def case_ids(self) -> tuple[int, ...]:
        return tuple(sorted(c for r in self.routes for c in r.case_ids))


@dataclass(frozen=True)
class _Cluster:
    members: tuple[int, ...]  # indices into the spots
    centre_en: tuple[float, float]
    height_m: float
    max_offset_m: float


def _spot_height(spot: Spot, cam: CameraGeometry, height_m: float, min_height_m: float) -> float:
    h = min(height_m, cam.height_for_gsd(spot.max_gsd_m))
    if h < min_height_m:
        raise RouteError(
            f"case {spot.case_id} ({spot.category}) needs {spot.max_gsd_m * 100:.1f} cm/px: this camera gets it only below "
            f"{h:.0f} m, under the minimum height {min_height_m:g} m (choose a drone with a finer camera)"
        )
    return h


def cluster_spots(
    spots: Sequence[Spot], east_m: np.ndarray, north_m: np.ndarray, cam: CameraGeometry, *, height_m: float,
    min_height_m: float = 20.0, cover_frac: float = COVER_FRAC,
) -> list[_Cluster]:
    """Group spots (positions in metres) into photo positions; see the module docstring.

    Greedy and deterministic: seeds are the spots with the most neighbours within their own cover
    radius (ties: case id); a neighbour joins when every member still lies within the group's cover
    radius (at the group's lowest height) of the members' centroid, which becomes the waypoint."""
    n = len(spots)
    if n == 0:
        return []
    heights = np.array([_spot_height(s, cam, height_m, min_height_m) for s in spots])
    radii = np.array([cam.cover_radius_m(h, cover_frac) for h in heights])
    pts = shapely.points(east_m, north_m)
    tree = STRtree(pts)
    near = [tree.query(pts[i], predicate="dwithin", distance=2 * radii[i]) for i in range(n)]
    counts = [int(np.sum(np.hypot(east_m[nb] - east_m[i], north_m[nb] - north_m[i]) <= radii[i])) for i, nb in enumerate(near)]
    order = sorted(range(n), key=lambda i: (-counts[i], spots[i].case_id))
    taken = np.zeros(n, dtype=bool)
    out: list[_Cluster] = []
    for seed in order:
        if taken[seed]:
            continue
        members = [seed]
        cand = [int(j) for j in near[seed] if not taken[j] and j != seed]
        cand.sort(key=lambda j: (math.hypot(east_m[j] - east_m[seed], north_m[j] - north_m[seed]), spots[j].case_id))
        for j in cand:
            trial = members + [j]
            ce, cn = float(np.mean(east_m[trial])), float(np.mean(north_m[trial]))
            r = float(radii[trial].min())
            if np.all(np.hypot(east_m[trial] - ce, north_m[trial] - cn) <= r):
                members = trial
        taken[members] = True
        ce, cn = float(np.mean(east_m[members])), float(np.mean(north_m[members]))
        off = float(np.max(np.hypot(east_m[members] - ce, north_m[members] - cn)))
        out.append(_Cluster(tuple(sorted(members, key=lambda i: spots[i].case_id)), (ce, cn), float(heights[members].min()), off))
    return out


def loop_length_m(xy: np.ndarray, order: Sequence[int], base: tuple[float, float] | None = None) -> float:
    """Closed-loop length: base -> points in ``order`` -> base (no base: back to the first point)."""
    if len(order) == 0:
        return 0.0
    p = xy[list(order)]
    if base is not None:
        p = np.vstack([np.asarray(base, dtype=float)[None, :], p])
    if len(p) < 2:
        return 0.0
    seg = np.diff(np.vstack([p, p[:1]]), axis=0)
    return float(np.hypot(seg[:, 0], seg[:, 1]).sum())


def nearest_neighbour(xy: np.ndarray, base: tuple[float, float] | None = None) -> list[int]:
    """Visit order from ``base`` (or from point 0), always to the nearest unvisited point."""
    n = len(xy)
    if n == 0:
        return []
    left = set(range(n))
    cur = np.asarray(base, dtype=float) if base is not None else xy[0]
    order: list[int] = []
    if base is None:
        order.append(0)
        left.discard(0)
    while left:
        idx = sorted(left)
        d = np.hypot(xy[idx, 0] - cur[0], xy[idx, 1] - cur[1])
        nxt = idx[int(np.argmin(d))]
        order.append(nxt)
        left.discard(nxt)
        cur = xy[nxt]
    return order


def two_opt(xy: np.ndarray, order: Sequence[int], base: tuple[float, float] | None = None, max_passes: int = 50) -> list[int]:
    """Improve a closed tour by reversing segments while that shortens it (never lengthens it).

    With ``base`` the loop runs through the base, which stays fixed; without one point ``order[0]``
    stays first (a loop's length does not depend on where it starts)."""
    if base is not None:
        pts = np.vstack([np.asarray(base, dtype=float)[None, :], xy[list(order)]])
        ids = [-1, *order]
    else:
        pts = xy[list(order)]
        ids = list(order)
    n = len(ids)
    if n < 4:
        return list(order)
    route = list(range(n))

    def d(a: int, b: int) -> float:
        return float(math.hypot(pts[a, 0] - pts[b, 0], pts[a, 1] - pts[b, 1]))

    for _ in range(max_passes):
        improved = False
        for i in range(1, n - 1):
            for k in range(i + 1, n):
                a, b = route[i - 1], route[i]
                c, e = route[k], route[(k + 1) % n]
                if d(a, c) + d(b, e) < d(a, b) + d(c, e) - 1e-9:
                    route[i : k + 1] = reversed(route[i : k + 1])
                    improved = True
        if not improved:
            break
    out = [ids[j] for j in route]
    return [j for j in out if j != -1]


def tour(xy: np.ndarray, base: tuple[float, float] | None = None) -> list[int]:
    """Nearest neighbour + 2-opt order of the points (closed loop, through ``base`` when given)."""
    return two_opt(xy, nearest_neighbour(xy, base), base)


def split_tour(
    xy: np.ndarray, order: Sequence[int], *, max_length_m: float, max_waypoints: int,
    base: tuple[float, float] | None = None, labels: Sequence[str] = (),
) -> list[list[int]]:
    """Cut a tour into consecutive pieces whose closed loop (from ``base``, or from the piece's first
    point) is at most ``max_length_m`` and that have at most ``max_waypoints`` points.

    RouteError when one point alone is out of reach from ``base`` (``labels`` name the points)."""
    if max_length_m <= 0 or max_waypoints < 1:
        raise RouteError(f"max length ({max_length_m} m) and max waypoints ({max_waypoints}) must be positive")
    pieces: list[list[int]] = []
    cur: list[int] = []
    for p in order:
        alone = loop_length_m(xy, [p], base)
        if alone > max_length_m:
            what = labels[p] if p < len(labels) else f"waypoint {p}"
            raise RouteError(
                f"{what} is {alone / 2:.0f} m from the take-off point: out of reach of a {max_length_m:.0f} m route "
                "(raise --max-length-m or choose a take-off nearer to it)"
            )
        if cur and (len(cur) >= max_waypoints or loop_length_m(xy, [*cur, p], base) > max_length_m):
            pieces.append(cur)
            cur = []
        cur.append(p)
    if cur:
        pieces.append(cur)
    return pieces


def plan_routes(
    spots: Sequence[Spot], cam: CameraGeometry, *, height_m: float, max_length_m: float, max_waypoints: int,
    takeoff_latlon: tuple[float, float] | None = None, drone: str = "", min_height_m: float = 20.0,
) -> RoutePlan:
    """Waypoints for ``spots`` (clustered), ordered as a short tour, split into routes that fit one
    battery (``max_length_m``) and ``max_waypoints``. RouteError when there are no spots or one is
    out of reach or cannot be seen at its GSD."""
    from patrol.geo.crs import LocalFrame

    if not spots:
        raise RouteError("no cases wait for a check")
    if height_m < min_height_m:
        raise RouteError(f"--height-m {height_m:g} is below the minimum height {min_height_m:g} m")
    lat = np.array([s.lat_deg for s in spots])
    lon = np.array([s.lon_deg for s in spots])
    local = LocalFrame(float(lat.mean()), float(lon.mean()))
    e, n = local.to_local(lat, lon)
    e, n = np.asarray(e, dtype=float), np.asarray(n, dtype=float)
    clusters = cluster_spots(spots, e, n, cam, height_m=height_m, min_height_m=min_height_m)
    xy = np.array([c.centre_en for c in clusters], dtype=float)
    base = None
    if takeoff_latlon is not None:
        be, bn = local.to_local(takeoff_latlon[0], takeoff_latlon[1])
        base = (float(be), float(bn))
    labels = [f"case {', '.join(str(spots[i].case_id) for i in c.members)}" for c in clusters]
    order = tour(xy, base)
    pieces = split_tour(xy, order, max_length_m=max_length_m, max_waypoints=max_waypoints, base=base, labels=labels)
    routes = []
    for part, piece in enumerate(pieces, start=1):
        piece = two_opt(xy, piece, base)  # each piece on its own: never longer than its cut
        naive = sorted(piece, key=lambda i: min(spots[m].case_id for m in clusters[i].members))
        wps = []
        for idx, ci in enumerate(piece):
            c = clusters[ci]
            wlat, wlon = local.to_wgs84(c.centre_en[0], c.centre_en[1])
            wps.append(Waypoint(
                index=idx, lat_deg=round(float(wlat), 8), lon_deg=round(float(wlon), 8), height_m=round(c.height_m, 1),
                gimbal_pitch_deg=NADIR_PITCH_DEG, case_ids=tuple(spots[m].case_id for m in c.members),
                categories=tuple(sorted({spots[m].category for m in c.members})), gsd_m=cam.gsd_m(round(c.height_m, 1)),
                max_offset_m=c.max_offset_m,
            ))
        routes.append(Route(part, tuple(wps), loop_length_m(xy, piece, base), loop_length_m(xy, naive, base), takeoff_latlon))
    return RoutePlan(tuple(routes), height_m, drone)
