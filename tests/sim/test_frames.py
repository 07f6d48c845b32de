from __future__ import annotations

import numpy as np
import pytest

from patrol.geo.camera import Camera, CameraPose
from patrol.geo.crs import LocalFrame
from patrol.sim.frames import SKY_BGR, choose_level, render_frame, sim_intrinsics
from patrol.sim.layout import Layout
from patrol.sim.scenario import SUN_BEFORE
from patrol.sim.world import World

W, H = 640, 480


def marker_world(center_en: tuple[float, float], res_m: float = 0.05, size_m: float = 100.0) -> World:
    """A dark world with one bright 2 m square at ``center_en``."""
    n = int(size_m / res_m)
    img = np.zeros((n, n, 3), np.uint8)
    lay = Layout(seed=0, size_m=size_m, grid_angle_deg=0.0, extent_m=size_m)
    w = World(0, "before", lay, [], SUN_BEFORE, res_m, img, LocalFrame(37.739, 115.67))
    x, y = w.en_to_px(np.array([center_en[0] - 1, center_en[0] + 1]), np.array([center_en[1] + 1, center_en[1] - 1]))
    img[int(round(y[0] + 0.5)):int(round(y[1] + 0.5)), int(round(x[0] + 0.5)):int(round(x[1] + 0.5))] = 255
    return w


@pytest.mark.parametrize(
    "pose",
    [
        CameraPose(0.0, 0.0, 40.0, 0.0, -90.0, 0.0),
        CameraPose(-5.0, 3.0, 35.0, 37.0, -90.0, 0.0),
        CameraPose(-20.0, -15.0, 30.0, 45.0, -60.0, 2.0),
        CameraPose(10.0, -25.0, 25.0, 350.0, -45.0, -3.0),
    ],
)
def test_marker_lands_where_the_camera_model_says(pose: CameraPose) -> None:
    cam = Camera(sim_intrinsics((W, H)), pose)
    target = cam.pixel_to_ground(W * 0.6, H * 0.45)
    world = marker_world((float(target[0]), float(target[1])))
    img = render_frame(world, cam)
    ys, xs = np.nonzero(img.min(axis=2) > 180)  # not the fields beyond the world
    assert len(xs) > 20
    u, v = cam.ground_to_pixel(float(target[0]), float(target[1]))
    # the bright blob's centroid is the projected square centre (a projected square's centroid moves a
    # little under perspective, hence the tolerance)
    assert xs.mean() == pytest.approx(float(u), abs=1.0) and ys.mean() == pytest.approx(float(v), abs=1.0)


def test_sky_above_the_horizon() -> None:
    cam = Camera(sim_intrinsics((W, H)), CameraPose(0.0, 0.0, 30.0, 0.0, -10.0, 0.0))
    img = render_frame(marker_world((0.0, 40.0)), cam)
    top = img[:20].reshape(-1, 3).mean(axis=0)
    bottom = img[-20:].reshape(-1, 3).mean(axis=0)
    assert np.all(np.abs(top - np.array(SKY_BGR)) < 0.25 * np.array(SKY_BGR))  # sky (darkened a little by vignetting)
    assert bottom.mean() < 40  # the dark ground


def test_pyramid_level_follows_the_gsd() -> None:
    intr = sim_intrinsics((4000, 3000))
    low = Camera(intr, CameraPose(0, 0, 60.0, 0, -90.0, 0))
    high = Camera(intr, CameraPose(0, 0, 400.0, 0, -90.0, 0))
    assert choose_level(0.03, low) == 0
    assert choose_level(0.03, high) == 2  # 15 cm/px: a raster halved twice (12 cm) is still finer
