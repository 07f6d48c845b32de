"""JPEG header, EXIF, XMP and read_frame on generated files (and the real odd files)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrol.errors import BadImage, BadMetadata, InputError
from patrol.ingest import read_frame, require_position
from patrol.ingest.exif import dms_to_deg, exif_fields, parse_exif_datetime
from patrol.ingest.jpeg import parse_jpeg_header
from patrol.ingest.xmp import parse_xmp, xmp_float
from tests.conftest import shared_path
from tests.ingest.jpeggen import (
    ASCII, RATIONAL, SHORT, build_tiff, dji_xmp, gps_entries, make_jpeg, segment, tiny_jpeg,
)


class Tag:
    """Stand-in for an exifread IfdTag (only ``.values`` is read)."""

    def __init__(self, *values):
        self.values = list(values)


class R:
    """Stand-in for exifread's Ratio, which keeps 0/0 instead of raising."""

    def __init__(self, num: int, den: int):
        self.num, self.den = num, den


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


# ------------------------------------------------------------------------------------------ EXIF

@pytest.mark.parametrize(
    "parts, expected",
    [
        ([R(53, 1), R(22, 1), R(233, 4)], 53 + 22 / 60 + 58.25 / 3600),  # deg, min, sec
        ([R(54, 1), R(2969, 50), R(0, 1)], 54 + 59.38 / 60),  # deg + decimal minutes (Fuji)
        ([R(4112345, 100000)], 41.12345),  # one decimal value
        ([R(0, 0), R(0, 0), R(0, 0)], None),  # InfiRay: 0/0 is missing
        ([R(43, 1), R(28, 1), R(0, 0)], None),  # any 0/0 part: missing
        ([], None),
    ],
)
def test_dms_to_deg(parts, expected):
    got = dms_to_deg(parts)
    assert got == (None if expected is None else pytest.approx(expected, abs=1e-12))


@pytest.mark.parametrize(
    "tags, lat, lon, alt",
    [
        ({"GPS GPSLatitudeRef": Tag("S"), "GPS GPSLatitude": Tag(R(33, 1), R(30, 1), R(0, 1)),
          "GPS GPSLongitudeRef": Tag("W"), "GPS GPSLongitude": Tag(R(70, 1), R(15, 1), R(0, 1)),
          "GPS GPSAltitudeRef": Tag(1), "GPS GPSAltitude": Tag(R(3983, 1000))}, -33.5, -70.25, -3.983),
        ({"GPS GPSLatitude": Tag(R(10, 1), R(0, 1), R(0, 1)), "GPS GPSLongitude": Tag(R(20, 1), R(0, 1), R(0, 1)),
          "GPS GPSAltitude": Tag(R(42123, 1000))}, 10.0, 20.0, 42.123),  # no Ref: positive, like exiftool
        ({"GPS GPSLatitude": Tag(R(10, 1), R(0, 1), R(0, 1))}, None, None, None),  # half a position
        ({"GPS GPSLatitudeRef": Tag(""), "GPS GPSLatitude": Tag(R(0, 0), R(0, 0), R(0, 0)),
          "GPS GPSLongitude": Tag(R(0, 0), R(0, 0), R(0, 0)), "GPS GPSAltitude": Tag(R(0, 0))}, None, None, None),
        ({"GPS GPSLatitude": Tag(R(95, 1), R(0, 1), R(0, 1)), "GPS GPSLongitude": Tag(R(20, 1), R(0, 1), R(0, 1))},
         None, None, None),  # out of range
    ],
)
def test_exif_gps(tags, lat, lon, alt):
    f = exif_fields(tags)
    assert f.lat_deg == (None if lat is None else pytest.approx(lat))
    assert f.lon_deg == (None if lon is None else pytest.approx(lon))
    assert f.alt_m == (None if alt is None else pytest.approx(alt))


@pytest.mark.parametrize(
    "text, subsec, offset, expected",
    [
        ("2016:09:28 18:18:05", "813", None, datetime(2016, 9, 28, 18, 18, 5, 813000)),
        ("2023:10:06 22:53:51", "724", "+02:00", datetime(2023, 10, 6, 22, 53, 51, 724000,
                                                           timezone(timedelta(hours=2)))),
        ("2021:04:11 15:47:53", "054", "-05:00", datetime(2021, 4, 11, 15, 47, 53, 54000,
                                                           timezone(timedelta(hours=-5)))),
        ("2013-07-05T03:18:27Z", None, None, datetime(2013, 7, 5, 3, 18, 27, tzinfo=timezone.utc)),
        ("    :  :     :  :  ", None, None, None),
        ("0000:00:00 00:00:00", None, None, None),
        (None, None, None, None),
    ],
)
def test_exif_datetime(text, subsec, offset, expected):
    assert parse_exif_datetime(text, subsec, offset) == expected


