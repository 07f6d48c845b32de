"""Thumbnail crops: pure window maths, JPEG output, missing sources, and the size of a big flight."""

from __future__ import annotations

import time

import pytest

from patrol.report.html import write_flight_report_html
from patrol.report.model import ImageRef
from patrol.report.thumbs import ThumbJob, crop_window, safe_name, write_thumbnails
from tests.report.factories import flight_data, write_frame


@pytest.mark.parametrize(
    "bbox, wh, expected",
    [
        (None, (100, 80), (0, 0, 100, 80)),
        ((490, 390, 510, 410), (1000, 800), (436, 336, 564, 464)),  # small box: at least 128 px
        ((100, 100, 300, 200), (1000, 800), (0, 0, 500, 450)),  # 200 px box, 200 px margin each side
        ((0, 0, 10, 10), (1000, 800), (0, 0, 69, 69)),  # clipped at the corner
        ((2000, 2000, 2100, 2100), (1000, 800), (0, 0, 1000, 800)),  # outside: whole image
    ],
)
def test_crop_window(bbox, wh, expected) -> None:
    assert crop_window(bbox, wh) == expected


def test_safe_names_are_urls_and_unique() -> None:
    a, b = safe_name("f", "<img src=x onerror=alert(1)>"), safe_name("f", "<img src=x onerror=alert(2)>")
    assert a != b
    assert all(ch.isalnum() or ch in "-_." for ch in a)


def test_thumbnails_written_small_and_missing_sources_reported(tmp_path) -> None:
    import cv2

    src = write_frame(tmp_path / "in" / "a.jpg", 1, (2000, 1500))
    jobs = [
        ThumbJob(ImageRef(str(src), (900.0, 700.0, 1100.0, 800.0)), "thumbs/a.jpg", 320),
        ThumbJob(ImageRef(str(src)), "thumbs/whole.jpg", 320),
        ThumbJob(ImageRef(str(tmp_path / "gone.jpg"), (1.0, 1.0, 5.0, 5.0)), "thumbs/gone.jpg"),
        ThumbJob(ImageRef(str(tmp_path / "in")), "thumbs/dir.jpg"),
    ]
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    jobs.append(ThumbJob(ImageRef(str(tmp_path / "bad.jpg")), "thumbs/bad.jpg"))
    res = write_thumbnails(jobs, tmp_path / "out")
    assert res["thumbs/a.jpg"] is None and res["thumbs/whole.jpg"] is None
    assert res["thumbs/gone.jpg"] == "source image not found"
    assert res["thumbs/dir.jpg"] == "source image not found"
    assert res["thumbs/bad.jpg"] == "source image unusable: not a JPEG, PNG, TIFF, BMP or HEIC image"
    # a truncated source is never shown as if good
    data = src.read_bytes()
    (tmp_path / "half.jpg").write_bytes(data[: len(data) // 2])
    res2 = write_thumbnails([ThumbJob(ImageRef(str(tmp_path / "half.jpg")), "thumbs/half.jpg")], tmp_path / "out")
    assert res2["thumbs/half.jpg"].startswith("source image unusable: truncated")
    assert not (tmp_path / "out" / "thumbs" / "half.jpg").exists()
    img = cv2.imread(str(tmp_path / "out" / "thumbs" / "a.jpg"))
    assert max(img.shape[:2]) == 320
    whole = cv2.imread(str(tmp_path / "out" / "thumbs" / "whole.jpg"))
    assert whole.shape[:2] == (240, 320)  # aspect kept


@pytest.mark.slow
def test_500_frame_flight_report_stays_small(tmp_path) -> None:
    """500 frames, 400 findings on 40 source photos, 40 verifications: well under ~30 MB."""
    data = flight_data(tmp_path / "in", n_frames=500, n_findings=40, n_verifications=40, frame_wh=(2000, 1500))
    many = tuple(
        type(f)(**{**f.__dict__, "finding_id": f"{f.finding_id}-{k}"}) for k in range(10) for f in data.findings
    )
    data = type(data)(**{**data.__dict__, "findings": many})
    t0 = time.perf_counter()
    html = write_flight_report_html(data, tmp_path / "out")
    seconds = time.perf_counter() - t0
    total = sum(p.stat().st_size for p in html.parent.rglob("*") if p.is_file())
    print(f"500-frame report: {total / 1e6:.1f} MB, html {html.stat().st_size / 1e6:.2f} MB, {seconds:.1f} s")
    assert total < 30e6
    assert html.stat().st_size < 3e6
