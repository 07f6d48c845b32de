"""Whole-image decoding: the one place that turns an image file into pixels, and proves it is whole.

A truncated or damaged image must never reach the detector, the before/after comparison or a report:
OpenCV happily returns a JPEG whose lower half is grey and only prints libjpeg's "Premature end of JPEG
file" on stderr. ``decode_image`` therefore

1. reads the pixel size from the header and refuses an image over ``max_image_px`` *before* decoding
   (a decompression bomb is one clear error, never a crash, and memory stays bounded);
2. checks the container is complete: a JPEG reaches its end-of-image marker after the scan data, a
   PNG's chunks (CRCs included) reach IEND, a TIFF's strips or tiles lie inside the file, a BMP is as
   long as its header says;
3. decodes with libjpeg/libpng's warnings captured (they go to file descriptor 2, so the descriptor
   is redirected for the call) and treats any corrupt-data warning as a failure;
4. checks the decoded size equals the header's, and converts to BGR uint8 (16-bit and float TIFF
   bands are stretched for the detector: see ``to_bgr8``).

Every failure is a BadImage naming the file and what is wrong. ``inspect_image`` / ``check_complete``
are the pure cores (bytes in); ``decode_image`` is the file edge.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from patrol.errors import BadImage

DEFAULT_MAX_IMAGE_PX = 200_000_000  # 200 MP: twice a 100 MP sensor; 600 MB as BGR
PNG_SIG = b"\x89PNG\r\n\x1a\n"
# libjpeg / libpng messages that mean the pixels are not what the camera wrote.
CORRUPT_MARKERS = ("corrupt jpeg data", "premature end", "bogus", "invalid", "libpng error", "crc error", "truncated")


@dataclass(frozen=True)
class ImageHeader:
    """What an image's header says: its format and pixel size (width, height)."""

    format: str  # jpeg | png | tiff | heif | bmp
    size_wh: tuple[int, int]

    @property
    def pixels(self) -> int:
        return self.size_wh[0] * self.size_wh[1]


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


# --- headers (pure) --------------------------------------------------------------------------------


def _jpeg_scan_start(data: bytes) -> int | None:
    """Offset of the first SOS marker (the compressed image data follows), None if none."""
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        m = data[i + 1]
        if m == 0xFF:  # fill byte
            i += 1
            continue
        if m == 0xDA:
            return i
        if m in (0xD8, 0x01) or 0xD0 <= m <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if length < 2:
            return None
        i += 2 + length
    return None


def _tiff_ifd0(data: bytes) -> tuple[str, dict[int, list[int]]]:
    """Byte order and the integer-valued entries of IFD0 of a classic TIFF. ValueError if damaged."""
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        if data[:4] in (b"II+\x00", b"MM\x00+"):
            raise ValueError("BigTIFF is not supported")
        raise ValueError("not a TIFF")
    e = "<" if data[:2] == b"II" else ">"
    (off,) = struct.unpack(e + "I", data[4:8])
    if off + 2 > len(data):
        raise ValueError(f"the first IFD at byte {off} is beyond the end of the file ({len(data)} bytes)")
    (count,) = struct.unpack(e + "H", data[off : off + 2])
    if off + 2 + 12 * count > len(data):
        raise ValueError("first IFD runs past the end of the file")
    sizes = {3: (2, "H"), 4: (4, "I"), 1: (1, "B"), 16: (8, "Q")}
    out: dict[int, list[int]] = {}
    for k in range(count):
        pos = off + 2 + 12 * k
        tag, typ, n = struct.unpack(e + "HHI", data[pos : pos + 8])
        if typ not in sizes or n > 10_000_000:
            continue
        size, fmt = sizes[typ]
        total = size * n
        where = pos + 8 if total <= 4 else struct.unpack(e + "I", data[pos + 8 : pos + 12])[0]
        if where + total > len(data):
            raise ValueError(f"tag {tag} points beyond the end of the file")
        out[tag] = list(struct.unpack(f"{e}{n}{fmt}", data[where : where + total]))
    return e, out


def inspect_image(data: bytes, path: str = "<bytes>") -> ImageHeader:
    """Format and pixel size from the first bytes of an image (pure). BadImage when unknown or damaged."""
    if data[:2] == b"\xff\xd8":
        from patrol.ingest.jpeg import parse_jpeg_header

        hdr = parse_jpeg_header(data, path)
        if hdr.size_wh is None:
            raise BadImage(path, "truncated or corrupt JPEG: no frame header (SOF) before the image data")
        return ImageHeader("jpeg", hdr.size_wh)
    if data[:8] == PNG_SIG:
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise BadImage(path, "corrupt PNG: no IHDR header")
        w, h = struct.unpack(">II", data[16:24])
        return ImageHeader("png", (w, h))
    if data[:2] in (b"II", b"MM"):
        try:
            _, ifd = _tiff_ifd0(data)
        except (ValueError, struct.error) as e:
            raise BadImage(path, f"{'truncated' if 'end of the file' in str(e) else 'corrupt'} TIFF: {e}") from e
        if 256 not in ifd or 257 not in ifd:
            raise BadImage(path, "corrupt TIFF: no ImageWidth/ImageLength in the first IFD")
        return ImageHeader("tiff", (ifd[256][0], ifd[257][0]))
    if data[:2] == b"BM" and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return ImageHeader("bmp", (abs(w), abs(h)))
    from patrol.ingest.heic import is_heif

    if is_heif(data[:16]):
        return ImageHeader("heif", (0, 0))  # the size is read from the file by libheif (see decode)
    raise BadImage(path, "not a JPEG, PNG, TIFF, BMP or HEIC image")


