from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from patrol.errors import GeometryError
from patrol.geo.camera import Camera, CameraPose, camera_from_frame
from patrol.geo.crs import LocalFrame
from patrol.ingest.frame import FrameMeta, Intrinsics

# DJI FC6310 (Phantom 4 Pro): 13.2 x 8.8 mm sensor, 8.8 mm lens, 5472 x 3648 px.
SENSOR_W_MM, FOCAL_MM, W, H = 13.2, 8.8, 5472, 3648
FX = FOCAL_MM / SENSOR_W_MM * W
# principal point at the image centre; (0, 0) is the centre of the top-left pixel
INTR = Intrinsics(FX, FX, (W - 1) / 2, (H - 1) / 2, (W, H), "camera-table")
FRAME = LocalFrame(37.739, 115.670)


def cam(yaw=0.0, pitch=-90.0, roll=0.0, height=100.0, east=0.0, north=0.0) -> Camera:
    return Camera(INTR, CameraPose(east, north, height, yaw, pitch, roll))


@pytest.mark.parametrize("height", [30.0, 60.0, 100.0, 120.0])
@pytest.mark.parametrize("yaw", [0.0, 37.0, 90.0, 200.0])
def test_nadir_gsd_and_footprint_match_photogrammetry(height: float, yaw: float) -> None:
    c = cam(yaw=yaw, height=height)
    gsd = SENSOR_W_MM * height / (FOCAL_MM * W)
    assert c.gsd_m() == pytest.approx(gsd, rel=1e-9)
    fp = c.footprint(max_range_m=10_000)
    assert not fp.clipped and fp.reason is None
    # ground size of the full sensor: W*gsd x H*gsd, a rectangle centred under the camera
    assert fp.area_m2 == pytest.approx(W * gsd * H * gsd, rel=1e-9)
    assert fp.polygon_en.centroid.x == pytest.approx(0.0, abs=1e-6)
    assert fp.polygon_en.centroid.y == pytest.approx(0.0, abs=1e-6)
    assert c.obliquity_deg == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    "yaw, u, v, expect_en",
    [
        # nadir, yaw 0: the top edge of the image is north, the right edge east
        (0.0, (W - 1) / 2, -0.5, (0.0, 100 * (H / 2) / FX)),
        (0.0, W - 0.5, (H - 1) / 2, (100 * (W / 2) / FX, 0.0)),
        # yaw 90 (heading east): top of the image is east, right edge is south
        (90.0, (W - 1) / 2, -0.5, (100 * (H / 2) / FX, 0.0)),
        (90.0, W - 0.5, (H - 1) / 2, (0.0, -100 * (W / 2) / FX)),
    ],
)
def test_nadir_orientation(yaw: float, u: float, v: float, expect_en: tuple[float, float]) -> None:
    e, n = cam(yaw=yaw).pixel_to_ground(u, v)
    assert (float(e), float(n)) == pytest.approx(expect_en, abs=1e-6)


def test_hand_computed_oblique() -> None:
    # pitch -45 looking east from 100 m: the image centre lands 100 m east of the camera.
    c = cam(yaw=90.0, pitch=-45.0, height=100.0, east=10.0, north=20.0)
    e, n = c.pixel_to_ground((W - 1) / 2, (H - 1) / 2)
    assert float(e) == pytest.approx(110.0, abs=1e-9)
    assert float(n) == pytest.approx(20.0, abs=1e-9)
    assert c.obliquity_deg == pytest.approx(45.0)
    # the top edge of the image looks atan((H/2) / fx) above the axis, i.e. less steeply down
    dep = math.radians(45.0) - math.atan((H / 2) / FX)
    e_top, n_top = c.pixel_to_ground((W - 1) / 2, -0.5)
    assert float(e_top) == pytest.approx(10.0 + 100.0 / math.tan(dep), rel=1e-9)
    assert float(n_top) == pytest.approx(20.0, abs=1e-9)
    # GSD at the centre: across-track H*sqrt2/f, along-track 2H/f (slant range 100*sqrt2, tilted 45)
    across = 100 * math.sqrt(2) / FX
    along = across * math.sqrt(2)
    assert c.gsd_m() == pytest.approx(math.sqrt(across * along), rel=1e-5)


@pytest.mark.parametrize("pitch", [-90.0, -60.0, -30.0])
def test_roll_turns_the_image_about_the_optical_axis(pitch: float) -> None:
    # ZYX order: roll is applied last, about the camera's forward (optical) axis.
    level, rolled = cam(yaw=20.0, pitch=pitch), cam(yaw=20.0, pitch=pitch, roll=15.0)
    c = ((W - 1) / 2, (H - 1) / 2)
    assert np.allclose(level.pixel_to_ground(*c), rolled.pixel_to_ground(*c), atol=1e-9)
    assert not np.allclose(level.pixel_to_ground(0.0, 0.0), rolled.pixel_to_ground(0.0, 0.0), atol=0.1)
    # at nadir a roll is indistinguishable from a yaw (gimbal lock)
    if pitch == -90.0:
        a = np.array(rolled.pixel_to_ground(100.0, 200.0))
        b1, b2 = (np.array(cam(yaw=20.0 + s * 15.0).pixel_to_ground(100.0, 200.0)) for s in (1, -1))
        assert np.allclose(a, b1, atol=1e-9) or np.allclose(a, b2, atol=1e-9)


