"""TIFF photos: a DJI P4 Multispectral-style band image (16-bit, EXIF GPS, drone-dji XMP in tag 700)
built here IFD by IFD; metadata read like a JPEG's, pixels decoded and stretched, damage refused."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from patrol.errors import BadImage
from patrol.ingest import decode_image, iter_inputs, read_frame
from tests.ingest.jpeggen import ASCII, BYTE, LONG, RATIONAL, SHORT, build_tiff, dji_xmp, gps_entries

W, H = 1600, 1300
XMP = {
    "RelativeAltitude": "+60.10", "AbsoluteAltitude": "+112.30", "GimbalYawDegree": "+12.5",
    "GimbalPitchDegree": "-90.0", "GimbalRollDegree": "+0.0", "FlightYawDegree": "+12.1",
    "CalibratedFocalLength": "1913.333", "CalibratedOpticalCenterX": "800.0", "CalibratedOpticalCenterY": "650.0",
}


def band_tiff(pixels: np.ndarray, *, lat=38.123456, lon=114.654321, alt=112.3, model="FC6360", xmp: dict | None = None) -> bytes:
    """A little-endian TIFF like a P4 Multispectral band: one uncompressed strip, IFD0 with Make, Model,
    XMLPacket (700), Exif (date, focal length, pixel size) and GPS sub-IFDs, pixels after the IFDs."""
    h, w = pixels.shape[:2]
    bits = pixels.dtype.itemsize * 8
    raw = pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()
    xmp_b = dji_xmp(XMP if xmp is None else xmp).encode()

    def ifd0(strip_off: int) -> list:
        return [
            (256, LONG, [w]), (257, LONG, [h]), (258, SHORT, [bits]), (259, SHORT, [1]), (262, SHORT, [1]),
            (271, ASCII, "DJI"), (272, ASCII, model), (273, LONG, [strip_off]), (277, SHORT, [1]),
            (278, LONG, [h]), (279, LONG, [len(raw)]), (284, SHORT, [1]), (700, BYTE, list(xmp_b)),
        ]

    exif = [(0x9003, ASCII, "2026:05:06 07:08:09"), (0x920A, RATIONAL, [(574, 100)]), (0xA002, LONG, [w]), (0xA003, LONG, [h])]
    gps = gps_entries(lat, lon, alt)
    head = build_tiff(ifd0(0), exif, gps)
    head = build_tiff(ifd0(len(head)), exif, gps)  # same length: the offset is an inline LONG
    return head + raw


def _band(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(2000, 9000, size=(H // 50, W // 50)).astype(np.uint16)
    return np.kron(small, np.ones((50, 50), np.uint16))


@pytest.fixture
def ms_tiff(tmp_path) -> Path:
    p = tmp_path / "DJI_0011.TIF"
    p.write_bytes(band_tiff(_band()))
    return p


def test_multispectral_tiff_metadata_like_jpeg(ms_tiff):
    m = read_frame(ms_tiff)
    assert m.size_wh == (W, H)
    assert m.lat_deg == pytest.approx(38.123456, abs=1e-7) and m.lon_deg == pytest.approx(114.654321, abs=1e-7)
    assert m.abs_alt_m == pytest.approx(112.3) and m.rel_alt_m == pytest.approx(60.1)
    assert (m.gimbal_yaw_deg, m.gimbal_pitch_deg, m.flight_yaw_deg) == (12.5, -90.0, 12.1)
    assert m.make == "DJI" and m.model == "FC6360" and m.focal_mm == pytest.approx(5.74)
    assert m.time.isoformat() == "2026-05-06T07:08:09"
    assert m.intrinsics.source == "xmp-calibrated" and m.intrinsics.fx_px == pytest.approx(1913.333)
    assert m.has_pose


def test_multispectral_tiff_pixels_16bit_scaled(ms_tiff):
    img = decode_image(ms_tiff)
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    assert img.min() == 0 and img.max() == 255  # stretched, not 2000/65535 of the range
    band = _band()
    # the stretch is monotonic: brighter band values stay brighter
    a, b = np.unravel_index(band.argmin(), band.shape), np.unravel_index(band.argmax(), band.shape)
    assert img[a][0] < img[b][0]


def test_8bit_generic_tiff(tmp_path):
    px = (np.arange(W * H) % 251).astype(np.uint8).reshape(H, W)
    p = tmp_path / "generic.tiff"
    p.write_bytes(band_tiff(px, model="Generic", xmp={}))
    m = read_frame(p)
    assert m.size_wh == (W, H) and m.lat_deg == pytest.approx(38.123456, abs=1e-7)
    img = decode_image(p)
    assert np.array_equal(img[:, :, 1], px)


def test_truncated_tiff_refused_at_ingest_and_decode(tmp_path):
    data = band_tiff(_band())
    p = tmp_path / "cut.tif"
    p.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(BadImage, match=r"truncated TIFF: strip 1 of 1 ends at byte"):
        read_frame(p)
    with pytest.raises(BadImage, match="truncated TIFF"):
        decode_image(p)


def test_tiff_bomb_header(tmp_path):
    data = bytearray(band_tiff(_band()))
    # ImageWidth / ImageLength are the first two IFD0 entries (tags sorted), values inline
    off = struct.unpack("<I", data[4:8])[0]
    data[off + 2 + 8 : off + 2 + 12] = struct.pack("<I", 70000)
    data[off + 2 + 12 + 8 : off + 2 + 24] = struct.pack("<I", 70000)
    p = tmp_path / "bomb.tif"
    p.write_bytes(bytes(data))
    with pytest.raises(BadImage, match="70000x70000 = 4900 MP, over the limit"):
        read_frame(p)
    with pytest.raises(BadImage, match="over the limit"):
        decode_image(p)


def test_tiff_found_in_folders(tmp_path, ms_tiff):
    items = list(iter_inputs([ms_tiff.parent]))
    assert [Path(i.path).name for i in items] == ["DJI_0011.TIF"]
    assert not isinstance(items[0], BadImage)


def test_heic_pixels_decode():
    from tests.conftest import shared_path

    pytest.importorskip("pillow_heif", reason="pillow-heif is a dependency; install with pip install -e .")
    p = shared_path("exif", "exif-samples", "gps", "IMG_5195.HEIC")
    m = read_frame(p)
    img = decode_image(p)
    assert (img.shape[1], img.shape[0]) == m.size_wh and img.dtype == np.uint8
    assert img.std() > 10  # real picture content, not a flat fill


def test_tiff_values_equal_exiftool(ms_tiff):
    """The same values as exiftool (when installed: apt-get install libimage-exiftool-perl)."""
    import json
    import shutil
    import subprocess

    if shutil.which("exiftool") is None:
        pytest.skip("exiftool not installed (apt-get install libimage-exiftool-perl)")
    ref = json.loads(subprocess.run(["exiftool", "-n", "-json", str(ms_tiff)], capture_output=True, text=True, check=True).stdout)[0]
    m = read_frame(ms_tiff)
    assert m.lat_deg == pytest.approx(ref["GPSLatitude"], abs=1e-7)
    assert m.lon_deg == pytest.approx(ref["GPSLongitude"], abs=1e-7)
    assert m.abs_alt_m == pytest.approx(ref["GPSAltitude"], abs=1e-3)
    assert m.rel_alt_m == pytest.approx(float(ref["RelativeAltitude"]), abs=1e-3)
    assert m.gimbal_yaw_deg == pytest.approx(float(ref["GimbalYawDegree"]))
    assert m.gimbal_pitch_deg == pytest.approx(float(ref["GimbalPitchDegree"]))
    assert m.size_wh == (ref["ImageWidth"], ref["ImageHeight"])
    assert (m.make, m.model) == (ref["Make"], ref["Model"])
