"""Real before/after pairs from hovering-drone videos (patrol.verify.realpairs): two labelled frames of
one video, registered; a labelled vehicle gone from its spot = fixed, any vehicle still on it =
still_present. Thresholds were tuned on the DJI_0005 pairs; these tests score the DJI-00760 pairs
(a video the detector never trained on), through ``patrol compare`` and two ``patrol process`` runs
over the pairs written as geotagged DJI-style photos. The bundled detector is re-run on the spots."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from patrol.verify import realpairs as rp
from tests.conftest import shared_path


@pytest.mark.parametrize(
    "after_boxes, truth",
    [
        ([(0, 0, 10, 10)], "present"),  # the same car
        ([(5, 0, 15, 10)], "present"),  # another car half a length on: 50% of the smaller box
        ([(2, 2, 6, 6)], "present"),  # a small car inside the spot
        ([(8, 0, 18, 10)], "ambiguous"),  # 20%: left out of the scores
        ([(9.5, 0, 19.5, 10)], "gone"),  # the next bay, touching
        ([], "gone"),
    ],
)
def test_classify_spot(after_boxes, truth) -> None:
    assert rp.classify_spot((0.0, 0.0, 10.0, 10.0), after_boxes)[0] == truth


def test_spots_near_an_edge_are_left_out() -> None:
    h = np.eye(3)
    spots = rp.spot_truths("a->b", h, [(2, 40, 30, 60), (100, 100, 150, 130)], [], (400, 300))
    assert [s.truth for s in spots] == ["ambiguous", "gone"]
    assert spots[1].expected == "fixed" and spots[0].expected is None


def test_yolo_boxes_and_gsd() -> None:
    boxes = rp.yolo_boxes("0 0.5 0.5 0.1 0.2\n\n1 0.25 0.25 0.05 0.05\n", (1000, 500))
    assert boxes[0] == pytest.approx((450.0, 200.0, 550.0, 300.0))
    assert rp.gsd_from_cars([(0, 0, 90, 40), (0, 0, 45, 90), (0, 0, 100, 30)]) == pytest.approx(4.5 / 90)


@pytest.fixture(scope="module")
def score_pairs():
    data = shared_path("aerial-cars")
    return [rp.build_pair(data, *x) for x in rp.SCORE_PAIRS]


@pytest.fixture(scope="module")
def photos(score_pairs, tmp_path_factory):
    return rp.write_flights(score_pairs, tmp_path_factory.mktemp("pairs"))


@pytest.fixture(scope="module")
def bundled():
    from patrol.config import Settings
    from patrol.detect.registry import model_path

    if not model_path(Settings().detect).is_file():
        pytest.fail(f"bundled model missing: {model_path(Settings().detect)} is committed; restore it (git checkout -- models/)")


def test_the_pairs_are_real_hover_pairs(score_pairs) -> None:
    counts = rp.summary(score_pairs)
    assert counts["gone"] >= 40 and counts["present"] >= 20
    for p in score_pairs:
        assert p.inliers >= 200  # one hover: a near-identity homography
        h = np.asarray(p.h_ab).reshape(3, 3)
        assert np.abs(h[:2, :2] - np.eye(2)).max() < 0.1
        assert 0.04 < p.gsd_m < 0.09  # coarser than the old global 5 cm/px gate


def test_written_photos_are_geotagged_and_put_the_spot_where_it_is(score_pairs, photos) -> None:
    from patrol.geo.camera import camera_from_frame
    from patrol.geo.crs import LocalFrame
    from patrol.ingest import read_frame

    phs, _ = photos
    pair, ph = score_pairs[0], phs[0]
    mb, ma = read_frame(ph.before_path), read_frame(ph.after_path)
    assert ma.time > mb.time
    spot = next(s for s in pair.spots if s.expected)
    lat, lon = rp.spot_lat_lon(ph, pair, spot.before_bbox_xyxy_px)
    cam = camera_from_frame(mb, LocalFrame(lat, lon))
    u, v = cam.ground_to_pixel(np.array([0.0]), np.array([0.0]))
    b = spot.before_bbox_xyxy_px
    assert abs(u[0] - (b[0] + b[2]) / 2) < 3 and abs(v[0] - (b[1] + b[3]) / 2) < 3
    assert cam.gsd_m() == pytest.approx(pair.gsd_m, rel=0.05)


def test_compare_on_real_pairs_never_calls_a_standing_vehicle_fixed(bundled, score_pairs, photos, capsys) -> None:
    import dataclasses

    from patrol.config import Settings
    from patrol.detect import load_detector

    settings = Settings()
    det = load_detector(dataclasses.replace(settings.detect, confidence=settings.verify.detect_confidence))
    score = rp.score_compare(score_pairs, photos[0], settings, det)
    with capsys.disabled():
        print("\nDJI-00760 pairs, patrol compare:", score.line())
    assert len(score.rows) >= 60
    assert score.false_fixed == 0
    assert score.accuracy >= 0.90


def test_compare_cli_on_a_real_pair(bundled, score_pairs, photos) -> None:
    from patrol.cli import app

    pair, ph = score_pairs[0], photos[0][0]
    runner = CliRunner()
    for want in ("fixed", "still_present"):
        spot = next(s for s in pair.spots if s.expected == want)
        lat, lon = rp.spot_lat_lon(ph, pair, spot.before_bbox_xyxy_px)
        r = runner.invoke(app, ["compare", str(ph.before_path), str(ph.after_path), "--point", f"{lat:.8f},{lon:.8f}", "--json"])
        d = json.loads(r.output[r.output.index("{"):])
        assert d["verdict"] == want, d["reasons"]
        # the spot is said: the car's footprint when the before photo's detector finds it at the point, else the square
        assert any("footprint of the vehicle found at the point" in x or "ground square of" in x for x in d["reasons"])


def test_two_flights_over_a_real_pair(bundled, score_pairs, tmp_path) -> None:
    """The first DJI-00760 pair as two flights (before, then two hours later with GPS drift), every
    vehicle a case: the frames (~6 cm/px) are fine enough for vehicles, so the second flight checks
    every case on its spot."""
    from patrol.config import Settings
    from patrol.detect import load_detector
    from patrol.pipeline import process_flight
    from patrol.store import open_store
    from patrol.zones import load_zones

    pairs = score_pairs[:1]
    phs, zpath = rp.write_flights(pairs, tmp_path)
    settings = Settings()
    det = load_detector(settings.detect)
    with open_store(tmp_path / "p.db") as store:
        zones = load_zones(zpath)
        process_flight([tmp_path / "before"], settings, store, det, None, zones=zones)
        first = store.list_cases()
        s = process_flight([tmp_path / "after"], settings, store, det, None, zones=zones)
        assert s.verified and s.verified >= s.cases_queued
        sc = rp.score_two_flights(pairs, phs, first, {c.case_id: str(c.status) for c in store.list_cases()})
    print(sc.line())
    assert sc.opened >= 0.85 * sc.vehicles
    assert sc.right >= 0.85 * sc.opened
    assert sc.false_fixed == 0
