"""HEIC/HEIF (ISO BMFF) header reading: the primary image's pixel size, without decoding pixels.

The size comes from the ``ispe`` property associated with the primary item (``pitm``), the value
exiftool reports as ImageWidth/ImageHeight. A clockwise ``irot`` of 90 or 270 degrees swaps it.
"""

from __future__ import annotations

import struct
from pathlib import Path

from patrol.errors import BadImage

HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis", b"avif")
MAX_META_BYTES = 8 * 1024 * 1024


def is_heif(head: bytes) -> bool:
    return len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def _boxes(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def parse_heif_size(meta: bytes) -> tuple[int, int] | None:
    """Pixel size (w, h) of the primary item from the payload of a ``meta`` box (after version/flags)."""
    primary = None
    props: list[tuple[bytes, int, int]] = []
    assoc: dict[int, list[int]] = {}
    for kind, s, e in _boxes(meta, 4, len(meta)):
        if kind == b"pitm":
            version = meta[s]
            primary = struct.unpack(">H" if version == 0 else ">I", meta[s + 4 : s + (6 if version == 0 else 8)])[0]
        elif kind == b"iprp":
            for k2, s2, e2 in _boxes(meta, s, e):
                if k2 == b"ipco":
                    props = list(_boxes(meta, s2, e2))
                elif k2 == b"ipma":
                    version, flags = meta[s2], int.from_bytes(meta[s2 + 1 : s2 + 4], "big")
                    (count,) = struct.unpack(">I", meta[s2 + 4 : s2 + 8])
                    p = s2 + 8
                    for _ in range(count):
                        if version < 1:
                            (item,) = struct.unpack(">H", meta[p : p + 2])
                            p += 2
                        else:
                            (item,) = struct.unpack(">I", meta[p : p + 4])
                            p += 4
                        n = meta[p]
                        p += 1
                        idx = []
                        for _ in range(n):
                            if flags & 1:
                                (v,) = struct.unpack(">H", meta[p : p + 2])
                                idx.append(v & 0x7FFF)
                                p += 2
                            else:
                                idx.append(meta[p] & 0x7F)
                                p += 1
                        assoc[item] = idx
    if primary is None or primary not in assoc:
        return None
    size = None
    rot = 0
    for i in assoc[primary]:
        if not 1 <= i <= len(props):
            continue
        kind, s, e = props[i - 1]
        if kind == b"ispe" and e - s >= 12:
            size = struct.unpack(">II", meta[s + 4 : s + 12])
        elif kind == b"irot" and e > s:
            rot = (meta[s] & 3) * 90
    if size is None:
        return None
    w, h = size
    return (h, w) if rot in (90, 270) else (w, h)


def read_heif_size(path: str | Path) -> tuple[int, int] | None:
    """Read the top-level boxes of a HEIF file up to ``meta`` and return the primary image size."""
    p = str(path)
    try:
        with open(p, "rb") as fh:
            while True:
                hdr = fh.read(8)
                if len(hdr) < 8:
                    return None
                size, kind = struct.unpack(">I4s", hdr)
                header = 8
                if size == 1:
                    (size,) = struct.unpack(">Q", fh.read(8))
                    header = 16
                if size < header:
                    return None
                if kind == b"meta":
                    if size - header > MAX_META_BYTES:
                        raise BadImage(p, "HEIF meta box is implausibly large")
                    return parse_heif_size(fh.read(size - header))
                fh.seek(size - header, 1)
    except (OSError, struct.error, IndexError) as e:
        raise BadImage(p, f"cannot read HEIF header: {e}") from e
