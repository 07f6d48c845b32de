"""Vehicles drawn as solids: projection, truth boxes with relief, and what the renderer paints."""

from __future__ import annotations

import numpy as np
import pytest

from patrol.geo.camera import Camera, CameraPose
from patrol.geo.crs import LocalFrame
from patrol.sim.frames import render_frame, sim_intrinsics
from patrol.sim.layout import Layout, Tree
from patrol.sim.objects import make_object
from patrol.sim.scenario import SUN_BEFORE
from patrol.sim.canvas import place
from patrol.sim.solids import faces_toward, is_solid, plane_homography, project, solid_points_en, vehicle_pieces
from patrol.sim.truth import frame_labels
from patrol.sim.world import World

W, H = 640, 480


def car_world(kind: str = "car", center_en=(0.0, 10.0), heading_deg: float = 0.0, trees=()) -> World:
    """A mid-grey world with one vehicle painted as a light rectangle on it."""
    res, size = 0.05, 100.0
    n = int(size / res)
    img = np.full((n, n, 3), 90, np.uint8)
    lay = Layout(seed=0, size_m=size, grid_angle_deg=0.0, extent_m=size, trees=list(trees))
    car = make_object("v1", kind, center_en, heading_deg, look_seed=5)
    w = World(0, "before", lay, [car], SUN_BEFORE, res, img, LocalFrame(37.739, 115.67))
    p = np.array(car.outline_en)
    x, y = w.en_to_px(p[:, 0], p[:, 1])
    img[int(y.min()):int(y.max()) + 1, int(x.min()):int(x.max()) + 1] = 220
    return w


def oblique_cam(pitch: float = -40.0) -> Camera:
    return Camera(sim_intrinsics((W, H)), CameraPose(0.0, -15.0, 20.0, 0.0, pitch, 0.0))


def test_project_agrees_with_the_ground_projection_at_height_zero() -> None:
    cam = Camera(sim_intrinsics((W, H)), CameraPose(3.0, -4.0, 30.0, 33.0, -55.0, 1.5))
    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(-20, 20, 30), rng.uniform(0, 40, 30), np.zeros(30)])
    u, v = project(cam, pts)
    gu, gv = cam.ground_to_pixel(pts[:, 0], pts[:, 1])
    assert np.allclose(u, gu, atol=1e-6) and np.allclose(v, gv, atol=1e-6)


def test_plane_homography_maps_points_at_that_height() -> None:
    cam = oblique_cam()
    pts = np.array([[1.0, 8.0, 1.4], [-2.0, 12.0, 1.4], [0.5, 10.0, 1.4]])
    u, v = project(cam, pts)
    hom = plane_homography(cam, 1.4) @ np.column_stack([pts[:, :2], np.ones(3)]).T
    assert np.allclose(hom[0] / hom[2], u) and np.allclose(hom[1] / hom[2], v)


def test_only_vehicles_are_solids() -> None:
    assert is_solid(make_object("a", "suv", (0, 0), 0, 1))
    assert not is_solid(make_object("b", "umbrella", (0, 0), 0, 1))
    assert solid_points_en(make_object("c", "umbrella", (0, 0), 0, 1)) is None
    car = make_object("d", "car", (0, 0), 0, 1)
    pieces = vehicle_pieces(car)
    assert max(p.z_hi_m for p in pieces) == pytest.approx(car.height_m)
    assert [p.skin for p in vehicle_pieces(make_object("e", "bus", (0, 0), 0, 1))] == ["under", "body"]


def test_oblique_truth_box_leans_away_from_the_camera() -> None:
    """Seen from behind and above, a car's roof rises in the image: its box reaches higher than the
    footprint's, not lower, and stays as wide give or take the perspective of its top."""
    world = car_world()
    cam = oblique_cam()
    (lb,) = frame_labels(cam, world.present_objects)
    p = np.array(world.objects[0].outline_en)
    u, v = cam.ground_to_pixel(p[:, 0], p[:, 1])
    x1, y1, x2, y2 = lb.bbox_xyxy_px
    assert y1 < v.min() - 5  # the top of the car shows above its footprint
    assert y2 == pytest.approx(v.max(), abs=1.0)  # its near bottom edge is on the ground
    assert x1 <= u.min() + 0.5 and x2 >= u.max() - 0.5


