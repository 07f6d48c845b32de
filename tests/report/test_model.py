"""View-model validation and the counts the summary shows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from patrol.report.model import CaseRow, FailedInput, FindingCard, FramePoint, VerificationCard, is_absolute_path
from patrol.report.svgmap import build_svg_map
from tests.report.factories import NOW, flight_data


@pytest.mark.parametrize(
    "name, absolute",
    [("/home/op/flight/DJI_0001.JPG", True), ("C:\\flights\\a.jpg", True), ("\\\\nas\\share\\a.jpg", True),
     ("~/a.jpg", True), ("DJI_0001.JPG", False), ("sub/DJI_0001.JPG", False), ("video.MP4#12", False)],
)
def test_absolute_paths_are_recognised(name, absolute) -> None:
    assert is_absolute_path(name) is absolute


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda: FailedInput("/tmp/x.jpg", "bad"), "relative"),
        (lambda: FramePoint("/abs/a.jpg", 38.0, 114.0), "relative"),
        (lambda: FramePoint("a.jpg", 91.0, 114.0), "lat_deg"),
        (lambda: FindingCard("f1", "garbage", "exposed_garbage", 38.0, 181.0, 0.5, ("a.jpg",)), "lon_deg"),
        (lambda: FindingCard("f1", "garbage", "exposed_garbage", 38.0, 114.0, 1.5, ("a.jpg",)), "confidence"),
        (lambda: FindingCard("f1", "garbage", "exposed_garbage", 38.0, 114.0, 0.5, ("/x/a.jpg",)), "relative"),
        (lambda: FindingCard("f1", "garbage", None, 38.0, 114.0, 0.5, ("a.jpg",), outcome="gone"), "outcome"),
        (lambda: VerificationCard("1", "road_damage", "maybe", 38.0, 114.0), "verdict"),
        (lambda: CaseRow("1", "road_damage", "fixed", 38.0, 114.0, NOW, NOW, 1.0, active=False, overdue=True), "overdue"),
        (lambda: CaseRow("1", "road_damage", "open", 38.0, 114.0, NOW, NOW, -1.0, active=True, overdue=False), "age_days"),
    ],
)
def test_invalid_records_are_rejected(make, error) -> None:
    with pytest.raises(ValueError, match=error):
        make()


def test_naive_datetimes_become_utc() -> None:
    row = CaseRow("1", "road_damage", "open", 38.0, 114.0, NOW.replace(tzinfo=None), NOW - timedelta(0), 0.0, True, False)
    assert row.opened_at.utcoffset() == timedelta(0)


def test_summary_counts() -> None:
    data = flight_data(None, n_findings=10, n_verifications=3)
    assert sum(data.findings_by_category().values()) == 10
    counts = data.case_outcomes()
    assert counts["new"] == sum(f.outcome == "new" for f in data.findings)
    still_findings = {f.case_id for f in data.findings if f.outcome == "still_present"}
    assert counts["still_present"] == len(still_findings) + 1  # plus the one verification that says so
    assert counts["fixed"] == 1 and counts["inconclusive"] == 1


def test_duplicate_finding_ids_are_rejected() -> None:
    data = flight_data(None)
    with pytest.raises(ValueError, match="unique"):
        type(data)(**{**data.__dict__, "findings": data.findings + data.findings[:1]})


def test_map_projection_keeps_north_up_and_east_right() -> None:
    data = flight_data(None)
    svg = build_svg_map(data)
    by_id = {m.finding_id: m for m in svg.markers}
    f = sorted(data.findings, key=lambda f: f.lon_deg)
    assert by_id[f[0].finding_id].x < by_id[f[-1].finding_id].x  # east is right
    g = sorted(data.findings, key=lambda f: f.lat_deg)
    assert by_id[g[0].finding_id].y > by_id[g[-1].finding_id].y  # north is up
    for m in svg.markers:
        assert 0 <= m.x <= svg.width and 0 <= m.y <= svg.height
    # 20 m between frames along the street -> the same ratio in the picture as on the ground
    xs = [float(p.split(",")[0]) for p in svg.path_d[1:].split("L")]
    assert xs[1] - xs[0] == pytest.approx(20.0 * svg.scale_bar_px / svg.scale_bar_m, rel=0.02)
