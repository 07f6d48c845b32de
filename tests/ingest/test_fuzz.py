"""Hostile or damaged input never crashes the readers: a FrameMeta / Telemetry for that file, or an
InputError that names the file and the problem (never another exception)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patrol.errors import InputError
from patrol.ingest import read_frame
from patrol.ingest.frame import FrameMeta
from patrol.ingest.srt import parse_srt
from tests.ingest.jpeggen import ASCII, RATIONAL, build_tiff, dji_xmp, gps_entries, make_jpeg

SEED = make_jpeg(
    build_tiff([(0x010F, ASCII, "DJI"), (0x0110, ASCII, "FC220")], [(0x920A, RATIONAL, [(473, 100)])],
               gps_entries(53.9, 27.5, 300.0)),
    dji_xmp({"RelativeAltitude": "+98.9", "GimbalPitchDegree": "-90"}),
)
HEADER_END = SEED.find(b"\xff\xda")


def read_or_error(p) -> FrameMeta | None:
    """read_frame's contract on any file: a FrameMeta for that file, or an InputError whose message
    starts with the file's path and says what is wrong. Any other exception fails the test."""
    try:
        meta = read_frame(p)
    except InputError as e:
        assert e.path == str(p), f"error names {e.path!r}, not the file"
        assert str(e).startswith(f"{p}: ") and e.reason.strip(), f"error does not name the file and the problem: {e}"
        return None
    assert isinstance(meta, FrameMeta) and meta.path == str(p)
    assert meta.size_wh is None or (meta.size_wh[0] > 0 and meta.size_wh[1] > 0), meta.size_wh
    return meta


def test_seed_parses(tmp_path):
    """The undamaged seed reads, so the fuzz test below starts from a valid photo (not from one
    that always fails)."""
    p = tmp_path / "seed.jpg"
    p.write_bytes(SEED)
    meta = read_or_error(p)
    assert meta is not None
    assert (meta.make, meta.model) == ("DJI", "FC220")
    assert meta.lat_deg == pytest.approx(53.9) and meta.lon_deg == pytest.approx(27.5)
    assert meta.rel_alt_m == pytest.approx(98.9) and meta.gimbal_pitch_deg == pytest.approx(-90.0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_jpeg_header(tmp_path, data):
    buf = bytearray(SEED)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(2, HEADER_END))
        buf[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        buf = buf[: data.draw(st.integers(0, len(buf)))]
    p = tmp_path / "fuzz.jpg"
    p.write_bytes(bytes(buf))
    read_or_error(p)


SRT_TOKENS = st.sampled_from([
    "1\n", "\n", "00:00:00,000 --> 00:00:01,000\n", "GPS(", ")", "[latitude: ", "]", "HOME(1.0,2.0)",
    "2020-01-01 10:00:00,123,456", "BAROMETER:", "12.5", "-0.0", "F.PRY (", "°", ",", "<font>", "\ufeff", "\r\n",
    "[rel_alt: 1 abs_alt: 2]", "D 12m", "H 5m", "latitude 0.000000", "9" * 30,
])


@settings(max_examples=300, deadline=None)
@given(st.lists(SRT_TOKENS, max_size=40).map("".join) | st.text(max_size=300))
def test_random_srt_text(text):
    try:
        t = parse_srt(text, "fuzz.SRT")
    except InputError as e:
        assert e.path == "fuzz.SRT" and str(e).startswith("fuzz.SRT: "), str(e)
        return
    for s in t.samples:
        assert s.lat_deg is None or (-90 <= s.lat_deg <= 90 and s.lat_deg != 0)


@pytest.mark.parametrize("data", [b"\x00\x00\x00\x18ftypheic" + b"\x00" * 8, b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x01meta"])
def test_truncated_heic(tmp_path, data):
    p = tmp_path / "x.heic"
    p.write_bytes(data)
    read_or_error(p)
