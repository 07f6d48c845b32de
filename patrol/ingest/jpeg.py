"""JPEG header reading: the marker segments up to the start of scan, never the compressed image.

Reads only the bytes it needs: each segment's 4-byte header, the payload of the segments we use
(SOF for the pixel size, APP1 Exif/XMP/extended XMP, Casio QVCI) and a seek over everything else.
A 20 MP DJI photo costs a few kilobytes of I/O. ``parse_jpeg_header(data)`` is the pure core (bytes
in, JpegHeader out); ``read_jpeg_header(path)`` is the file edge.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from patrol.errors import BadImage

SOI = b"\xff\xd8"
# Start-of-frame markers that carry the frame size: baseline, extended, progressive, lossless,
# hierarchical and arithmetic variants (not C4 DHT, C8 JPG, CC DAC).
SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
EXIF_ID = b"Exif\x00\x00"
XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXT_ID = b"http://ns.adobe.com/xmp/extension/\x00"
QVCI_ID = b"QVCI\x00"
FLIR_ID = b"FLIR\x00"
MAX_FLIR_BYTES = 8 * 1024 * 1024
MAX_SEGMENTS = 4096  # a real JPEG has tens; more means a crafted or corrupt file
MAX_EXTENDED_XMP = 16 * 1024 * 1024  # bounded memory for extended XMP reassembly


@dataclass(frozen=True)
class JpegHeader:
    """What the JPEG header segments hold. ``size_wh`` is the decoded pixel size (from SOF)."""

    size_wh: tuple[int, int] | None
    exif_tiff: bytes | None = None  # the TIFF structure inside APP1 "Exif\0\0"
    xmp: bytes | None = None  # the main XMP packet
    extended_xmp: dict[str, bytes] = field(default_factory=dict)  # GUID -> reassembled packet
    qvci: bytes | None = None  # Casio QVCI APP1 payload (old Casio cameras keep the date there)
    flir: bytes | None = None  # FLIR FFF record file, reassembled from its APP1 "FLIR" segments
    sof_marker: int | None = None


class _Source:
    """Minimal reader over bytes or a binary file, with seek-forward, so one parser serves both."""

    def __init__(self, fh: BinaryIO | None = None, data: bytes | None = None) -> None:
        self.fh = fh
        self.data = data
        self.pos = 0

    def read(self, n: int) -> bytes:
        if self.data is not None:
            out = self.data[self.pos : self.pos + n]
            self.pos += len(out)
            return out
        assert self.fh is not None
        out = self.fh.read(n)
        self.pos += len(out)
        return out

    def skip(self, n: int) -> None:
        if self.data is not None:
            self.pos += n
            return
        assert self.fh is not None
        self.fh.seek(n, 1)
        self.pos += n


def _parse(src: _Source, path: str) -> JpegHeader:
    if src.read(2) != SOI:
        raise BadImage(path, "not a JPEG file (no SOI marker at the start)")
    size_wh: tuple[int, int] | None = None
    sof_marker: int | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    qvci: bytes | None = None
    flir_parts: list[bytes] = []
    flir_total = 0
    ext_parts: dict[bytes, tuple[int, dict[int, bytes]]] = {}
    ext_total = 0
    for _ in range(MAX_SEGMENTS):
        b = src.read(1)
        if not b:
            break  # truncated before SOS: report what we have (size check below)
        if b != b"\xff":
            raise BadImage(path, f"corrupt JPEG header: expected a marker at byte {src.pos - 1}")
        marker_b = src.read(1)
        while marker_b == b"\xff":  # fill bytes
            marker_b = src.read(1)
        if not marker_b:
            break
        marker = marker_b[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        if marker == 0xD9:  # EOI before SOS
            break
        length_b = src.read(2)
        if len(length_b) < 2:
            break
        (length,) = struct.unpack(">H", length_b)
        if length < 2:
            raise BadImage(path, f"corrupt JPEG segment length {length} at byte {src.pos - 2}")
        n = length - 2
        if marker == 0xDA:  # SOS: the compressed data starts; everything we need came before
            break
        if marker in SOF_MARKERS:
            payload = src.read(n)
            if len(payload) >= 5 and size_wh is None:
                h, w = struct.unpack(">HH", payload[1:5])
                if w > 0 and h > 0:
                    size_wh = (w, h)
                    sof_marker = marker
        elif marker == 0xE1:
            payload = src.read(n)
            if payload.startswith(EXIF_ID):
                if exif is None:
                    exif = payload[len(EXIF_ID) :]
            elif payload.startswith(XMP_ID):
                if xmp is None:
                    xmp = payload[len(XMP_ID) :]
            elif payload.startswith(XMP_EXT_ID):
                body = payload[len(XMP_EXT_ID) :]
                if len(body) >= 40:
                    guid = body[:32]
                    full_len, offset = struct.unpack(">II", body[32:40])
                    chunk = body[40:]
                    ext_total += len(chunk)
                    if full_len <= MAX_EXTENDED_XMP and ext_total <= MAX_EXTENDED_XMP:
                        ext_parts.setdefault(guid, (full_len, {}))[1][offset] = chunk
            elif payload.startswith(QVCI_ID):
                qvci = payload
            elif payload.startswith(FLIR_ID) and len(payload) > 8:
                flir_total += len(payload) - 8
                if flir_total <= MAX_FLIR_BYTES:
                    flir_parts.append(payload[8:])  # after "FLIR\0", 0x01, segment index, last index
        else:
            src.skip(n)
    extended: dict[str, bytes] = {}
    for guid, (full_len, chunks) in ext_parts.items():
        buf = b"".join(chunks[k] for k in sorted(chunks))
        if len(buf) == full_len:  # incomplete extensions are ignored, like exiftool does
            extended[guid.decode("ascii", "replace")] = buf
    flir = b"".join(flir_parts) if flir_parts else None
    return JpegHeader(size_wh, exif, xmp, extended, qvci, flir, sof_marker)


def parse_jpeg_header(data: bytes, path: str = "<bytes>") -> JpegHeader:
    """Parse the JPEG segments of ``data`` up to the start of scan. Raises BadImage when not a JPEG."""
    return _parse(_Source(data=data), path)


def read_jpeg_header(path: str | Path) -> JpegHeader:
    """Read the JPEG header segments of a file without touching the compressed image data."""
    p = str(path)
    try:
        with open(p, "rb", buffering=16384) as fh:
            return _parse(_Source(fh=fh), p)
    except OSError as e:
        raise BadImage(p, f"cannot read file: {e.strerror or e}") from e


def is_jpeg(head: bytes) -> bool:
    return head[:2] == SOI