@settings(max_examples=60, deadline=None)
@given(lat=st.floats(-89.999, 89.999), lon=st.floats(-179.999, 179.999), alt=st.floats(-400, 9000))
def test_exif_gps_round_trip(lat, lon, alt):
    """Write lat/lon/alt as EXIF rationals, read them back within 1e-7 degree and 1 mm."""
    from patrol.ingest.exif import read_exif

    tiff = build_tiff([(0x010F, ASCII, "DJI")], None, gps_entries(lat, lon, alt))
    f = read_exif(tiff, "gen")
    assert f.lat_deg == pytest.approx(lat, abs=1e-7)
    assert f.lon_deg == pytest.approx(lon, abs=1e-7)
    assert f.alt_m == pytest.approx(alt, abs=1e-3)


# ------------------------------------------------------------------------------------------ JPEG

def test_sof_size_not_exif_size(tmp_path):
    tiff = build_tiff([(0x010F, ASCII, "X")], [(0xA002, SHORT, [4000]), (0xA003, SHORT, [3000])])
    meta = read_frame(write(tmp_path, "a.jpg", make_jpeg(tiff, w=320, h=240)))
    assert meta.size_wh == (320, 240)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty file"),
        (b"GIF89a....", "not a JPEG, HEIC or TIFF"),
        (b"\xff\xd8\xff\xe1\x00", "no frame header"),  # truncated inside the first segment
        (b"\xff\xd8\x00\x00\x00", "corrupt JPEG header"),
        (b"\xff\xd8\xff\xe1\x00\x01", "corrupt JPEG segment length"),
    ],
)
def test_bad_jpeg(tmp_path, data, message):
    with pytest.raises(BadImage, match=message):
        read_frame(write(tmp_path, "bad.jpg", data))


def test_header_stops_at_sos():
    """Bytes after the start of scan are never parsed (a fake SOF there is ignored)."""
    j = tiny_jpeg(32, 16)
    junk = segment(0xC0, b"\x08\x99\x99\x99\x99\x03")
    hdr = parse_jpeg_header(j + junk)
    assert hdr.size_wh == (32, 16)


def test_extended_xmp_reassembled(tmp_path):
    import struct

    guid = b"0123456789ABCDEF0123456789ABCDEF"
    main = dji_xmp({"RelativeAltitude": "+10.0"}).replace(
        "<rdf:Description", '<rdf:Description xmlns:xmpNote="http://ns.adobe.com/xmp/note/" '
        'xmpNote:HasExtendedXMP="0123456789ABCDEF0123456789ABCDEF"', 1)
    ext = dji_xmp({"GimbalPitchDegree": "-45.5"}).encode()
    half = len(ext) // 2
    segs = b""
    for off, chunk in ((0, ext[:half]), (half, ext[half:])):
        segs += segment(0xE1, b"http://ns.adobe.com/xmp/extension/\x00" + guid + struct.pack(">II", len(ext), off) + chunk)
    data = make_jpeg(None, main, extra=segs)
    meta = read_frame(write(tmp_path, "ext.jpg", data))
    assert meta.rel_alt_m == 10.0 and meta.gimbal_pitch_deg == -45.5


# ------------------------------------------------------------------------------------------- XMP

DJI = {
    "RelativeAltitude": "+98.90", "AbsoluteAltitude": "+336.66", "GimbalYawDegree": "+37.10",
    "GimbalPitchDegree": "-89.90", "GimbalRollDegree": "+0.00", "FlightYawDegree": "+37.90",
    "FlightPitchDegree": "+3.30", "FlightRollDegree": "-1.80", "CalibratedFocalLength": "3666.666504",
    "CalibratedOpticalCenterX": "2736.0", "CalibratedOpticalCenterY": "1824.0", "RtkFlag": "50",
    "RtkStdLon": "0.011", "RtkStdLat": "0.012", "RtkStdHgt": "0.025", "GpsLatitude": "22.5", "GpsLongitude": "114.25",
}


@pytest.mark.parametrize("element_form", [False, True])
def test_xmp_dji_both_forms(element_form):
    fields = parse_xmp(dji_xmp(DJI, element_form).encode())
    for k, v in DJI.items():
        assert fields[f"drone-dji:{k}"] == v
    assert xmp_float(fields, "drone-dji:GimbalPitchDegree") == -89.9


def test_xmp_other_prefix_same_namespace():
    text = dji_xmp({"RelativeAltitude": "5"}).replace("drone-dji:", "dd:").replace("xmlns:drone-dji", "xmlns:dd")
    assert parse_xmp(text.encode()) == {"drone-dji:RelativeAltitude": "5"}


def test_xmp_utf16():
    data = dji_xmp({"RelativeAltitude": "7.5"}).encode("utf-16-be")
    assert parse_xmp(data)["drone-dji:RelativeAltitude"] == "7.5"


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" drone-dji:RelativeAltitude="&lol9;"/>'
    "</rdf:RDF></x:xmpmeta>"
)