def test_above_horizon_is_nan() -> None:
    c = cam(yaw=0.0, pitch=-10.0)
    e, n = c.pixel_to_ground(np.array([W / 2, W / 2]), np.array([0.0, H - 1]))
    assert math.isnan(e[0]) and math.isnan(n[0])  # the top of the image sees sky
    assert math.isfinite(e[1]) and n[1] > 0
    with pytest.raises(GeometryError):
        c.gsd_m(W / 2, 0.0)
    fp = c.footprint(max_range_m=500.0)
    assert fp.clipped and "horizon" in fp.reason
    assert fp.polygon_en.bounds[3] == pytest.approx(500.0, rel=1e-6)


def test_looking_up_has_no_footprint() -> None:
    with pytest.raises(GeometryError):
        cam(pitch=60.0).footprint(500.0)


def test_behind_camera_is_nan() -> None:
    c = cam(yaw=0.0, pitch=-30.0)
    u, v = c.ground_to_pixel(np.array([0.0, 0.0]), np.array([-100.0, 100.0]))
    assert math.isnan(u[0]) and math.isnan(v[0])
    assert math.isfinite(u[1])


def test_far_rays_clipped_at_range() -> None:
    fp = cam(pitch=-30.0).footprint(max_range_m=150.0)
    assert fp.clipped and "beyond 150 m" in fp.reason
    far = max(math.hypot(x, y) for x, y in fp.polygon_en.exterior.coords)
    assert far == pytest.approx(150.0, rel=1e-6)


poses = st.tuples(
    st.floats(0.0, 360.0),  # yaw
    st.floats(-90.0, -5.0),  # pitch
    st.floats(-20.0, 20.0),  # roll
    st.floats(5.0, 500.0),  # height
)


@settings(max_examples=200, deadline=None)
@given(poses, st.floats(0.0, W - 1), st.floats(0.0, H - 1))
def test_pixel_ground_pixel_round_trip(pose, u: float, v: float) -> None:
    yaw, pitch, roll, height = pose
    c = cam(yaw=yaw, pitch=pitch, roll=roll, height=height, east=123.0, north=-45.0)
    e, n = c.pixel_to_ground(u, v)
    assume(np.isfinite(e) and np.hypot(e - 123.0, n + 45.0) < 1e6)  # the ray sees the ground
    u2, v2 = c.ground_to_pixel(e, n)
    assert abs(float(u2) - u) < 0.01 and abs(float(v2) - v) < 0.01
    # the homography agrees with the ray model
    p = c.ground_to_image_homography() @ np.array([float(e), float(n), 1.0])
    assert p[0] / p[2] == pytest.approx(u, abs=0.01) and p[1] / p[2] == pytest.approx(v, abs=0.01)


def meta(**kw) -> FrameMeta:
    base = dict(
        path="DJI_0001.JPG", size_wh=(W, H), lat_deg=37.7395, lon_deg=115.6705, abs_alt_m=150.0,
        rel_alt_m=100.0, gimbal_yaw_deg=45.0, gimbal_pitch_deg=-90.0, gimbal_roll_deg=0.0,
        flight_yaw_deg=40.0, intrinsics=INTR,
    )
    base.update(kw)
    return FrameMeta(**base)


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(lat_deg=None), "lat_deg"),
        (dict(lon_deg=None), "lon_deg"),
        (dict(rel_alt_m=None), "rel_alt_m"),
        (dict(gimbal_pitch_deg=None), "gimbal_pitch_deg"),
        (dict(gimbal_yaw_deg=None, flight_yaw_deg=None), "gimbal_yaw_deg"),
        (dict(intrinsics=None, intrinsics_error="unknown camera XYZ"), "unknown camera XYZ"),
        (dict(rel_alt_m=-2.0), "not above the ground"),
    ],
)
def test_camera_from_frame_names_the_missing_field(kw: dict, field: str) -> None:
    with pytest.raises(GeometryError, match=field) as ei:
        camera_from_frame(meta(**kw), FRAME)
    assert "DJI_0001.JPG" in str(ei.value)


def test_camera_from_frame() -> None:
    c = camera_from_frame(meta(), FRAME)
    e, n = FRAME.to_local(37.7395, 115.6705)
    assert c.pose == CameraPose(e, n, 100.0, 45.0, -90.0, 0.0)
    # flight yaw stands in for a missing gimbal yaw; ground elevation uses the absolute altitude
    c2 = camera_from_frame(meta(gimbal_yaw_deg=None, gimbal_roll_deg=None), FRAME, ground_elevation_m=70.0)
    assert (c2.pose.yaw_deg, c2.pose.roll_deg, c2.pose.height_m) == (40.0, 0.0, 80.0)


def test_footprint_to_wgs84() -> None:
    c = camera_from_frame(meta(), FRAME)
    poly = c.footprint(500.0).to_wgs84(FRAME)
    lon, lat = poly.centroid.x, poly.centroid.y
    assert lat == pytest.approx(37.7395, abs=1e-7) and lon == pytest.approx(115.6705, abs=1e-7)
