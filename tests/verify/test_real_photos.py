"""Real before/after pair: DJI_0019 (before) and DJI_0031 (after, same hover point, 14 min later).

Cameras come from the photos' own metadata (patrol.ingest + patrol.geo); the pose alignment guides the
feature matching. Every car of DJI_0019 is a case (fixture: tests/verify/fixtures/dji_0019_0031_cars.json, road cars
from the dataset labels, parking-lot cars annotated by hand). Detector stand-in: KnownBoxesDetector
over DJI_0031 with the boxes really there (the dataset's DJI_0031 labels plus the hand-annotated
parked cars of DJI_0031) -- it answers for the crop it is given and never sees the case or the before
photo. The change measure and the registration are the real ones.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from patrol.config import VerifySettings
from patrol.verify import register as reg
from patrol.verify.compare import Inconclusive, Verdict
from patrol.verify.core import verify_images
from patrol.verify.evidence import evidence_image
from tests.conftest import shared_path
from tests.verify.standins import KnownBoxesDetector

FIXTURE = Path(__file__).parent / "fixtures" / "dji_0019_0031_cars.json"
CARS = json.loads(FIXTURE.read_text())["cars"]
SCORED = [c for c in CARS if c["expected"] is not None]


def yolo_boxes(path: Path, size_wh: tuple[int, int]) -> list[tuple[float, float, float, float]]:
    w, h = size_wh
    out = []
    for line in path.read_text().split("\n"):
        if line.strip():
            _, cx, cy, bw, bh = (float(v) for v in line.split())
            out.append(((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h))
    return out


@pytest.fixture(scope="module")
def pair():
    from patrol.detect.engine import read_image

    before = read_image(shared_path("aerial-cars", "DJI_0019.JPG"))
    after = read_image(shared_path("aerial-cars", "DJI_0031.JPG"))
    truth_after = yolo_boxes(shared_path("aerial-cars", "DJI_0031.txt"), (after.shape[1], after.shape[0]))
    truth_after += [c["after_bbox_xyxy_px"] for c in CARS if c["where"] != "road" and c["after_bbox_xyxy_px"]]
    return before, after, KnownBoxesDetector(after, truth_after)


@pytest.fixture(scope="module")
def cameras():
    """Both cameras from the photos' own EXIF/XMP (GPS, RelativeAltitude, gimbal angles, FC220 lens)."""
    from patrol.geo.camera import camera_from_frame
    from patrol.geo.crs import LocalFrame
    from patrol.ingest import read_frame

    mb = read_frame(shared_path("aerial-cars", "DJI_0019.JPG"))
    ma = read_frame(shared_path("aerial-cars", "DJI_0031.JPG"))
    local = LocalFrame(mb.lat_deg, mb.lon_deg)
    return camera_from_frame(mb, local), camera_from_frame(ma, local)


@pytest.fixture(scope="module")
def results(pair, cameras):
    before, after, det = pair
    cam_b, cam_a = cameras
    return {
        c["id"]: verify_images(
            before, after, c["before_bbox_xyxy_px"], "vehicle", det, VerifySettings(), before_camera=cam_b, after_camera=cam_a
        )
        for c in CARS
    }


@pytest.mark.parametrize("cid", ["road-03", "road-07", "lot-02", "lot-09"])
def test_without_poses_the_whole_image_alignment_gives_the_same_verdicts(pair, results, cid) -> None:
    before, after, det = pair
    car = next(c for c in CARS if c["id"] == cid)
    prior = _prior(before, after)
    v = verify_images(before, after, car["before_bbox_xyxy_px"], "vehicle", det, VerifySettings(), prior_h_ab=prior).verification
    assert str(v.verdict) == car["expected"] == str(results[cid].verification.verdict)


_PRIORS: dict = {}


def _prior(before, after):
    if "h" not in _PRIORS:  # once per photo pair
        _PRIORS["h"] = reg.global_homography(before, after).h_ab
    assert _PRIORS["h"] is not None
    return _PRIORS["h"]


