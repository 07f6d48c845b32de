"""DJI SRT telemetry: every real firmware family, generated variants, broken files, interpolation."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrol.errors import BadTelemetry
from patrol.ingest.srt import parse_srt, read_srt, telemetry_at
from tests.conftest import shared_path

P = "dji-srt-parser"
E = "dji-metadata-embedder"

# file, samples, with position, first sample's expected fields, warnings expected
REAL = [
    (P, "MAVIC3.srt", 12318, 12318, dict(lat_deg=3.41531, lon_deg=-3.3744, rel_alt_m=-2.4, abs_alt_m=0.401,
                                         frame_index=1, focal35_mm=24.0, fnum=3.2, time=datetime(2021, 12, 25, 12, 27, 52, 373000)), 0),
    (P, "air2s.srt", 17, 17, dict(lat_deg=41.424724, lon_deg=2.234156, abs_alt_m=117.0, fnum=2.8,
                                  time=datetime(2022, 8, 7, 13, 40, 40, 774808)), 0),
    (P, "m2zoom.SRT", 7113, 7113, dict(lat_deg=31.452012, lon_deg=74.398751, focal35_mm=24.0, shutter_s=1 / 2500), 0),
    (P, "mavic_2_style.SRT", 468, 468, dict(lat_deg=-20.2533, lon_deg=149.0251, start_s=0.0, end_s=1.0), 0),
    (P, "mavic_2pro_new.SRT", 8952, 8952, dict(lat_deg=-35.080155, lon_deg=-60.286702, frame_index=218), 0),
    (P, "mavic_air.SRT", 2, 0, dict(iso=100.0, lat_deg=None), 0),
    (P, "mavic_air2.srt", 25, 25, dict(lat_deg=41.420684, lon_deg=2.162162, abs_alt_m=27.3), 0),
    (P, "mavic_pro.SRT", 468, 468, dict(lat_deg=-20.2533, lon_deg=149.0251, rel_alt_m=1.9,
                                        home_lat_deg=-20.2532, home_lon_deg=149.0251, start_s=1.0), 0),
    (P, "mavic_pro_buggy.SRT", 546, 530, dict(lat_deg=42.4668, lon_deg=-1.2218), 0),
    (P, "mix_p4rtk_mavic2pro.srt", 12, 12, dict(lat_deg=-34.6502, lon_deg=-59.409424, rel_alt_m=17.39, distance_m=153.32,
                                                gimbal_pitch_deg=-27.3, gimbal_roll_deg=0.0, gimbal_yaw_deg=-76.0,
                                                flight_pitch_deg=-8.9, flight_roll_deg=2.9, flight_yaw_deg=-75.0,
                                                fnum=5.6, shutter_s=1 / 400, ev=0.7, start_s=904.904), 0),
    (P, "old_format.SRT", 468, 468, dict(lat_deg=-20.2533, lon_deg=149.0251, rel_alt_m=1.9, fnum=2.8, shutter_s=1 / 60), 0),
    (P, "p4p_sample.SRT", 5, 5, dict(lat_deg=47.4692, lon_deg=8.209, rel_alt_m=45.6, fnum=3.2), 0),
    (P, "broken_incomplete.SRT", 19, 19, dict(lat_deg=-34.7383, lon_deg=-58.4563, rel_alt_m=20.1, ev=-1 / 3), 1),
    (P, "broken_incomplete2.SRT", 5, 4, dict(lat_deg=-34.86995, lon_deg=-57.823395, focal35_mm=28.0), 2),
    (E, "air3.SRT", 2, 2, dict(lat_deg=59.1111, lon_deg=18.2222, rel_alt_m=5.0, abs_alt_m=105.0), 0),
    (E, "air3S.SRT", 5, 5, dict(lat_deg=34.270373, lon_deg=-84.17616, rel_alt_m=0.0, abs_alt_m=302.208, fnum=1.8), 0),
    (E, "mini4pro.SRT", 2, 2, dict(lat_deg=59.0, lon_deg=18.0, rel_alt_m=1.0, abs_alt_m=100.0, fnum=1.7), 0),
    (E, "neo2.SRT", 5, 5, dict(lat_deg=45.607181, lon_deg=13.75386, abs_alt_m=113.9), 0),
    (E, "neo2_nogps.SRT", 6, 3, dict(lat_deg=None, lon_deg=None, rel_alt_m=0.4, abs_alt_m=269.099), 0),
]


@pytest.mark.parametrize("folder, name, n, n_pos, first, n_warn", REAL, ids=[r[1] for r in REAL])
def test_real_srt(folder, name, n, n_pos, first, n_warn):
    t = read_srt(shared_path("srt", folder, name))
    assert len(t.samples) == n
    assert len(t.positioned) == n_pos
    assert len(t.warnings) == n_warn
    s = t.samples[0]
    for k, v in first.items():
        got = getattr(s, k)
        assert got == (pytest.approx(v, abs=1e-9) if isinstance(v, float) else v), k


def test_every_real_srt_is_covered():
    folder = shared_path("srt")
    names = {p.name for p in folder.rglob("*") if p.suffix.lower() == ".srt"}
    covered = {r[1] for r in REAL} | {"broken_empty.SRT", "broken_empty2.SRT"}
    assert names <= covered, f"untested SRT files: {sorted(names - covered)}"


@pytest.mark.parametrize("name, message", [("broken_empty.SRT", "empty SRT"), ("broken_empty2.SRT", "truncated SRT")])
def test_empty_files(name, message):
    with pytest.raises(BadTelemetry, match=message) as e:
        read_srt(shared_path("srt", P, name))
    assert name in str(e.value)


def test_no_fix_is_never_zero_zero():
    t = read_srt(shared_path("srt", E, "neo2_nogps.SRT"))
    assert all(s.lat_deg != 0 and s.lon_deg != 0 for s in t.samples if s.has_position)


def test_truncated_last_block_dropped_with_warning():
    t = read_srt(shared_path("srt", P, "broken_incomplete.SRT"))
    assert "truncated last block 20" in t.warnings[0]
    assert t.samples[-1].index == 19


# ------------------------------------------------------------------------------ generated variants

LEGACY = """1
00:00:01,000 --> 00:00:02,000
HOME({a},{b}) 2019.07.03 10:15:03
GPS({c},{d},19) BAROMETER:20.1
ISO:100 Shutter:400 EV:-1/3 Fnum:F2.8

