"""EXIF fields with exifread: GPS position and altitude, capture time, camera, focal lengths.

``exif_fields(tags)`` is the pure core: it takes exifread's tag mapping (any object with ``.values``
per tag) and returns typed ExifFields, matching what ``exiftool -n`` reports:

- GPS latitude/longitude from degrees/minutes/seconds (or degrees + decimal minutes, or one decimal
  value) signed by the Ref tags (S and W negative; a missing Ref leaves the value positive, as
  exiftool does). A 0/0 rational anywhere in the value means "missing" (never 0.0).
- GPS altitude signed by AltitudeRef (1, and Exif 3.0's 3, are below the reference).
- DateTimeOriginal with SubSecTimeOriginal and OffsetTimeOriginal when present.
- Make/Model with the padding (spaces, NULs) stripped.

``read_exif(tiff_bytes, path)`` is the edge: it runs exifread over the TIFF block that the JPEG
reader cut out of APP1 (or over a HEIC file) and turns exifread failures into BadMetadata.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO

from patrol.errors import BadMetadata

# exifread logs warnings for odd files ("Possibly corrupted IFD"); we report problems ourselves,
# one line per file, so keep its logger quiet.
logging.getLogger("exifread").setLevel(logging.ERROR)


@dataclass(frozen=True)
class ExifFields:
    lat_deg: float | None = None
    lon_deg: float | None = None
    alt_m: float | None = None
    time: datetime | None = None
    make: str | None = None
    model: str | None = None
    focal_mm: float | None = None
    focal35_mm: float | None = None
    orientation: int | None = None
    pixel_wh: tuple[int, int] | None = None  # ExifImageWidth/Length: the size when captured (may lie)


def _ratio(v: Any) -> float | None:
    """A rational or number as float; None for 0/0 (or any x/0) and non-numbers."""
    den = getattr(v, "den", None)
    num = getattr(v, "num", None)
    if den is not None and num is not None:
        try:
            num_i, den_i = int(num), int(den)
        except (TypeError, ValueError):
            return None
        if den_i == 0:
            return None
        return num_i / den_i
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return None


def _values(tags: Mapping[str, Any], key: str) -> list[Any] | None:
    tag = tags.get(key)
    if tag is None:
        return None
    vals = getattr(tag, "values", tag)
    if isinstance(vals, (str, bytes)):
        return [vals]
    try:
        return list(vals)
    except TypeError:
        return [vals]


def _text(tags: Mapping[str, Any], key: str) -> str | None:
    vals = _values(tags, key)
    if not vals:
        return None
    v = vals[0] if len(vals) == 1 else "".join(str(x) for x in vals)
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    s = str(v).replace("\x00", "").strip()
    return s or None


def _number(tags: Mapping[str, Any], key: str) -> float | None:
    vals = _values(tags, key)
    if not vals:
        return None
    return _ratio(vals[0])


def dms_to_deg(parts: list[Any]) -> float | None:
    """[deg, min, sec] (any may be rational; fewer parts allowed) -> degrees; None if any is x/0."""
    if not parts or len(parts) > 3:
        return None
    total = 0.0
    for scale, p in zip((1.0, 60.0, 3600.0), parts, strict=False):
        f = _ratio(p)
        if f is None:
            return None
        total += f / scale
    return total


def _gps_coord(tags: Mapping[str, Any], key: str, neg_ref: str, limit: float) -> float | None:
    vals = _values(tags, f"GPS GPS{key}")
    if not vals:
        return None
    deg = dms_to_deg(vals)
    if deg is None:
        return None
    ref = (_text(tags, f"GPS GPS{key}Ref") or "").upper()
    if ref.startswith(neg_ref):
        deg = -deg
    if not -limit <= deg <= limit:
        return None
    return deg


_EXIF_DT = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")


def parse_exif_datetime(text: str | None, subsec: str | None = None, offset: str | None = None) -> datetime | None:
    """'YYYY:MM:DD HH:MM:SS' (+ SubSec digits, + '+HH:MM' offset) -> datetime; None when blank/invalid."""
    if not text:
        return None
    m = _EXIF_DT.match(text)
    if not m:
        return None
    try:
        dt = datetime(*(int(g) for g in m.groups()))
    except ValueError:
        return None  # "0000:00:00 00:00:00" and friends
    if subsec:
        digits = re.match(r"\s*(\d+)", subsec)
        if digits:
            frac = digits.group(1)[:6].ljust(6, "0")
            dt = dt.replace(microsecond=int(frac))
    tz = _parse_offset(offset) if offset else None
    if tz is None:
        rest = text[m.end() :].strip()
        if rest.upper() == "Z":
            tz = timezone.utc
        elif rest:
            tz = _parse_offset(rest)
    if tz is not None:
        dt = dt.replace(tzinfo=tz)
    return dt


def _parse_offset(text: str) -> timezone | None:
    m = _OFFSET.match(text)
    if not m:
        return None
    sign = -1 if m.group(1) == "-" else 1
    hours, minutes = int(m.group(2)), int(m.group(3))
    if hours > 14 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def exif_fields(tags: Mapping[str, Any]) -> ExifFields:
    """Typed EXIF fields from exifread's tag mapping (see module docstring for the rules)."""
    lat = _gps_coord(tags, "Latitude", "S", 90.0)
    lon = _gps_coord(tags, "Longitude", "W", 180.0)
    if lat is None or lon is None:
        lat = lon = None  # half a position is no position
    alt = _number(tags, "GPS GPSAltitude")
    if alt is not None:
        ref_vals = _values(tags, "GPS GPSAltitudeRef")
        ref = ref_vals[0] if ref_vals else 0
        try:
            ref_i = int(ref if not isinstance(ref, (bytes, str)) else (ref[0] if ref else 0))
        except (TypeError, ValueError):
            ref_i = 0
        if ref_i in (1, 3):
            alt = -alt
    time = parse_exif_datetime(
        _text(tags, "EXIF DateTimeOriginal"),
        _text(tags, "EXIF SubSecTimeOriginal"),
        _text(tags, "EXIF OffsetTimeOriginal"),
    )
    focal = _number(tags, "EXIF FocalLength")
    f35 = _number(tags, "EXIF FocalLengthIn35mmFilm")
    if f35 is None:
        f35 = _number(tags, "Image FocalLengthIn35mmFilm")
    orientation = None
    ov = _values(tags, "Image Orientation")
    if ov and isinstance(ov[0], int) and 1 <= ov[0] <= 8:
        orientation = int(ov[0])
    pw, ph = _number(tags, "EXIF ExifImageWidth"), _number(tags, "EXIF ExifImageLength")
    pixel_wh = (int(pw), int(ph)) if pw and ph and pw > 0 and ph > 0 else None
    return ExifFields(
        lat_deg=lat,
        lon_deg=lon,
        alt_m=alt,
        time=time,
        make=_text(tags, "Image Make"),
        model=_text(tags, "Image Model"),
        focal_mm=focal,
        focal35_mm=f35 if f35 else None,  # 0 means "unknown" in the EXIF spec
        orientation=orientation,
        pixel_wh=pixel_wh,
    )


