from __future__ import annotations

from datetime import datetime

import cv2
import exifread
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrol.ingest import read_frame
from patrol.sim.exifwrite import PhotoTags, with_metadata


def _jpeg(w: int = 64, h: int = 48) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((h, w, 3), 128, np.uint8))
    assert ok
    return buf.tobytes()


def tags(**kw) -> PhotoTags:
    base = dict(lat_deg=37.7391234567, lon_deg=115.6701234567, abs_alt_m=131.2345, rel_alt_m=99.876,
                gimbal_yaw_deg=-93.456, gimbal_pitch_deg=-89.9, gimbal_roll_deg=0.12, flight_yaw_deg=-91.0,
                flight_pitch_deg=1.04, flight_roll_deg=-1.5, time=datetime(2026, 11, 20, 9, 30, 5), size_wh=(64, 48))
    base.update(kw)
    return PhotoTags(**base)


def test_starts_with_exif_and_xmp_and_decodes(tmp_path) -> None:
    data = with_metadata(_jpeg(), tags())
    assert data[:4] == b"\xff\xd8\xff\xe1" and data[6:12] == b"Exif\0\0"
    assert b"http://ns.adobe.com/xap/1.0/\0" in data[:4000]
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (48, 64, 3)


def test_exifread_sees_the_tags(tmp_path) -> None:
    p = tmp_path / "a.jpg"
    p.write_bytes(with_metadata(_jpeg(), tags(lat_deg=-33.5, lon_deg=-70.25)))
    with p.open("rb") as fh:
        t = exifread.process_file(fh, details=False)
    assert str(t["Image Make"]) == "DJI" and str(t["Image Model"]) == "FC6310"
    assert str(t["GPS GPSLatitudeRef"]) == "S" and str(t["GPS GPSLongitudeRef"]) == "W"
    assert str(t["EXIF DateTimeOriginal"]) == "2026:11:20 09:30:05"
    assert str(t["EXIF FocalLengthIn35mmFilm"]) == "24"
    d, m, s = t["GPS GPSLongitude"].values
    assert (d.num, m.num) == (70, 15) and s.num == 0


@settings(max_examples=40, deadline=None)
@given(
    st.floats(-89.0, 89.0), st.floats(-179.9, 179.9), st.floats(-50.0, 3000.0), st.floats(0.5, 500.0),
    st.floats(-180.0, 180.0), st.floats(-90.0, 30.0), st.floats(-20.0, 20.0),
)
def test_ingest_reads_back_what_was_written(tmp_path_factory, lat, lon, alt, rel, yaw, pitch, roll) -> None:
    t = tags(lat_deg=lat, lon_deg=lon, abs_alt_m=alt, rel_alt_m=rel, gimbal_yaw_deg=yaw, gimbal_pitch_deg=pitch,
             gimbal_roll_deg=roll, flight_yaw_deg=yaw + 1)
    p = tmp_path_factory.mktemp("x") / "DJI_0001.JPG"
    p.write_bytes(with_metadata(_jpeg(), t))
    m = read_frame(p)
    q = t.quantised()
    assert m.lat_deg == pytest.approx(q.lat_deg, abs=1e-12) and m.lon_deg == pytest.approx(q.lon_deg, abs=1e-12)
    assert abs(m.lat_deg - lat) < 1e-9 and abs(m.lon_deg - lon) < 1e-9  # 1e-6 arc-seconds
    assert m.abs_alt_m == pytest.approx(q.abs_alt_m, abs=1e-9)
    assert m.rel_alt_m == pytest.approx(q.rel_alt_m, abs=1e-9)
    for name in ("gimbal_yaw_deg", "gimbal_pitch_deg", "gimbal_roll_deg", "flight_yaw_deg", "flight_pitch_deg", "flight_roll_deg"):
        assert getattr(m, name) == pytest.approx(getattr(q, name), abs=1e-9), name
    assert (m.make, m.model, m.focal_mm, m.focal35_mm, m.size_wh) == ("DJI", "FC6310", 8.8, 24.0, (64, 48))
    assert m.time == datetime(2026, 11, 20, 9, 30, 5)
    assert m.intrinsics is not None and m.intrinsics.fx_px == pytest.approx(8.8 * 64 / 13.2)


@pytest.mark.parametrize("bad, raises", [(b"not a jpeg", ValueError), (b"", ValueError)])
def test_refuses_non_jpeg(bad: bytes, raises: type) -> None:
    with pytest.raises(raises):
        with_metadata(bad, tags())