"""


@pytest.mark.parametrize(
    "a, b, c, d, lat, lon, evidence",
    [
        # longitude beyond +-90 decides, in either position
        (149.0251, -20.2532, 149.0252, -20.2533, -20.2533, 149.0252, "outside"),
        (-20.2532, 149.0251, -20.2533, 149.0252, -20.2533, 149.0252, "outside"),
    ],
)
def test_legacy_order_from_values(a, b, c, d, lat, lon, evidence):
    t = parse_srt(LEGACY.format(a=a, b=b, c=c, d=d))
    s = t.samples[0]
    assert (s.lat_deg, s.lon_deg) == (lat, lon)
    assert evidence in t.order_evidence


def one_line(gps: tuple[float, float], home: tuple[float, float], d: float) -> str:
    return (
        "1\n00:00:00,000 --> 00:00:01,000\n"
        f"F/2.8, SS 100, ISO 100, EV 0, GPS ({gps[0]:.6f}, {gps[1]:.6f}, 16), HOME ({home[0]:.6f}, {home[1]:.6f}, 7.60m), "
        f"D {d:.2f}m, H 30.00m, H.S 0.00m/s, V.S 0.00m/s, F.PRY (0.0°, 0.0°, 10.0°), G.PRY (-90.0°, 0.0°, 12.0°)\n\n"
    )


@pytest.mark.parametrize("lat_first", [False, True])
def test_legacy_order_from_home_distance(lat_first):
    """Both values within +-90: the stated distance to HOME decides which one is the latitude."""
    from patrol.ingest.srt import _haversine_m

    lat, lon, hlat, hlon = 47.4692, 8.2090, 47.4680, 8.2070
    d = _haversine_m(lat, lon, hlat, hlon)
    gps, home = ((lat, lon), (hlat, hlon)) if lat_first else ((lon, lat), (hlon, hlat))
    t = parse_srt(one_line(gps, home, d))
    s = t.samples[0]
    assert (s.lat_deg, s.lon_deg) == (pytest.approx(lat), pytest.approx(lon))
    assert (s.home_lat_deg, s.home_lon_deg) == (pytest.approx(hlat), pytest.approx(hlon))
    assert "HOME" in t.order_evidence
    assert (s.gimbal_pitch_deg, s.gimbal_yaw_deg, s.flight_yaw_deg) == (-90.0, 12.0, 10.0)


def test_matrice_gps_lat_first():
    text = "1\n00:00:00,000 --> 00:00:01,000\n2022.06.21 16:06:17\nGPS(36.6146,-6.1120,0.0M) BAROMETER:0.3M\n\n"
    s = parse_srt(text).samples[0]
    assert (s.lat_deg, s.lon_deg, s.rel_alt_m) == (36.6146, -6.1120, 0.3)


def test_bom_crlf_and_unknown_new_keys():
    """BOM + CRLF, a future firmware with gimbal keys and extra tokens: still parsed by structure."""
    text = (
        "\ufeff1\r\n00:00:00,000 --> 00:00:00,033\r\n<font size=\"28\">FrameCnt: 7, DiffTime: 33ms\r\n"
        "2030-01-02 03:04:05.678\r\n[iso: 100] [shutter: 1/500.0] [fnum: 2.8] [new_thing: 42] "
        "[latitude: 22.543210] [longitude: 113.954321] [rel_alt: 80.500 abs_alt: 120.250] "
        "[gb_yaw: -12.3 gb_pitch: -45.6 gb_roll: 0.1] [drone_yaw: -10.0 drone_pitch: 2.0 drone_roll: -1.0]</font>\r\n\r\n"
    )
    s = parse_srt(text).samples[0]
    assert (s.lat_deg, s.lon_deg, s.rel_alt_m, s.abs_alt_m) == (22.54321, 113.954321, 80.5, 120.25)
    assert (s.gimbal_yaw_deg, s.gimbal_pitch_deg, s.gimbal_roll_deg) == (-12.3, -45.6, 0.1)
    assert (s.flight_yaw_deg, s.flight_pitch_deg, s.flight_roll_deg) == (-10.0, 2.0, -1.0)
    assert s.frame_index == 7 and s.time == datetime(2030, 1, 2, 3, 4, 5, 678000) and s.shutter_s == 1 / 500


@pytest.mark.parametrize("text, message", [("", "empty"), ("\ufeff\r\n\r\n", "empty"), ("1\n", "truncated"),
                                           ("1\n00:00:00,000 --> 00:00:01,000\nhello world\n", "no known fields")])
def test_bad_text(text, message):
    with pytest.raises(BadTelemetry, match=message):
        parse_srt(text, "x.SRT")


def _block(i: int, t: float, lat: float, lon: float, alt: float) -> str:
    def tc(x: float) -> str:
        ms = round(x * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return (f"{i}\n{tc(t)} --> {tc(t + 0.5)}\n<font size=\"28\">FrameCnt: {i}, DiffTime: 500ms\n"
            f"2024-01-01 12:00:00.000\n[iso: 100] [latitude: {lat:.6f}] [longitude: {lon:.6f}] "
            f"[rel_alt: {alt:.3f} abs_alt: {alt + 100:.3f}] </font>\n\n")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-80, 80), st.floats(-179, 179), st.floats(0, 500)), min_size=1, max_size=20))
def test_srt_round_trip(rows):
    """Samples written in the modern layout parse back to the same values (6 decimals)."""
    rows = [(la if abs(la) > 1e-5 else 1.0, lo, al) for la, lo, al in rows]  # latitude 0 means "no fix"
    text = "".join(_block(i + 1, i * 0.5, *r) for i, r in enumerate(rows))
    t = parse_srt(text)
    assert len(t.samples) == len(rows) and not t.warnings
    for s, (la, lo, al) in zip(t.samples, rows, strict=True):
        assert s.lat_deg == pytest.approx(la, abs=1e-6) and s.lon_deg == pytest.approx(lo, abs=1e-6)
        assert s.rel_alt_m == pytest.approx(al, abs=1e-3)


def test_interpolation_between_samples_and_yaw_wrap():
    text = _block(1, 0.0, 10.0, 20.0, 100.0) + _block(2, 1.0, 10.001, 20.002, 110.0)
    text = text.replace("[iso: 100]", "[gb_yaw: 170.0]", 1).replace("[iso: 100]", "[gb_yaw: -170.0]", 1)
    t = parse_srt(text)
    mid = telemetry_at(t.samples, 0.25)
    assert mid["lat_deg"] == pytest.approx(10.00025) and mid["rel_alt_m"] == pytest.approx(102.5)
    assert mid["gimbal_yaw_deg"] == pytest.approx(175.0)  # across +-180, not through 0
    assert telemetry_at(t.samples, 60.0) is None  # far beyond the last sample
