"""Build small JPEGs with hand-made EXIF (TIFF) and XMP segments for tests."""

from __future__ import annotations

import struct
from fractions import Fraction

ASCII, SHORT, LONG, RATIONAL, BYTE, SRATIONAL = 2, 3, 4, 5, 1, 10
_SIZE = {ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, BYTE: 1, SRATIONAL: 8}


def _pack_values(typ: int, values) -> bytes:
    if typ == ASCII:
        return values.encode("latin-1") + b"\x00"
    if typ == SHORT:
        return b"".join(struct.pack("<H", v) for v in values)
    if typ == LONG:
        return b"".join(struct.pack("<I", v) for v in values)
    if typ == BYTE:
        return bytes(values)
    if typ in (RATIONAL, SRATIONAL):
        out = b""
        for v in values:
            num, den = (v if isinstance(v, tuple) else (Fraction(v).limit_denominator(10**7).numerator,
                                                        Fraction(v).limit_denominator(10**7).denominator))
            out += struct.pack("<II" if typ == RATIONAL else "<ii", num, den)
        return out
    raise ValueError(typ)


def _ifd(entries: list[tuple[int, int, object]], start: int, next_ifd: int = 0) -> bytes:
    """IFD at offset ``start`` with its out-of-line data right after it."""
    entries = sorted(entries)
    n = len(entries)
    data_off = start + 2 + 12 * n + 4
    head = struct.pack("<H", n)
    data = b""
    for tag, typ, values in entries:
        raw = _pack_values(typ, values)
        count = len(raw) // _SIZE[typ]
        if len(raw) <= 4:
            head += struct.pack("<HHI", tag, typ, count) + raw.ljust(4, b"\x00")
        else:
            head += struct.pack("<HHII", tag, typ, count, data_off + len(data))
            data += raw
            if len(data) % 2:
                data += b"\x00"
    return head + struct.pack("<I", next_ifd) + data


def dms(deg: float) -> list[tuple[int, int]]:
    a = abs(deg)
    d = int(a)
    m = int((a - d) * 60)
    s = (a - d - m / 60) * 3600
    return [(d, 1), (m, 1), (round(s * 1_000_000), 1_000_000)]


def build_tiff(ifd0: list, exif: list | None = None, gps: list | None = None) -> bytes:
    """TIFF (little endian) with IFD0 and optional Exif and GPS sub-IFDs."""
    ifd0 = list(ifd0)
    # Lay out: header(8) | IFD0 | ExifIFD | GPSIFD. Pointers need the sizes, so build twice.
    placeholder = [(0x8769, LONG, [0])] if exif is not None else []
    placeholder += [(0x8825, LONG, [0])] if gps is not None else []
    first = _ifd(ifd0 + placeholder, 8)
    exif_off = 8 + len(first)
    exif_b = _ifd(exif, exif_off) if exif is not None else b""
    gps_off = exif_off + len(exif_b)
    ptrs = []
    if exif is not None:
        ptrs.append((0x8769, LONG, [exif_off]))
    if gps is not None:
        ptrs.append((0x8825, LONG, [gps_off]))
    first = _ifd(ifd0 + ptrs, 8)
    assert 8 + len(first) == exif_off
    gps_b = _ifd(gps, gps_off) if gps is not None else b""
    return b"II*\x00" + struct.pack("<I", 8) + first + exif_b + gps_b


def gps_entries(lat: float | None, lon: float | None, alt: float | None = None) -> list:
    out = []
    if lat is not None:
        out += [(1, ASCII, "N" if lat >= 0 else "S"), (2, RATIONAL, dms(lat))]
    if lon is not None:
        out += [(3, ASCII, "E" if lon >= 0 else "W"), (4, RATIONAL, dms(lon))]
    if alt is not None:
        out += [(5, BYTE, [0 if alt >= 0 else 1]), (6, RATIONAL, [(round(abs(alt) * 1000), 1000)])]
    return out


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def tiny_jpeg(w: int = 64, h: int = 48) -> bytes:
    import cv2
    import numpy as np

    img = np.full((h, w, 3), 127, np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()


def make_jpeg(tiff: bytes | None = None, xmp: str | bytes | None = None, w: int = 64, h: int = 48,
              extra: bytes = b"") -> bytes:
    """A decodable JPEG with the given EXIF TIFF block and XMP packet inserted after SOI."""
    base = tiny_jpeg(w, h)
    segs = b""
    if tiff is not None:
        segs += segment(0xE1, b"Exif\x00\x00" + tiff)
    if xmp is not None:
        data = xmp.encode("utf-8") if isinstance(xmp, str) else xmp
        segs += segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + data)
    return base[:2] + segs + extra + base[2:]


def dji_xmp(attrs: dict[str, str], element_form: bool = False) -> str:
    ns = 'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"'
    if element_form:
        body = "".join(f"<drone-dji:{k}>{v}</drone-dji:{k}>" for k, v in attrs.items())
        desc = f'<rdf:Description rdf:about="" {ns}>{body}</rdf:Description>'
    else:
        a = " ".join(f'drone-dji:{k}="{v}"' for k, v in attrs.items())
        desc = f'<rdf:Description rdf:about="" {ns} {a}/>'
    return ('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f"{desc}</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>")
