"""TIFF photos (DJI multispectral and thermal band images, generic TIFF with EXIF GPS): the metadata.

A TIFF file *is* the EXIF structure, so exifread reads its IFD0, Exif and GPS sub-IFDs like a JPEG's
APP1 block; the XMP packet (DJI ``drone-dji`` pose fields) is IFD0 tag 700 (XMLPacket). The pixel
size is IFD0's ImageWidth x ImageLength, the decoded size. ``parse_tiff_header(data)`` is the pure
core; ``read_tiff_header(path)`` the file edge.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from patrol.errors import BadImage

XMP_TAG = 700
MAX_TIFF_BYTES = 1 << 30  # a band image is a few MB; a file past 1 GB is not a patrol photo


@dataclass(frozen=True)
class TiffHeader:
    size_wh: tuple[int, int]
    xmp: bytes | None
    problem: str | None  # why the pixel data is incomplete (truncated strips), or None


def is_tiff(head: bytes) -> bool:
    return head[:4] in (b"II*\x00", b"MM\x00*")


def _tag_bytes(data: bytes, tag_wanted: int) -> bytes | None:
    """Raw value bytes of one IFD0 tag of type BYTE / UNDEFINED / ASCII (None when absent)."""
    e = "<" if data[:2] == b"II" else ">"
    (off,) = struct.unpack(e + "I", data[4:8])
    (count,) = struct.unpack(e + "H", data[off : off + 2])
    for k in range(count):
        pos = off + 2 + 12 * k
        tag, typ, n = struct.unpack(e + "HHI", data[pos : pos + 8])
        if tag != tag_wanted or typ not in (1, 2, 7):
            continue
        where = pos + 8 if n <= 4 else struct.unpack(e + "I", data[pos + 8 : pos + 12])[0]
        if where + n > len(data):
            return None
        return data[where : where + n]
    return None


def parse_tiff_header(data: bytes, path: str = "<bytes>") -> TiffHeader:
    """Pixel size, XMP packet and completeness of a classic TIFF (pure). BadImage when damaged."""
    from patrol.ingest.pixels import check_complete, inspect_image

    header = inspect_image(data, path)
    if header.format != "tiff":
        raise BadImage(path, "not a TIFF file")
    try:
        xmp = _tag_bytes(data, XMP_TAG)
    except struct.error as e:
        raise BadImage(path, f"corrupt TIFF: {e}") from e
    return TiffHeader(header.size_wh, xmp.rstrip(b"\x00") if xmp else None, check_complete(header, data))


def read_tiff_header(path: str | Path) -> tuple[TiffHeader, bytes]:
    """The header of a TIFF file and the file's bytes (its EXIF structure, for exifread)."""
    p = str(path)
    try:
        with open(p, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_TIFF_BYTES:
                raise BadImage(p, f"TIFF of {size / 1e6:.0f} MB is too large for a patrol photo")
            data = fh.read()
    except OSError as e:
        raise BadImage(p, f"cannot read file: {e.strerror or e}") from e
    return parse_tiff_header(data, p), data
