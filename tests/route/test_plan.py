"""Tour planning: clustering by the photo's footprint at the category's GSD, NN + 2-opt, splitting."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrol.geo.crs import LocalFrame
from patrol.route.drones import drone_model
from patrol.route.plan import (
    CameraGeometry,
    RouteError,
    Spot,
    cluster_spots,
    loop_length_m,
    nearest_neighbour,
    plan_routes,
    split_tour,
    tour,
    two_opt,
)

LOCAL = LocalFrame(39.9, 116.4)
M3E = drone_model("m3e")
CAM = CameraGeometry(M3E.focal_px, M3E.image_wh)


def spot_at(case_id: int, e: float, n: float, gsd: float = 0.05, category: str = "illegal_parking") -> Spot:
    lat, lon = LOCAL.to_wgs84(e, n)
    return Spot(case_id, category, float(lat), float(lon), gsd)


def test_camera_geometry_m3e() -> None:
    # 24 mm equivalent on a 5280x3956 photo: ~3660 px focal length, 1.64 cm/px at 60 m
    assert CAM.focal_px == pytest.approx(3658, abs=5)
    assert CAM.gsd_m(60.0) == pytest.approx(0.0164, abs=2e-4)
    assert CAM.cover_radius_m(60.0) == pytest.approx(0.8 * 0.5 * 3956 * 60 / CAM.focal_px)


def test_nearby_spots_share_one_waypoint_far_ones_do_not() -> None:
    spots = [spot_at(1, 0, 0), spot_at(2, 8, 5), spot_at(3, -6, 3), spot_at(4, 400, 0)]
    e = np.array([0, 8, -6, 400.0])
    n = np.array([0, 5, 3, 0.0])
    cl = cluster_spots(spots, e, n, CAM, height_m=60.0)
    groups = sorted(tuple(spots[i].case_id for i in c.members) for c in cl)
    assert groups == [(1, 2, 3), (4,)]
    r = CAM.cover_radius_m(60.0)
    for c in cl:  # every spot inside the photo's inscribed circle around its waypoint
        for i in c.members:
            assert math.hypot(e[i] - c.centre_en[0], n[i] - c.centre_en[1]) <= r + 1e-9


def test_a_fine_category_lowers_the_waypoint_and_shrinks_its_cover() -> None:
    # 0.01 m/px needs <= 36.6 m with this camera: the waypoint flies lower and covers less
    spots = [spot_at(1, 0, 0, gsd=0.01, category="road_damage"), spot_at(2, 40, 0)]
    e, n = np.array([0, 40.0]), np.array([0, 0.0])
    coarse = [spot_at(1, 0, 0), spot_at(2, 40, 0)]
    assert len(cluster_spots(coarse, e, n, CAM, height_m=60.0)) == 1  # r 26 m at 60 m: 20 m each side fits
    cl = cluster_spots(spots, e, n, CAM, height_m=60.0)
    assert len(cl) == 2  # r 16 m at 36.6 m: does not
    fine = next(c for c in cl if spots[c.members[0]].case_id == 1)
    assert fine.height_m == pytest.approx(0.01 * CAM.focal_px)
    assert CAM.gsd_m(fine.height_m) <= 0.01 + 1e-12


def test_impossible_gsd_is_refused() -> None:
    with pytest.raises(RouteError, match="case 1 .*needs 0.2 cm/px"):
        cluster_spots([spot_at(1, 0, 0, gsd=0.002)], np.zeros(1), np.zeros(1), CAM, height_m=60.0)


def test_two_opt_untangles_a_crossed_square() -> None:
    xy = np.array([[0, 0], [100, 100], [100, 0], [0, 100.0]])
    crossed = [0, 1, 2, 3]
    assert loop_length_m(xy, crossed) == pytest.approx(200 + 200 * math.sqrt(2))
    better = two_opt(xy, crossed)
    assert loop_length_m(xy, better) == pytest.approx(400.0)
    assert sorted(better) == [0, 1, 2, 3] and better[0] == 0


def test_loop_through_base() -> None:
    xy = np.array([[100, 0], [200, 0.0]])
    assert loop_length_m(xy, [0, 1], base=(0.0, 0.0)) == pytest.approx(400.0)
    assert nearest_neighbour(xy, base=(300.0, 0.0)) == [1, 0]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-2000, 2000), st.floats(-2000, 2000)), min_size=1, max_size=40), st.booleans())
def test_tour_is_a_permutation_and_no_longer_than_nearest_neighbour(pts, with_base) -> None:
    xy = np.array(pts, dtype=float)
    base = (0.0, 0.0) if with_base else None
    order = tour(xy, base)
    assert sorted(order) == list(range(len(pts)))
    assert loop_length_m(xy, order, base) <= loop_length_m(xy, nearest_neighbour(xy, base), base) + 1e-6


def test_split_keeps_each_piece_within_the_battery() -> None:
    # 500 m .. 4 km east and west of the take-off: 16 km for all, 8 km for each side
    xy = np.array([[s * i * 500.0, 0.0] for s in (1, -1) for i in range(1, 9)])
    base = (0.0, 0.0)
    order = tour(xy, base)
    pieces = split_tour(xy, order, max_length_m=9000, max_waypoints=200, base=base)
    assert len(pieces) > 1
    assert sorted(i for p in pieces for i in p) == list(range(16))
    for p in pieces:
        assert loop_length_m(xy, p, base) <= 9000 + 1e-6
    assert [len(p) for p in split_tour(xy, order, max_length_m=1e9, max_waypoints=6, base=base)] == [6, 6, 4]


def test_a_spot_out_of_reach_from_the_takeoff_is_refused() -> None:
    xy = np.array([[100.0, 0.0], [9000.0, 0.0]])
    with pytest.raises(RouteError, match="case 9 is 9000 m from the take-off point"):
        split_tour(xy, [0, 1], max_length_m=10000, max_waypoints=10, base=(0.0, 0.0), labels=["case 1", "case 9"])


def test_plan_routes_covers_every_case_and_beats_the_naive_order() -> None:
    rng = np.random.default_rng(3)
    pts = rng.uniform(-800, 800, size=(40, 2))
    spots = [spot_at(i + 1, float(e), float(n)) for i, (e, n) in enumerate(pts)]
    plan = plan_routes(spots, CAM, height_m=60.0, max_length_m=1e6, max_waypoints=200, drone="m3e")
    assert plan.case_ids == tuple(range(1, 41))
    assert len(plan.routes) == 1
    r = plan.routes[0]
    assert [w.index for w in r.waypoints] == list(range(len(r.waypoints)))
    assert r.length_m < r.naive_length_m
    assert all(w.height_m == 60.0 and w.gimbal_pitch_deg == -90.0 for w in r.waypoints)


def test_plan_routes_splits_by_length() -> None:
    spots = [spot_at(1, 0, 0), spot_at(2, 3000, 0), spot_at(3, 3000, 3000), spot_at(4, 0, 3000)]
    plan = plan_routes(spots, CAM, height_m=60.0, max_length_m=7000, max_waypoints=200)
    assert len(plan.routes) >= 2
    assert plan.case_ids == (1, 2, 3, 4)
    assert all(r.length_m <= 7000 for r in plan.routes)


def test_no_spots_is_an_error() -> None:
    with pytest.raises(RouteError, match="no cases wait"):
        plan_routes([], CAM, height_m=60, max_length_m=1000, max_waypoints=10)