def test_xml_bomb_refused_quickly(tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(BadMetadata, match="XMP refused") as exc:
        read_frame(write(tmp_path, "bomb.jpg", make_jpeg(None, BOMB)))
    assert time.perf_counter() - t0 < 1.0
    from defusedxml import DefusedXmlException

    assert isinstance(exc.value.__cause__, DefusedXmlException)  # refused by defusedxml, not by luck


@pytest.mark.parametrize(
    "xmp, error",
    [
        ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF', BadMetadata),
        ('<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><x:xmpmeta xmlns:x="adobe:ns:meta/"/>', BadMetadata),
        ("<a>" + "x" * (5 * 1024 * 1024) + "</a>", BadMetadata),
    ],
)
def test_bad_xmp(xmp, error):
    with pytest.raises(error):
        parse_xmp(xmp.encode())


# ------------------------------------------------------------------------------------ read_frame

def test_read_frame_dji(tmp_path):
    tiff = build_tiff(
        [(0x010F, ASCII, "DJI"), (0x0110, ASCII, "FC6310R"), (0x0112, SHORT, [1])],
        [(0x9003, ASCII, "2024:05:06 07:08:09"), (0x920A, RATIONAL, [(880, 100)]), (0xA405, SHORT, [24]),
         (0xA002, SHORT, [5472]), (0xA003, SHORT, [3648])],
        gps_entries(22.5, 114.25, 120.5),
    )
    meta = read_frame(write(tmp_path, "DJI_0001.JPG", make_jpeg(tiff, dji_xmp(DJI), w=5472 // 8, h=3648 // 8)))
    assert (meta.lat_deg, meta.lon_deg) == (pytest.approx(22.5), pytest.approx(114.25))
    assert meta.abs_alt_m == pytest.approx(120.5)
    assert meta.rel_alt_m == 98.9 and meta.gimbal_yaw_deg == 37.1 and meta.flight_roll_deg == -1.8
    assert meta.rtk_flag == 50 and meta.rtk_std_m == (0.011, 0.012, 0.025)
    # calibrated intrinsics are for 5472 px: scaled to the decoded 684 px
    i = meta.intrinsics
    assert i.source == "xmp-calibrated" and i.size_wh == (684, 456)
    assert i.fx_px == pytest.approx(3666.666504 / 8) and i.cx_px == pytest.approx(2736.0 / 8)


def test_read_frame_gps_from_xmp_when_exif_has_none(tmp_path):
    meta = read_frame(write(tmp_path, "x.jpg", make_jpeg(None, dji_xmp({"GpsLatitude": "1.5", "GpsLongtitude": "2.5"}))))
    assert (meta.lat_deg, meta.lon_deg) == (1.5, 2.5)


def test_require_position(tmp_path):
    meta = read_frame(write(tmp_path, "nogps.jpg", make_jpeg(None, None)))
    with pytest.raises(InputError, match="no GPS position"):
        require_position(meta)


BAD_OR_ODD = ["30-type_error.jpg", "35-empty.jpg", "36-memory_error.jpg", "45-gps_ifd.jpg", "corrupted.jpg",
              "image00971.jpg", "image01137.jpg", "landscape_6.jpg", "no_exif.jpg"]


@pytest.mark.parametrize("name", BAD_OR_ODD)
def test_bad_or_odd_real_files_never_crash(name):
    p = shared_path("exif", "exif-samples", "bad_or_odd", name)
    meta = read_frame(p)  # metadata read (what there is), never an exception other than InputError
    assert meta.size_wh is not None
    with pytest.raises(InputError, match="no GPS position"):
        require_position(meta)


def test_landscape_orientation():
    meta = read_frame(shared_path("exif", "exif-samples", "bad_or_odd", "landscape_6.jpg"))
    assert meta.orientation == 6 and meta.size_wh == (450, 600)


def test_heic_metadata():
    meta = read_frame(shared_path("exif", "exif-samples", "gps", "IMG_5195.HEIC"))
    assert meta.lat_deg == pytest.approx(39.0513444444444, abs=1e-7)
    assert meta.size_wh == (2566, 3313) and meta.intrinsics is not None


def test_heic_pixels_need_decoder():
    from patrol.ingest import load_image

    meta = read_frame(shared_path("exif", "exif-samples", "gps", "IMG_5195.HEIC"))
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        with pytest.raises(BadImage, match="pillow-heif"):
            load_image(meta)
    else:
        assert load_image(meta).shape[:2] == (3313, 2566)


def test_iter_inputs_parallel_equals_serial(tmp_path, monkeypatch):
    import patrol.ingest as ingest

    for i in range(6):
        tiff = build_tiff([(0x010F, ASCII, "DJI")], None, gps_entries(10 + i, 20 + i, 5.0))
        write(tmp_path, f"P{i}.jpg", make_jpeg(tiff, dji_xmp({"RelativeAltitude": str(i)})))
    write(tmp_path, "P9.jpg", b"not a jpeg")
    serial = list(ingest.iter_inputs([tmp_path], workers=1))
    monkeypatch.setattr(ingest, "PARALLEL_MIN_FILES", 1)
    parallel = list(ingest.iter_inputs([tmp_path], workers=2))
    assert [getattr(x, "path", None) for x in serial] == [getattr(x, "path", None) for x in parallel]
    assert [x for x in serial if not isinstance(x, InputError)] == [x for x in parallel if not isinstance(x, InputError)]
    assert isinstance(serial[-1], InputError) and "not a JPEG" in serial[-1].reason