def check_pixel_limit(header: ImageHeader, max_image_px: int, path: str) -> None:
    """BadImage when the header claims more pixels than ``max_image_px`` (a decompression bomb)."""
    w, h = header.size_wh
    if header.format != "heif" and (w <= 0 or h <= 0):
        raise BadImage(path, f"{header.format.upper()} header gives an empty size {w}x{h}")
    if header.pixels > max_image_px:
        raise BadImage(
            path,
            f"image header claims {w}x{h} = {header.pixels / 1e6:.0f} MP, over the limit of "
            f"{max_image_px / 1e6:.0f} MP (ingest.max_image_px): not decoded",
        )


def jpeg_end_problem(data: bytes) -> str | None:
    """Why a JPEG's bytes are incomplete, or None when its scan data reaches an EOI marker (pure).

    Entropy-coded data never holds FF D9 (a data FF is followed by 00 or a restart marker), so the first
    FF D9 after the first SOS is the end of the main image; thumbnails sit before the SOS and MPF
    previews after the EOI, so neither can pass for it.
    """
    sos = _jpeg_scan_start(data)
    if sos is None:
        return f"truncated or corrupt JPEG: no start of scan in its {_mb(len(data))}"
    if data.find(b"\xff\xd9", sos) < 0:
        return f"truncated: the image data stops after {_mb(len(data))} with no end-of-image marker"
    return None


def _png_problem(data: bytes) -> str | None:
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            return f"truncated PNG: chunk {kind.decode('latin-1')!r} runs past the end ({_mb(len(data))})"
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[pos + 4 : end - 4]) & 0xFFFFFFFF != crc:
            return f"corrupt PNG: bad CRC in chunk {kind.decode('latin-1')!r} at byte {pos}"
        if kind == b"IEND":
            return None
        pos = end
    return f"truncated PNG: no IEND chunk in its {_mb(len(data))}"


def _tiff_problem(data: bytes) -> str | None:
    try:
        _, ifd = _tiff_ifd0(data)
    except (ValueError, struct.error) as e:
        return f"{'truncated' if 'end of the file' in str(e) else 'corrupt'} TIFF: {e}"
    for off_tag, cnt_tag, what in ((273, 279, "strip"), (324, 325, "tile")):
        offs, cnts = ifd.get(off_tag), ifd.get(cnt_tag)
        if offs is None:
            continue
        if cnts is None or len(cnts) != len(offs):
            return f"corrupt TIFF: {what} offsets without matching byte counts"
        for k, (o, c) in enumerate(zip(offs, cnts)):
            if o + c > len(data):
                return f"truncated TIFF: {what} {k + 1} of {len(offs)} ends at byte {o + c}, the file has {len(data)}"
        return None
    return "corrupt TIFF: no strip or tile offsets in the first IFD"


def check_complete(header: ImageHeader, data: bytes) -> str | None:
    """Why the container is incomplete, or None (pure). HEIC is checked by its decoder."""
    if header.format == "jpeg":
        return jpeg_end_problem(data)
    if header.format == "png":
        return _png_problem(data)
    if header.format == "tiff":
        return _tiff_problem(data)
    if header.format == "bmp":
        (declared,) = struct.unpack("<I", data[2:6])
        if declared > len(data):
            return f"truncated BMP: {_mb(len(data))} of {_mb(declared)}"
    return None


# --- pixels ----------------------------------------------------------------------------------------