def read_exif_tags(fh: BinaryIO, path: str | Path) -> dict[str, Any]:
    """Run exifread over an open file (JPEG, TIFF block or HEIC); BadMetadata when it fails."""
    import exifread  # light, but keep import cost off CLI start-up

    try:
        return exifread.process_file(fh, details=False, extract_thumbnail=False)
    except Exception as e:  # exifread raises many kinds on hostile input; all mean "bad EXIF"
        raise BadMetadata(path, f"unreadable EXIF ({type(e).__name__}: {e})") from e


def read_exif(tiff: bytes, path: str | Path) -> ExifFields:
    """EXIF fields from the TIFF block of a JPEG APP1 segment."""
    return exif_fields(read_exif_tags(io.BytesIO(tiff), path))


_QVCI_DT = re.compile(rb"(\d{4})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{2})")


def qvci_datetime(payload: bytes) -> datetime | None:
    """DateTimeOriginal from a Casio QVCI APP1 segment ('YYYY.MM.DD.HH.MM.SS' at offset 0x4d)."""
    m = _QVCI_DT.match(payload, 0x4D)
    if not m:
        return None
    try:
        return datetime(*(int(g) for g in m.groups()))
    except ValueError:
        return None


def flir_datetime(fff: bytes) -> datetime | None:
    """DateTimeOriginal (with milliseconds and zone) from a FLIR FFF CameraInfo record.

    FFF: "FFF\\0", version at 0x14 (its byte order gives the directory's), directory offset and
    entry count at 0x18/0x1c; 32-byte entries (type, subtype, version, id, offset, length). The
    CameraInfo record (type 0x20) holds at 0x384: int32u Unix time, int32u milliseconds, int16s zone
    offset in minutes west; the record's own byte order is the one in which its first int16 reads 2.
    """
    import struct

    if len(fff) < 0x20 or not fff.startswith(b"FFF\x00"):
        return None
    e = ">" if struct.unpack(">I", fff[0x14:0x18])[0] < 0x10000 else "<"
    _, off, n = struct.unpack(e + "III", fff[0x14:0x20])
    for k in range(min(n, 1024)):
        ent = fff[off + 32 * k : off + 32 * k + 20]
        if len(ent) < 20:
            return None
        typ, _, _, _, roff, rlen = struct.unpack(e + "HHIIII", ent)
        if typ != 0x20:
            continue
        rec = fff[roff : roff + rlen]
        if len(rec) < 0x384 + 10:
            return None
        re_ = "<" if rec[:2] == b"\x02\x00" else ">"
        secs, ms, tz_min = struct.unpack(re_ + "IIh", rec[0x384 : 0x384 + 10])
        if secs == 0 or not -14 * 60 <= tz_min <= 14 * 60:
            return None
        tz = timezone(timedelta(minutes=-tz_min))
        try:
            return datetime.fromtimestamp(secs, tz).replace(microsecond=(ms & 0xFFFF) % 1000 * 1000)
        except (OverflowError, OSError, ValueError):
            return None
    return None
