from __future__ import annotations

import json
import re

import numpy as np
import pytest

from patrol.config import VerifySettings
from patrol.verify.compare import Inconclusive, Verdict
from patrol.verify.core import Verification, verify_images
from tests.verify.scene import GroundBox, camera, draw_objects, ground_texture, project_box, render
from tests.verify.standins import KnownBoxesDetector, NullDetector

ORTHO = ground_texture(1)
CAR = GroundBox(2.0, 3.0, (1.9, 4.5), (40, 40, 200))
OTHER = GroundBox(-6.0, 8.0, (1.9, 4.5), (200, 180, 30))
CAM_B = camera()
CAM_A = camera(east=3.0, north=-25.0, height=55.0, yaw=8.0, pitch=-70.0)
# what the after flight's telemetry says: 1.5 m, 2 deg and 1 m off the truth (pose noise)
CAM_A_REPORTED = camera(east=4.5, north=-24.0, height=54.0, yaw=10.0, pitch=-69.0)
BEFORE = render(draw_objects(ORTHO, [CAR, OTHER]), CAM_B)
BOX = project_box(CAM_B, CAR)


def _after(objects, cam=CAM_A, shadow=False, **light):
    return render(draw_objects(ORTHO, objects, shadow=shadow), cam, **light)


def _truth(view, objects, cam=CAM_A, class_name="vehicle"):
    return KnownBoxesDetector(view, [project_box(cam, o) for o in objects], class_name)


# scenario, after objects, lighting/shadow, detector kind, expected verdict
SCENARIOS = [
    ("car left", [OTHER], {}, "truth", Verdict.FIXED),
    ("car stays", [CAR, OTHER], {}, "truth", Verdict.STILL_PRESENT),
    ("car stays, detector misses it", [CAR, OTHER], {}, "null", Verdict.STILL_PRESENT),
    ("car left, other day's light", [], dict(gain=0.7, offset=20.0, tint=(10.0, -5.0, 0.0)), "truth", Verdict.FIXED),
    ("car stays, light and shadows, detector misses it", [CAR], dict(gain=1.3, offset=-30.0, shadow=True), "null", Verdict.STILL_PRESENT),
    ("car stays, a legal car moved next to it", [CAR, GroundBox(2.0, 9.0, (1.9, 4.5), (200, 180, 30))], {}, "null", Verdict.STILL_PRESENT),
]