def test_fixture_is_consistent() -> None:
    ids = [c["id"] for c in CARS]
    assert len(ids) == len(set(ids))
    for c in CARS:
        b = c["before_bbox_xyxy_px"]
        assert 0 <= b[0] < b[2] <= 4000 and 0 <= b[1] < b[3] <= 2250
        assert (c["after_bbox_xyxy_px"] is not None) == (c["after"] == "present")
        assert c["expected"] in (None, "fixed", "still_present", "inconclusive")
    exp = Counter(c["expected"] for c in SCORED)
    assert exp == {"inconclusive": 19, "still_present": 9, "fixed": 8}


@pytest.mark.parametrize("car", SCORED, ids=[c["id"] for c in SCORED])
def test_each_car_gets_the_right_verdict(results, car) -> None:
    v = results[car["id"]].verification
    assert str(v.verdict) == car["expected"], v.reasons
    if car["expected"] == "inconclusive":
        assert v.inconclusive_reason is Inconclusive.OUT_OF_FRAME
    else:
        assert v.registration.startswith("features"), v.reasons  # guided by the two camera poses
        assert v.confidence >= 0.6


def test_confusion_table(results, capsys) -> None:
    table = Counter((c["expected"], str(results[c["id"]].verification.verdict)) for c in SCORED)
    correct = sum(n for (e, g), n in table.items() if e == g)
    with capsys.disabled():
        print("\nDJI_0019 -> DJI_0031 confusion (expected, got):", dict(table))
    assert correct / len(SCORED) >= 0.95
    # never a false `fixed` for a car that is still there
    assert table[("still_present", "fixed")] == 0


def test_evidence_images_render(results) -> None:
    for cid in ("road-03", "road-07", "lot-02"):
        r = results[cid]
        img = evidence_image(r.crops, r.verification, title=cid)
        assert img.ndim == 3 and img.shape[1] > 3 * 300
        assert r.verification.verdict in (Verdict.FIXED, Verdict.STILL_PRESENT)


@pytest.fixture
def bundled():
    from patrol.config import Settings
    from patrol.detect import load_detector
    from patrol.detect.registry import model_path

    settings = Settings()
    if not model_path(settings.detect).is_file():
        pytest.fail(f"bundled model missing: {model_path(settings.detect)} is committed; restore it (git checkout -- models/)")
    return load_detector(settings.detect)


def test_with_the_bundled_detector_no_car_still_there_is_called_fixed(bundled, pair, cameras) -> None:
    """The same cases with the bundled ONNX model re-run on each after crop (instead of the labelled
    boxes). Skipped until models/patrol.onnx exists. Whatever the model's recall, a car that is itself
    still there must never come out `fixed` (an unchanged spot is `still_present` even when the model
    misses it), and the out-of-frame cars stay `inconclusive`. With an interim model of the training
    engineer (work-data/finish-test3) this scored 35/36 (road-05 came out `fixed`)."""
    from patrol.config import Settings

    settings = Settings()
    det = bundled
    before, after, _ = pair
    cam_b, cam_a = cameras
    table = Counter()
    same_car_fixed = []
    for c in SCORED:
        v = verify_images(before, after, c["before_bbox_xyxy_px"], "vehicle", det, settings.verify, before_camera=cam_b, after_camera=cam_a).verification
        table[(c["expected"], str(v.verdict))] += 1
        if c["after"] == "present" and str(v.verdict) == "fixed":
            same_car_fixed.append(c["id"])
    print("\nwith the bundled ONNX detector (expected, got):", dict(table))
    # road-05 (the taxi's place taken by another car) rests on the model seeing that car; the
    # cars that are themselves still there must hold whatever the model sees
    assert same_car_fixed == []
    assert table[("inconclusive", "inconclusive")] == 19
    assert sum(n for (e, g), n in table.items() if e == g) / len(SCORED) >= 0.85
