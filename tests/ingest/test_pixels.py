"""The one whole-image decoder: truncated, corrupt and oversized images are one clear BadImage each,
never pixels; whole images decode exactly as OpenCV does."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from patrol.errors import BadImage
from patrol.ingest import decode_image, read_frame
from patrol.ingest.pixels import DEFAULT_MAX_IMAGE_PX, decode_bytes, inspect_image, to_bgr8
from tests.conftest import shared_path


def _noise(h: int = 240, w: int = 320, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, size=(h // 8, w // 8, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _jpeg(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


def bomb_jpeg(w: int = 65000, h: int = 65000) -> bytes:
    """A valid small JPEG whose frame header (SOF0) is rewritten to claim w x h pixels."""
    data = bytearray(_jpeg(_noise(64, 64)))
    i = data.find(b"\xff\xc0")
    assert i > 0
    data[i + 5 : i + 9] = struct.pack(">HH", h, w)
    return bytes(data)


def truncated_copy(src: Path, dst: Path, share: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * share)])
    return dst


def test_whole_images_decode_like_opencv(tmp_path):
    img = _noise()
    for ext in (".jpg", ".png", ".tif", ".bmp"):
        p = tmp_path / f"a{ext}"
        assert cv2.imwrite(str(p), img)
        got = decode_image(p)
        want = cv2.imread(str(p), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        assert got.dtype == np.uint8 and got.shape == want.shape
        assert np.array_equal(got, want), ext


def test_truncated_real_dji_photo_is_refused(tmp_path):
    src = shared_path("aerial-cars", "DJI_0010.JPG")
    p = truncated_copy(src, tmp_path / "DJI_0010.JPG")
    # OpenCV itself hands back a full-size image with a grey lower half: the failure this prevents
    half = cv2.imread(str(p), cv2.IMREAD_COLOR)
    assert half is not None and half.shape[:2] == (2250, 4000)
    with pytest.raises(BadImage, match=r"truncated: the image data stops after 2\.0 MB with no end-of-image marker") as e:
        decode_image(p)
    assert e.value.path == str(p)
    # ingest refuses it too (one line naming the file), before any stage could use it
    with pytest.raises(BadImage, match="truncated"):
        read_frame(p)
    # the whole file still reads
    assert decode_image(src).shape == (2250, 4000, 3)
    assert read_frame(src).size_wh == (4000, 2250)


@pytest.mark.parametrize("share", [0.999, 0.9, 0.2, 0.02])
def test_truncated_generated_jpeg_anywhere(tmp_path, share):
    data = _jpeg(_noise(480, 640))
    p = tmp_path / "t.jpg"
    p.write_bytes(data[: int(len(data) * share)])
    with pytest.raises(BadImage, match="truncated"):
        decode_image(p)


def test_corrupt_scan_data_is_refused(tmp_path):
    """A JPEG that ends properly but has damaged scan data: libjpeg only warns (caught here)."""
    data = bytearray(_jpeg(_noise(480, 640)))
    sos = data.find(b"\xff\xda")
    mid = (sos + len(data)) // 2
    data[mid : mid + 2] = b"\xff\xd3"  # an unexpected restart marker in the middle of the scan
    p = tmp_path / "c.jpg"
    p.write_bytes(bytes(data))
    assert cv2.imread(str(p)) is not None  # OpenCV returns pixels anyway
    with pytest.raises(BadImage, match="damaged JPEG data: Corrupt JPEG data"):
        decode_image(p)


def test_real_corrupted_jpeg_is_refused_but_its_metadata_reads():
    p = shared_path("exif", "exif-samples", "bad_or_odd", "corrupted.jpg")
    with pytest.raises(BadImage, match="Corrupt JPEG data"):
        decode_image(p)
    read_frame(p)  # metadata may still be listed


def test_decompression_bomb_refused_before_decoding(tmp_path):
    p = tmp_path / "bomb.jpg"
    p.write_bytes(bomb_jpeg())
    t = time.monotonic()
    with pytest.raises(BadImage, match=r"65000x65000 = 4225 MP, over the limit of 200 MP \(ingest.max_image_px\)"):
        decode_image(p)
    with pytest.raises(BadImage, match="over the limit"):
        read_frame(p)
    assert time.monotonic() - t < 1.0
    # configurable: with a limit above it, OpenCV's own limit answers, still as one BadImage
    with pytest.raises(BadImage):
        decode_image(p, max_image_px=10**10)
    with pytest.raises(BadImage, match="over the limit of 1 MP"):
        decode_image(tmp_path / "bomb.jpg", max_image_px=1_000_000)
    assert DEFAULT_MAX_IMAGE_PX >= 100_000_000


def test_png_truncated_and_bad_crc(tmp_path):
    ok, buf = cv2.imencode(".png", _noise())
    data = buf.tobytes()
    with pytest.raises(BadImage, match="truncated PNG"):
        decode_bytes(data[: len(data) // 2], "t.png")
    # flip one byte inside the IDAT payload: the chunk CRC catches it
    i = data.find(b"IDAT") + 40
    bad = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]
    with pytest.raises(BadImage, match="bad CRC in chunk 'IDAT'"):
        decode_bytes(bad, "c.png")
    # a PNG whose header claims too much
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 70000, 70000, 8, 2, 0, 0, 0)
    big = data[:8] + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + data[33:]
    with pytest.raises(BadImage, match="over the limit"):
        decode_bytes(big, "b.png")


def test_tiff_truncated_strips(tmp_path):
    p = tmp_path / "a.tif"
    cv2.imwrite(str(p), _noise(), [cv2.IMWRITE_TIFF_COMPRESSION, 1])
    data = p.read_bytes()
    assert inspect_image(data).size_wh == (320, 240)
    with pytest.raises(BadImage, match="truncated TIFF: the first IFD at byte"):
        decode_bytes(data[: len(data) // 2], "t.tif")
    # IFD first (Pillow's layout), strips cut off
    from PIL import Image

    Image.fromarray(_noise()).save(tmp_path / "b.tif")
    data = (tmp_path / "b.tif").read_bytes()
    assert struct.unpack("<I", data[4:8])[0] == 8
    with pytest.raises(BadImage, match=r"truncated TIFF: strip \d+ of \d+ ends at byte"):
        decode_bytes(data[: len(data) // 2], "t.tif")


def test_16bit_tiff_is_stretched_for_the_detector(tmp_path):
    band = (np.linspace(0, 1, 320 * 240).reshape(240, 320) * 4000 + 1000).astype(np.uint16)
    p = tmp_path / "ms.tif"
    cv2.imwrite(str(p), band)
    img = decode_image(p)
    assert img.shape == (240, 320, 3) and img.dtype == np.uint8
    assert img[0, 0, 0] == 0 and img[-1, -1, 0] == 255  # full contrast, not the top 6% of 0..255
    assert (img[:, :, 0] == img[:, :, 2]).all()  # one band -> grey
    f = to_bgr8(band.astype(np.float32) / 100.0)
    assert f.min() == 0 and f.max() == 255


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty file"),
        (b"hello world, not an image", "not a JPEG, PNG, TIFF, BMP or HEIC image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "no frame header"),
    ],
)
def test_not_images(tmp_path, data, message):
    p = tmp_path / "x.jpg"
    p.write_bytes(data)
    with pytest.raises(BadImage, match=message):
        decode_image(p)


def test_unreadable_path_is_bad_image(tmp_path):
    with pytest.raises(BadImage, match="cannot read file"):
        decode_image(tmp_path / "missing.jpg")
    with pytest.raises(BadImage, match="cannot read file"):
        decode_image(tmp_path)  # a folder


def test_every_real_photo_decodes_or_fails_with_one_line():
    root = shared_path("exif")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".heic", ".tif", ".tiff", ".png"))
    assert len(files) > 30
    bad = {}
    for p in files:
        try:
            img = decode_image(p)
            assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        except BadImage as e:
            assert "\n" not in str(e) and str(p) in str(e)
            bad[p.name] = e.reason
    assert set(bad) == {"corrupted.jpg"}, bad
