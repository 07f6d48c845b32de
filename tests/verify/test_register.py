from __future__ import annotations

import cv2
import numpy as np
import pytest

from patrol.verify import register as reg
from tests.verify.scene import camera, ground_texture, render


def _texture(seed: int = 3) -> np.ndarray:
    return render(ground_texture(seed), camera(pitch=-90.0, north=0.0, height=40.0))


H_TRUE = np.array([[0.95, 0.08, 14.0], [-0.06, 1.02, -9.0], [2e-5, -1e-5, 1.0]])


@pytest.mark.parametrize("kind", ["sift", "orb", "akaze"])
def test_feature_homography_recovers_a_known_warp(kind: str) -> None:
    if kind == "akaze" and not hasattr(cv2, "AKAZE_create"):
        pytest.skip(f"OpenCV {cv2.__version__} has no AKAZE")
    src = cv2.cvtColor(_texture(), cv2.COLOR_BGR2GRAY)
    dst = cv2.warpPerspective(src, H_TRUE, (src.shape[1], src.shape[0]))
    fm = reg.feature_homography(src, dst, kind=kind)
    assert fm.h_ab is not None, fm.reason
    pts = np.array([[200.0, 200.0], [700.0, 200.0], [700.0, 500.0], [200.0, 500.0]])
    err = np.abs(reg.apply_h(fm.h_ab, pts) - reg.apply_h(H_TRUE, pts)).max()
    assert err < 1.5


def test_unknown_feature_type_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown feature type"):
        reg.feature_homography(np.zeros((10, 10), np.uint8), np.zeros((10, 10), np.uint8), kind="surf")


def test_feature_homography_fails_on_a_flat_image_with_a_reason() -> None:
    flat = np.full((300, 300), 128, np.uint8)
    fm = reg.feature_homography(flat, flat)
    assert fm.h_ab is None and fm.reason and "feature" in fm.reason


def test_feature_homography_rejects_unrelated_images() -> None:
    a = cv2.cvtColor(_texture(3), cv2.COLOR_BGR2GRAY)
    b = cv2.cvtColor(_texture(4), cv2.COLOR_BGR2GRAY)
    assert reg.feature_homography(a, b).h_ab is None


@pytest.mark.parametrize(
    "h, ok",
    [
        (np.eye(3), True),
        (np.diag([2.0, 2.0, 1.0]), True),
        (np.diag([10.0, 10.0, 1.0]), False),  # scale out of bounds
        (np.diag([-1.0, 1.0, 1.0]), False),  # mirror
        (np.diag([4.0, 0.5, 1.0]), False),  # anisotropy 8
        (np.full((3, 3), np.nan), False),
        (None, False),
    ],
)
def test_plausible(h, ok: bool) -> None:
    assert reg.plausible(h, (100.0, 100.0)) is ok


def test_geometric_homography_maps_ground_points_between_views() -> None:
    cb, ca = camera(), camera(east=5.0, north=-20.0, height=60.0, yaw=15.0, pitch=-75.0)
    h = reg.geometric_homography(cb, ca)
    e = np.array([0.0, 3.0, -4.0, 7.5])
    n = np.array([0.0, 5.0, 2.0, -3.0])
    ub, vb = cb.ground_to_pixel(e, n)
    ua, va = ca.ground_to_pixel(e, n)
    got = reg.apply_h(h, np.c_[ub, vb])
    assert np.allclose(got, np.c_[ua, va], atol=1e-6)


def test_global_homography_is_in_full_resolution_pixels() -> None:
    a = _texture()
    b = cv2.warpPerspective(a, H_TRUE, (a.shape[1], a.shape[0]))
    fm = reg.global_homography(a, b, max_side_px=480)
    assert fm.h_ab is not None
    pts = np.array([[300.0, 300.0], [600.0, 400.0]])
    assert np.abs(reg.apply_h(fm.h_ab, pts) - reg.apply_h(H_TRUE, pts)).max() < 3.0


def test_ecc_refine_improves_a_slightly_wrong_homography() -> None:
    src = cv2.cvtColor(_texture(), cv2.COLOR_BGR2GRAY)[200:520, 300:620]
    src = cv2.GaussianBlur(src, (0, 0), 1.0)
    shift = reg.translation(3.0, -2.0)
    dst = cv2.warpPerspective(src, shift, (src.shape[1], src.shape[0]))
    h, cc = reg.ecc_refine(src, dst, np.eye(3))
    assert cc > 0.9
    assert abs(h[0, 2] - 3.0) < 0.3 and abs(h[1, 2] + 2.0) < 0.3


@pytest.mark.parametrize(
    "poly, expect",
    [
        ([[10, 10], [20, 10], [20, 20], [10, 20]], 1.0),
        ([[-10, 10], [10, 10], [10, 20], [-10, 20]], 0.5),
        ([[-30, -30], [-20, -30], [-20, -20], [-30, -20]], 0.0),
        ([[np.nan, 0], [1, 0], [1, 1], [0, 1]], 0.0),
    ],
)
def test_polygon_inside_fraction(poly, expect: float) -> None:
    assert reg.polygon_inside_fraction(np.array(poly, float), (100, 50)) == pytest.approx(expect, abs=1e-6)