def test_straight_above_a_solid_car_looks_like_its_footprint() -> None:
    world = car_world(center_en=(0.0, 0.0))
    cam = Camera(sim_intrinsics((W, H)), CameraPose(0.0, 0.0, 60.0, 0.0, -90.0, 0.0))
    (lb,) = frame_labels(cam, world.present_objects)
    p = np.array(world.objects[0].outline_en)
    u, v = cam.ground_to_pixel(p[:, 0], p[:, 1])
    assert lb.bbox_xyxy_px == pytest.approx((u.min(), v.min(), u.max(), v.max()), abs=0.5)


def test_renderer_paints_the_side_and_roof_where_the_box_says() -> None:
    world = car_world()
    cam = oblique_cam()
    flat = render_frame(world, cam, solids=False).astype(int)
    solid = render_frame(world, cam).astype(int)
    (lb,) = frame_labels(cam, world.present_objects)
    x1, y1, x2, y2 = (int(round(c)) for c in lb.bbox_xyxy_px)
    changed = np.abs(solid - flat).max(axis=2) > 12
    inside = changed[y1:y2 + 1, x1:x2 + 1]
    assert inside.mean() > 0.3  # the car's faces differ from its flat paint
    outside = changed.copy()
    outside[max(0, y1 - 2):y2 + 3, max(0, x1 - 2):x2 + 3] = False
    assert outside.sum() == 0  # nothing is painted outside its box
    # the lean: rows above the footprint now show the car, not the grey ground
    p = np.array(world.objects[0].outline_en)
    _, v = cam.ground_to_pixel(p[:, 0], p[:, 1])
    assert changed[y1:int(v.min()) - 1, x1:x2 + 1].mean() > 0.3


def test_a_car_under_a_tree_crown_stays_flat() -> None:
    tree = Tree((0.0, 10.0), 3.0, 8.0, 1)
    world = car_world(trees=[tree])
    cam = oblique_cam()
    assert np.array_equal(render_frame(world, cam), render_frame(world, cam, solids=False))


def test_cars_are_drawn_far_first() -> None:
    """Two cars in a line ahead of the camera: the near one's roof hides the far one's lower body."""
    res, size = 0.05, 100.0
    n = int(size / res)
    img = np.full((n, n, 3), 90, np.uint8)
    lay = Layout(seed=0, size_m=size, grid_angle_deg=0.0, extent_m=size)
    near = make_object("near", "van", (0.0, 8.0), 90.0, look_seed=2)
    far = make_object("far", "car", (0.0, 13.0), 90.0, look_seed=3)
    world = World(0, "before", lay, [near, far], SUN_BEFORE, res, img, LocalFrame(37.739, 115.67))
    for o, val in ((near, 250), (far, 30)):
        p = np.array(o.outline_en)
        x, y = world.en_to_px(p[:, 0], p[:, 1])
        img[int(y.min()):int(y.max()) + 1, int(x.min()):int(x.max()) + 1] = val
    cam = Camera(sim_intrinsics((W, H)), CameraPose(0.0, -10.0, 8.0, 0.0, -25.0, 0.0))
    out = render_frame(world, cam).astype(int)
    labels = {lb.object_id: lb.bbox_xyxy_px for lb in frame_labels(cam, world.present_objects)}
    nx1, ny1, nx2, ny2 = labels["near"]
    fx1, fy1, fx2, fy2 = labels["far"]
    assert ny1 < fy2  # the boxes overlap in the image: the van stands in front of the car
    # where they overlap, the van (drawn last) shows: its bright roof or its sides, not the dark car roof
    ov = out[int(max(ny1, fy1)) + 1:int(min(ny2, fy2)) - 1, int(max(nx1, fx1)) + 1:int(min(nx2, fx2)) - 1]
    assert ov.size and np.median(ov) > 45


def test_only_the_faces_toward_the_camera_are_painted() -> None:
    """A car heading north (rect corners from the rear right, counter-clockwise: edge 1 is its front,
    edge 3 its rear) seen from the south shows its rear, from the east its right side (edge 0)."""
    car = make_object("c", "car", (0.0, 0.0), 90.0, look_seed=1)
    body = vehicle_pieces(car)[1]
    lo = np.column_stack([place(body.lo, car.center_en, car.heading_deg), np.full(4, body.z_lo_m)])
    hi = np.column_stack([place(body.hi, car.center_en, car.heading_deg), np.full(4, body.z_hi_m)])
    assert faces_toward(np.array([0.0, -20.0, 15.0]), lo, hi) == [3]
    assert faces_toward(np.array([20.0, 0.0, 15.0]), lo, hi) == [0]
    assert sorted(faces_toward(np.array([-20.0, 20.0, 15.0]), lo, hi)) == [1, 2]
    assert faces_toward(np.array([0.0, 0.0, 12.0]), lo, hi) == []  # straight above: only the top