@pytest.mark.parametrize("name, objects, light, det, verdict", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_synthetic_scenarios(name, objects, light, det, verdict) -> None:
    after = _after(objects, **light)
    detector = _truth(after, objects) if det == "truth" else NullDetector()
    r = verify_images(BEFORE, after, BOX, "vehicle", detector, VerifySettings(), before_camera=CAM_B, after_camera=CAM_A_REPORTED)
    v = r.verification
    assert v.verdict is verdict, v.reasons
    assert v.registration.startswith("features")
    assert v.inliers >= 12
    assert 0.5 <= v.confidence <= 1.0
    assert v.after_bbox_xyxy_px is not None
    # the box really lands on the car's place in the after view (within a few pixels)
    true_after = project_box(CAM_A, CAR)
    assert np.allclose(v.after_bbox_xyxy_px, true_after, atol=6.0)
    assert r.crops is not None and r.crops.diff is not None


def test_blurred_after_image_is_inconclusive() -> None:
    after = _after([CAR], blur_px=6.0)
    v = verify_images(BEFORE, after, BOX, "vehicle", NullDetector(), before_camera=CAM_B, after_camera=CAM_A_REPORTED).verification
    assert v.verdict is Verdict.INCONCLUSIVE and v.inconclusive_reason is Inconclusive.BLUR
    assert any("blurred" in r for r in v.reasons)


def test_spot_outside_the_after_frame_is_inconclusive() -> None:
    cam = camera(east=60.0, north=40.0, yaw=90.0, pitch=-80.0)
    after = _after([CAR], cam=cam)
    v = verify_images(BEFORE, after, BOX, "vehicle", NullDetector(), before_camera=CAM_B, after_camera=cam).verification
    assert v.verdict is Verdict.INCONCLUSIVE and v.inconclusive_reason is Inconclusive.OUT_OF_FRAME


def test_spot_half_outside_the_after_frame_is_inconclusive() -> None:
    # slide the after camera east until the car is cut in half by the left image edge
    for east in np.arange(3.0, 60.0, 0.25):
        cam = camera(east=float(east), north=-25.0, height=55.0, yaw=8.0, pitch=-70.0)
        bx = project_box(cam, CAR)
        if bx[0] < 0 and -bx[0] / (bx[2] - bx[0]) >= 0.5:
            break
    else:
        raise AssertionError("no camera position cuts the car")
    after = _after([CAR], cam=cam)
    r = verify_images(BEFORE, after, BOX, "vehicle", NullDetector(), before_camera=CAM_B, after_camera=cam)
    assert r.verification.inconclusive_reason is Inconclusive.OUT_OF_FRAME
    assert r.verification.in_frame_frac is not None and r.verification.in_frame_frac < 0.6


def test_no_poses_and_unrelated_images_is_registration_failed() -> None:
    other_place = render(ground_texture(9), CAM_A)
    v = verify_images(BEFORE, other_place, BOX, "vehicle", NullDetector()).verification
    assert v.verdict is Verdict.INCONCLUSIVE and v.inconclusive_reason is Inconclusive.REGISTRATION_FAILED
    assert v.confidence == 0.0


def test_no_poses_uses_whole_image_features() -> None:
    after = _after([OTHER])
    v = verify_images(BEFORE, after, BOX, "vehicle", NullDetector()).verification
    assert v.verdict is Verdict.FIXED
    assert v.registration.startswith("features")


def test_textureless_ground_falls_back_to_the_camera_poses_and_says_so() -> None:
    # the car is gone, but only the camera poses align the spot: change alone never makes "fixed"
    flat = np.full_like(ORTHO, 120)
    before = render(draw_objects(flat, [CAR]), CAM_B)
    after = render(flat, CAM_A)
    v = verify_images(before, after, BOX, "vehicle", NullDetector(), before_camera=CAM_B, after_camera=CAM_A).verification
    assert v.registration == "geometry"
    assert any("camera poses" in r for r in v.reasons)
    assert v.verdict is Verdict.INCONCLUSIVE and v.inconclusive_reason is Inconclusive.WEAK_REGISTRATION


def test_without_a_detector_a_clear_spot_is_inconclusive_never_fixed() -> None:
    before = render(draw_objects(ORTHO, [CAR]), CAM_B)
    after = _after([])
    v = verify_images(before, after, BOX, "vehicle", None, before_camera=CAM_B, after_camera=CAM_A_REPORTED).verification
    assert v.verdict is Verdict.INCONCLUSIVE and v.inconclusive_reason is Inconclusive.NO_DETECTOR
    v2 = verify_images(before, after, BOX, "vehicle", NullDetector(), before_camera=CAM_B, after_camera=CAM_A_REPORTED).verification
    assert v2.verdict is Verdict.FIXED, v2.reasons


def test_a_coarse_after_view_cannot_confirm_a_clear_spot() -> None:
    import dataclasses

    from patrol.config import VerifySettings

    before = render(draw_objects(ORTHO, [CAR]), CAM_B)
    after = _after([])
    strict = dataclasses.replace(VerifySettings(), min_object_px={"vehicle": 10_000.0})  # no frame is fine enough
    v = verify_images(before, after, BOX, "vehicle", NullDetector(), strict, before_camera=CAM_B, after_camera=CAM_A_REPORTED).verification
    assert v.verdict is Verdict.INCONCLUSIVE and v.inconclusive_reason is Inconclusive.GSD_TOO_COARSE
    assert "cm/px" in v.reasons[0]


@pytest.mark.parametrize("size_m, verdict", [(2.4, Verdict.FIXED), (0.9, Verdict.INCONCLUSIVE)])
def test_the_gsd_gate_uses_the_objects_own_size(size_m, verdict) -> None:
    """Road damage needs 2 cm/px by its class (0.5 m / 25 px); the after frame here is 7.3 cm/px.
    A 2.4 m damaged patch spans 33 px there, so its repair can be confirmed; a 0.9 m one spans 12 px
    and cannot (the class limit would have refused both)."""
    damage = GroundBox(2.0, 3.0, (size_m, size_m), (25, 25, 25), "road_damage")
    before = render(draw_objects(ORTHO, [damage]), CAM_B)
    box = project_box(CAM_B, damage)
    after = _after([])
    v = verify_images(before, after, box, "road_damage", NullDetector(), before_camera=CAM_B, after_camera=CAM_A_REPORTED).verification
    assert v.verdict is verdict, v.reasons
    if verdict is Verdict.INCONCLUSIVE:
        assert v.inconclusive_reason is Inconclusive.GSD_TOO_COARSE
        assert re.search(r"this (0\.9|1\.0) m road_damage needs", " ".join(v.reasons)), v.reasons


def test_an_after_frame_much_coarser_than_the_finding_frame_cannot_confirm() -> None:
    """The class limit alone would allow it (10 px a vehicle), but the after frame is over 2x coarser
    than the 8 cm/px frame that found the car: a detector may simply no longer see it."""
    import dataclasses

    high = camera(east=3.0, north=-25.0, height=140.0, yaw=8.0, pitch=-70.0)
    before = render(draw_objects(ORTHO, [CAR]), CAM_B)
    after = _after([], cam=high)
    loose = dataclasses.replace(VerifySettings(), min_object_px={"vehicle": 10.0}, blur_ratio=0.0)
    v = verify_images(before, after, BOX, "vehicle", NullDetector(), loose, before_camera=CAM_B, after_camera=high).verification
    assert v.verdict is Verdict.INCONCLUSIVE and v.inconclusive_reason is Inconclusive.GSD_TOO_COARSE, v.reasons
    assert "2x coarser" in " ".join(v.reasons)
    same = dataclasses.replace(loose, max_after_gsd_ratio=4.0)
    v4 = verify_images(before, after, BOX, "vehicle", NullDetector(), same, before_camera=CAM_B, after_camera=high).verification
    assert v4.inconclusive_reason is not Inconclusive.GSD_TOO_COARSE, v4.reasons


def test_max_gsd_for_object() -> None:
    s = VerifySettings()
    assert s.max_gsd_for_object_m("road_damage") == pytest.approx(0.02)
    assert s.max_gsd_for_object_m("road_damage", 1.5) == pytest.approx(0.06)  # 1.5 m / 25 px
    assert s.max_gsd_for_object_m("road_damage", 0.2) == pytest.approx(0.02)  # never finer than the class
    assert s.max_gsd_for_object_m("vehicle", 3.9) == pytest.approx(4.5 / 40)
    assert s.max_gsd_for_object_m("vehicle", float("nan")) == pytest.approx(4.5 / 40)


def test_object_covered_by_another_class_is_occluded() -> None:
    damage = GroundBox(2.0, 3.0, (1.2, 1.2), (20, 20, 20), "road_damage")
    before = render(draw_objects(ORTHO, [damage]), CAM_B)
    box = project_box(CAM_B, damage)
    van = GroundBox(2.0, 3.0, (2.2, 5.0), (230, 230, 230))
    after = _after([van])
    det = KnownBoxesDetector(after, [project_box(CAM_A, damage)], "vehicle")  # a vehicle box over the spot
    v = verify_images(before, after, box, "road_damage", det, before_camera=CAM_B, after_camera=CAM_A_REPORTED).verification
    assert v.verdict is Verdict.INCONCLUSIVE and v.inconclusive_reason is Inconclusive.OCCLUDED


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(verdict="fixed", confidence=0.8, reasons=("x",)), None),
        (dict(verdict="inconclusive", confidence=0.5, reasons=("x",), inconclusive_reason="blur"), None),
        (dict(verdict="inconclusive", confidence=0.5, reasons=("x",)), "inconclusive_reason"),
        (dict(verdict="fixed", confidence=0.8, reasons=("x",), inconclusive_reason="blur"), "inconclusive_reason"),
        (dict(verdict="fixed", confidence=1.2, reasons=("x",)), "confidence"),
        (dict(verdict="gone", confidence=0.5, reasons=("x",)), "gone"),
        (dict(verdict="fixed", confidence=0.5, reasons=("x",), registration="magic"), "registration"),
    ],
)
def test_verification_validation(kwargs, error) -> None:
    if error is None:
        v = Verification(**kwargs)
        assert json.loads(json.dumps(v.to_dict()))["verdict"] == kwargs["verdict"]
    else:
        with pytest.raises(ValueError, match=error):
            Verification(**kwargs)


@pytest.mark.parametrize("box", [(10, 10, 5, 20), (1, 2, 3)])
def test_bad_box_is_a_value_error(box) -> None:
    with pytest.raises(ValueError, match="before_bbox_xyxy_px"):
        verify_images(BEFORE, BEFORE, box, "vehicle", NullDetector())
