"""Write EXIF (TIFF IFDs: IFD0, Exif, GPS) and a DJI ``drone-dji`` XMP packet into a JPEG, by hand.

Pure functions: ``exif_app1(...)`` and ``xmp_app1(...)`` build the APP1 segments; ``with_metadata``
puts them right after the SOI marker of an encoded JPEG (dropping a JFIF APP0, as camera files have
none). Values are quantised the way they are written (``PhotoTags.quantised``) so that the truth can
record exactly what a reader will get back.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from datetime import datetime
from xml.sax.saxutils import quoteattr

BYTE, ASCII, SHORT, LONG, RATIONAL = 1, 2, 3, 4, 5
_TYPE_SIZE = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8}
GPS_SEC_DEN = 1_000_000  # seconds of arc as n / 1e6: 3e-5 m
ALT_DEN = 1000


@dataclass(frozen=True)
class PhotoTags:
    """What a simulated DJI photo says about itself (the noisy, as-recorded pose)."""

    lat_deg: float
    lon_deg: float
    abs_alt_m: float
    rel_alt_m: float
    gimbal_yaw_deg: float
    gimbal_pitch_deg: float
    gimbal_roll_deg: float
    flight_yaw_deg: float
    flight_pitch_deg: float
    flight_roll_deg: float
    time: datetime
    size_wh: tuple[int, int]
    make: str = "DJI"
    model: str = "FC6310"
    focal_mm: float = 8.8
    focal35_mm: int = 24

    def __post_init__(self) -> None:
        if not (-90 <= self.lat_deg <= 90 and -180 <= self.lon_deg <= 180):
            raise ValueError(f"lat/lon out of range: {self.lat_deg}, {self.lon_deg}")

    def quantised(self) -> PhotoTags:
        """The values a reader gets back from the written tags (rounded as written)."""
        return replace(
            self,
            lat_deg=_dms_value(self.lat_deg),
            lon_deg=_dms_value(self.lon_deg),
            abs_alt_m=round(abs(self.abs_alt_m) * ALT_DEN) / ALT_DEN * (1 if self.abs_alt_m >= 0 else -1),
            rel_alt_m=float(f"{self.rel_alt_m:.3f}"),
            gimbal_yaw_deg=_angle(self.gimbal_yaw_deg),
            gimbal_pitch_deg=float(f"{self.gimbal_pitch_deg:.2f}"),
            gimbal_roll_deg=float(f"{self.gimbal_roll_deg:.2f}"),
            flight_yaw_deg=_angle(self.flight_yaw_deg),
            flight_pitch_deg=float(f"{self.flight_pitch_deg:.2f}"),
            flight_roll_deg=float(f"{self.flight_roll_deg:.2f}"),
            time=self.time.replace(microsecond=0),
        )


def _angle(a: float) -> float:
    """DJI writes yaw in (-180, 180]."""
    a = (a + 180.0) % 360.0 - 180.0
    return float(f"{a:.2f}")


def _dms(value: float) -> tuple[int, int, int]:
    """|value| degrees -> (deg, min, seconds * 1e6), exact integers."""
    total = round(abs(value) * 3600 * GPS_SEC_DEN)
    d, rest = divmod(total, 3600 * GPS_SEC_DEN)
    m, s = divmod(rest, 60 * GPS_SEC_DEN)
    return int(d), int(m), int(s)


def _dms_value(value: float) -> float:
    d, m, s = _dms(value)
    v = d + m / 60.0 + (s / GPS_SEC_DEN) / 3600.0
    return -v if value < 0 else v


def _ifd(entries: list[tuple[int, int, int, bytes]], offset: int, next_ifd: int = 0) -> bytes:
    """One IFD at ``offset`` (from the TIFF header), with its out-of-line values after it."""
    entries = sorted(entries)
    size = 2 + 12 * len(entries) + 4
    data = bytearray()
    table = bytearray(struct.pack("<H", len(entries)))
    for tag, typ, count, value in entries:
        if len(value) <= 4:
            table += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\0")
        else:
            table += struct.pack("<HHII", tag, typ, count, offset + size + len(data))
            data += value
            if len(data) % 2:
                data += b"\0"
    table += struct.pack("<I", next_ifd)
    return bytes(table + data)


def _ascii(tag: int, text: str) -> tuple[int, int, int, bytes]:
    b = text.encode("ascii") + b"\0"
    return (tag, ASCII, len(b), b)


def _rationals(tag: int, pairs: list[tuple[int, int]]) -> tuple[int, int, int, bytes]:
    return (tag, RATIONAL, len(pairs), b"".join(struct.pack("<II", n, d) for n, d in pairs))


def _short(tag: int, v: int) -> tuple[int, int, int, bytes]:
    return (tag, SHORT, 1, struct.pack("<H", v))


def _long(tag: int, v: int) -> tuple[int, int, int, bytes]:
    return (tag, LONG, 1, struct.pack("<I", v))


def exif_tiff(t: PhotoTags) -> bytes:
    """TIFF structure (little-endian) with IFD0 -> Exif IFD and GPS IFD."""
    stamp = t.time.strftime("%Y:%m:%d %H:%M:%S")
    ifd0_base = [_ascii(0x010F, t.make), _ascii(0x0110, t.model), _short(0x0112, 1), _ascii(0x0132, stamp),
                 _ascii(0x0131, "patrol.sim")]
    focal = round(t.focal_mm * 100)
    exif = [_ascii(0x9003, stamp), _ascii(0x9004, stamp), _rationals(0x920A, [(focal, 100)]),
            _short(0xA405, int(t.focal35_mm)), _long(0xA002, t.size_wh[0]), _long(0xA003, t.size_wh[1]),
            (0x9000, 7, 4, b"0230")]
    lat_d, lat_m, lat_s = _dms(t.lat_deg)
    lon_d, lon_m, lon_s = _dms(t.lon_deg)
    alt = round(abs(t.abs_alt_m) * ALT_DEN)
    gps = [(0x0000, BYTE, 4, bytes([2, 3, 0, 0])),
           _ascii(0x0001, "N" if t.lat_deg >= 0 else "S"),
           _rationals(0x0002, [(lat_d, 1), (lat_m, 1), (lat_s, GPS_SEC_DEN)]),
           _ascii(0x0003, "E" if t.lon_deg >= 0 else "W"),
           _rationals(0x0004, [(lon_d, 1), (lon_m, 1), (lon_s, GPS_SEC_DEN)]),
           (0x0005, BYTE, 1, bytes([0 if t.abs_alt_m >= 0 else 1])),
           _rationals(0x0006, [(alt, ALT_DEN)])]
    # lay out: header(8) | IFD0 | Exif IFD | GPS IFD; pointers need the sizes, so build twice
    ifd0_entries = ifd0_base + [_long(0x8769, 0), _long(0x8825, 0)]
    size0 = len(_ifd(ifd0_entries, 8))
    exif_bytes = _ifd(exif, 8 + size0)
    gps_off = 8 + size0 + len(exif_bytes)
    ifd0 = _ifd(ifd0_base + [_long(0x8769, 8 + size0), _long(0x8825, gps_off)], 8)
    assert len(ifd0) == size0
    return b"II*\0" + struct.pack("<I", 8) + ifd0 + exif_bytes + _ifd(gps, gps_off)


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise ValueError(f"APP segment too large: {len(payload)} bytes")
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def exif_app1(t: PhotoTags) -> bytes:
    return _segment(0xE1, b"Exif\0\0" + exif_tiff(t))


def xmp_packet(t: PhotoTags) -> str:
    attrs = {
        "tiff:Make": t.make, "tiff:Model": t.model, "dc:format": "image/jpg",
        "drone-dji:AbsoluteAltitude": f"{t.abs_alt_m:+.3f}", "drone-dji:RelativeAltitude": f"{t.rel_alt_m:+.3f}",
        "drone-dji:GpsLatitude": repr(float(t.lat_deg)), "drone-dji:GpsLongitude": repr(float(t.lon_deg)),
        "drone-dji:GimbalRollDegree": f"{t.gimbal_roll_deg:+.2f}", "drone-dji:GimbalYawDegree": f"{_angle(t.gimbal_yaw_deg):+.2f}",
        "drone-dji:GimbalPitchDegree": f"{t.gimbal_pitch_deg:+.2f}", "drone-dji:FlightRollDegree": f"{t.flight_roll_deg:+.2f}",
        "drone-dji:FlightYawDegree": f"{_angle(t.flight_yaw_deg):+.2f}", "drone-dji:FlightPitchDegree": f"{t.flight_pitch_deg:+.2f}",
        "drone-dji:CamReverse": "0", "drone-dji:GimbalReverse": "0", "drone-dji:RtkFlag": "0",
    }
    body = "\n".join(f"    {k}={quoteattr(v)}" for k, v in attrs.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about="DJI Meta Data"\n'
        '    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"\n'
        '    xmlns:exif="http://ns.adobe.com/exif/1.0/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"\n'
        f"{body}>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )


def xmp_app1(t: PhotoTags) -> bytes:
    return _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + xmp_packet(t).encode("utf-8"))


def with_metadata(jpeg: bytes, t: PhotoTags) -> bytes:
    """``jpeg`` (an encoded JPEG) with our EXIF and XMP APP1 segments right after SOI."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG (no SOI marker)")
    rest = jpeg[2:]
    if rest[:2] == b"\xff\xe0":  # JFIF APP0: drop it
        (n,) = struct.unpack(">H", rest[2:4])
        rest = rest[2 + n:]
    return b"\xff\xd8" + exif_app1(t) + xmp_app1(t) + rest


__all__ = ["PhotoTags", "exif_app1", "exif_tiff", "with_metadata", "xmp_app1", "xmp_packet"]