def to_bgr8(img: np.ndarray) -> np.ndarray:
    """Any decoded array -> BGR uint8 (H, W, 3). 8-bit passes through; 16-bit and float bands (DJI
    multispectral and radiometric thermal TIFF) are stretched linearly from their 0.1th to 99.9th
    percentile, so a band that uses a few thousand of 65536 levels still shows its contrast."""
    import cv2

    if img.dtype != np.uint8:
        a = img.astype(np.float32)
        finite = a[np.isfinite(a)]
        if finite.size == 0:
            a = np.zeros_like(a)
            lo, hi = 0.0, 1.0
        else:
            sample = finite[:: max(1, finite.size // 1_000_000)]
            lo, hi = (float(v) for v in np.percentile(sample, (0.1, 99.9)))
            if hi <= lo:
                hi = lo + 1.0
        a = np.nan_to_num(a, nan=lo, posinf=hi, neginf=lo)
        img = np.clip((a - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    c = img.shape[2]
    if c == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2BGR)
    if c == 3:
        return img
    if c == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if c == 2:  # grey + alpha
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img[:, :, :3])


_FD2_LOCK = threading.Lock()  # the redirection of descriptor 2 is process-wide: one decode at a time


@contextmanager
def _captured_fd2() -> Iterator[list[str]]:
    """Collect what C libraries write to file descriptor 2 during the block (into the yielded list)."""
    out: list[str] = []
    with _FD2_LOCK, tempfile.TemporaryFile() as tmp:
        try:
            sys.stderr.flush()
        except (AttributeError, ValueError, OSError):
            pass
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read(65536).decode("utf-8", "replace"))


def _corrupt_message(text: str) -> str | None:
    for line in text.splitlines():
        low = line.strip().lower()
        if low and any(m in low for m in CORRUPT_MARKERS):
            return line.strip()
    return None


def _decode_heif(path: str, max_image_px: int) -> np.ndarray:
    try:
        import pillow_heif
    except ImportError as e:
        raise BadImage(path, "HEIC pixels need the decoder pillow-heif (pip install pillow-heif)") from e
    try:
        heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=True)
        w, h = heif.size
        check_pixel_limit(ImageHeader("heif", (w, h)), max_image_px, path)
        rgb = np.asarray(heif)
    except BadImage:
        raise
    except (ValueError, RuntimeError, OSError, SyntaxError) as e:  # libheif reports damage as these
        raise BadImage(path, f"damaged HEIC: {e}") from e
    if rgb.ndim != 3 or (rgb.shape[1], rgb.shape[0]) != (w, h):
        raise BadImage(path, f"damaged HEIC: decoded {rgb.shape} for a {w}x{h} image")
    import cv2

    if rgb.dtype != np.uint8:
        return to_bgr8(rgb[:, :, ::-1].copy())
    return cv2.cvtColor(rgb[:, :, :3], cv2.COLOR_RGB2BGR)


def decode_bytes(data: bytes, path: str, max_image_px: int = DEFAULT_MAX_IMAGE_PX) -> np.ndarray:
    """Decode a whole image held in memory to BGR uint8; BadImage naming ``path`` when it is not whole.

    EXIF orientation is NOT applied: pixel coordinates stay those of the camera model.
    """
    import cv2

    if not data:
        raise BadImage(path, "empty file")
    header = inspect_image(data, path)
    if header.format == "heif":
        raise BadImage(path, "HEIC is decoded from its file (decode_image), not from bytes")
    check_pixel_limit(header, max_image_px, path)
    problem = check_complete(header, data)
    if problem:
        raise BadImage(path, problem)
    flags = cv2.IMREAD_UNCHANGED if header.format == "tiff" else cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        with _captured_fd2() as messages:
            img = cv2.imdecode(buf, flags)
    except cv2.error as e:
        raise BadImage(path, f"cannot decode {header.format.upper()} pixels: {str(e).strip().splitlines()[-1]}") from e
    bad = _corrupt_message("".join(messages))
    if bad:
        raise BadImage(path, f"damaged {header.format.upper()} data: {bad}")
    if img is None or img.size == 0:
        raise BadImage(path, f"cannot decode {header.format.upper()} pixels")
    if (img.shape[1], img.shape[0]) != header.size_wh:
        raise BadImage(path, f"decoded {img.shape[1]}x{img.shape[0]} pixels, the header says {header.size_wh[0]}x{header.size_wh[1]}")
    return to_bgr8(img)


def decode_image(path: str | Path, max_image_px: int = DEFAULT_MAX_IMAGE_PX) -> np.ndarray:
    """Decode an image file (JPEG, PNG, TIFF, BMP, HEIC) to BGR uint8 (H, W, 3), proven whole.

    BadImage (one line: the file and what is wrong) when it cannot be read, claims more than
    ``max_image_px`` pixels, is truncated, or its decoder reports corrupt data.
    """
    p = str(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(64)
            from patrol.ingest.heic import is_heif

            if is_heif(head[:16]):
                return _decode_heif(p, max_image_px)
            size = os.fstat(fh.fileno()).st_size
            # Bounded memory: no image of the allowed size needs more than 8 bytes a pixel on disk.
            if size > 8 * max_image_px + (64 << 20):
                raise BadImage(p, f"file of {_mb(size)} is too large for an image of at most {max_image_px / 1e6:.0f} MP")
            data = head + fh.read()
    except OSError as e:
        raise BadImage(p, f"cannot read file: {e.strerror or e}") from e
    return decode_bytes(data, p, max_image_px)
