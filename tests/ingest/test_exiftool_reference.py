"""Every value exiftool reads from the real sample photos, read by patrol the same way.

../shared/data/exif/exiftool-reference.json is ``exiftool -n -json`` output for every photo under
exif/ and the five DJI photos in aerial-cars/. Tolerances: 1e-7 degree, 1 mm, exact strings.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from patrol.ingest import read_frame
from patrol.ingest.jpeg import read_jpeg_header
from patrol.ingest.xmp import parse_xmp
from tests.conftest import SHARED_DATA

REF_PATH = SHARED_DATA / "exif" / "exiftool-reference.json"
REFERENCE = json.loads(REF_PATH.read_text()) if REF_PATH.exists() else []
IDS = [r["SourceFile"] for r in REFERENCE]


# drone-dji XMP tag -> FrameMeta field
DJI_FIELDS = {
    "RelativeAltitude": "rel_alt_m",
    "GimbalYawDegree": "gimbal_yaw_deg",
    "GimbalPitchDegree": "gimbal_pitch_deg",
    "GimbalRollDegree": "gimbal_roll_deg",
    "FlightYawDegree": "flight_yaw_deg",
    "FlightPitchDegree": "flight_pitch_deg",
    "FlightRollDegree": "flight_roll_deg",
}


def _num(v):
    """exiftool -n value as float, or None for its 'missing' spellings ("", "undef")."""
    if v is None or v == "" or v == "undef":
        return None
    return float(v)


def _exiftool_time(s: str) -> datetime:
    m = re.match(r"(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$", s)
    assert m, s
    dt = datetime(*(int(x) for x in m.groups()[:6]))
    if m.group(7):
        dt = dt.replace(microsecond=int(m.group(7)[1:].ljust(6, "0")[:6]))
    if m.group(8):
        z = m.group(8)
        tz = timezone.utc if z == "Z" else timezone(
            (1 if z[0] == "+" else -1) * timedelta(hours=int(z[1:3]), minutes=int(z[4:6])))
        dt = dt.replace(tzinfo=tz)
    return dt


@pytest.fixture(scope="module", autouse=True)
def _need_reference():
    if not REFERENCE:
        pytest.skip(f"real sample data not available: {REF_PATH} (see ../shared/data/README.md)")


def test_reference_covers_all_photos():
    assert len(REFERENCE) >= 37


@pytest.mark.parametrize("ref", REFERENCE, ids=IDS)
def test_matches_exiftool(ref: dict) -> None:
    meta = read_frame(SHARED_DATA / ref["SourceFile"])
    lat, lon = _num(ref.get("GPSLatitude")), _num(ref.get("GPSLongitude"))
    if lat is None:
        assert meta.lat_deg is None and meta.lon_deg is None, "exiftool finds no position"
    else:
        assert meta.lat_deg == pytest.approx(lat, abs=1e-7)
        assert meta.lon_deg == pytest.approx(lon, abs=1e-7)
    alt = _num(ref.get("GPSAltitude"))
    if alt is None:
        assert meta.abs_alt_m is None
    else:
        assert meta.abs_alt_m == pytest.approx(alt, abs=1e-3)
    assert meta.make == ref.get("Make")
    assert meta.model == ref.get("Model")
    focal = _num(ref.get("FocalLength"))
    if focal is None:
        assert meta.focal_mm is None
    else:
        assert meta.focal_mm == pytest.approx(focal, abs=1e-9)
    f35 = _num(ref.get("FocalLengthIn35mmFormat"))
    assert meta.focal35_mm == (None if f35 is None else pytest.approx(f35, abs=1e-9))
    assert meta.size_wh == (ref["ImageWidth"], ref["ImageHeight"])
    if "DateTimeOriginal" not in ref:
        assert meta.time is None
    else:
        want = _exiftool_time(ref["DateTimeOriginal"])
        got = meta.time
        assert got is not None
        if want.microsecond == 0:  # exiftool's DateTimeOriginal has no SubSec: compare to the second
            got = got.replace(microsecond=0)
        if want.tzinfo is None:
            got = got.replace(tzinfo=None)
        assert got == want
        assert got.tzinfo == want.tzinfo or got.utcoffset() == want.utcoffset()
    for tag, field in DJI_FIELDS.items():
        if tag in ref:
            assert getattr(meta, field) == pytest.approx(float(ref[tag]), abs=1e-6), tag


@pytest.mark.parametrize("ref", [r for r in REFERENCE if "AbsoluteAltitude" in r], ids=lambda r: r["SourceFile"])
def test_dji_absolute_altitude_xmp(ref: dict) -> None:
    hdr = read_jpeg_header(SHARED_DATA / ref["SourceFile"])
    xmp = parse_xmp(hdr.xmp)
    assert xmp["drone-dji:AbsoluteAltitude"] == ref["AbsoluteAltitude"]  # the exact string
    assert float(xmp["drone-dji:RelativeAltitude"]) == pytest.approx(float(ref["RelativeAltitude"]), abs=1e-3)


def test_odm_seneca_pixel_size_is_not_exif_size() -> None:
    """EXIF says 4000x3000, the JPEG is 3240x2430: intrinsics must use the decoded size."""
    meta = read_frame(SHARED_DATA / "exif" / "odm-seneca" / "IMG_0446.jpg")
    assert meta.size_wh == (3240, 2430)


def test_infiray_zero_over_zero_is_missing_not_zero() -> None:
    meta = read_frame(SHARED_DATA / "exif" / "exiftool-t-images" / "InfiRay.jpg")
    assert meta.lat_deg is None and meta.lon_deg is None and meta.abs_alt_m is None
