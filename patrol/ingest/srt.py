"""DJI video telemetry (.SRT subtitles), every firmware family, parsed from the structure of the text.

DJI has written at least five layouts since 2016 (HOME(...)/GPS(...)/BAROMETER lines; bracketed
``[key : value]`` lists, with the misspelt ``longtitude``; FrameCnt/DiffTime blocks with
``[rel_alt: x abs_alt: y]``; the one-line ``F/2.8, SS 400, GPS (lon, lat, sats), D 12m, H 30m,
F.PRY (...)`` form; Matrice ``GPS(lat,lon,altM)``). Rather than matching whole layouts, each block is
cut into tokens: the SRT timecode, a clock date-time, ``KEY(a, b, c)`` tuples, ``key: value`` pairs
and ``KEY value`` pairs; keys are normalised and mapped through an alias table. New firmware that
adds or reorders keys still parses.

Legacy GPS/HOME tuples do not say whether longitude or latitude comes first, and firmware disagrees.
The order is decided per file from evidence, strongest first: a value outside +-90 must be the
longitude; the distance to HOME that the block states (``D 153.32m``) must match the computed one;
explicit ``latitude``/``longitude`` keys in the same file must agree; a Matrice-style altitude with
unit as third value (``GPS(36.61,-6.11,0.0M)``) means latitude first. With no evidence: longitude
first, the common DJI order.

``latitude 0`` is DJI's "no GPS fix": such a block has no position (never (0, 0)).
``parse_srt(text)`` is the pure core; ``read_srt(path)`` the file edge.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from patrol.errors import BadTelemetry

MAX_SRT_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class TelemetrySample:
    """One SRT block. Times in seconds from the start of the video; angles in degrees (NED)."""

    index: int  # the block number written in the file
    line: int  # 1-based line of the block's number in the file
    start_s: float | None = None
    end_s: float | None = None
    frame_index: int | None = None  # FrameCnt / SrtCnt when present
    time: datetime | None = None  # the clock time the drone wrote (local time, no zone)
    lat_deg: float | None = None
    lon_deg: float | None = None
    rel_alt_m: float | None = None  # above the take-off point (rel_alt, BAROMETER, H)
    abs_alt_m: float | None = None  # abs_alt / altitude
    home_lat_deg: float | None = None
    home_lon_deg: float | None = None
    distance_m: float | None = None  # distance to HOME as the drone reports it (D)
    gimbal_yaw_deg: float | None = None
    gimbal_pitch_deg: float | None = None
    gimbal_roll_deg: float | None = None
    flight_yaw_deg: float | None = None
    flight_pitch_deg: float | None = None
    flight_roll_deg: float | None = None
    iso: float | None = None
    shutter_s: float | None = None
    fnum: float | None = None
    ev: float | None = None
    focal35_mm: float | None = None  # DJI's focal_len: the 35 mm equivalent
    color_temp_k: float | None = None

    def __post_init__(self) -> None:
        if (self.lat_deg is None) != (self.lon_deg is None):
            raise ValueError("lat_deg and lon_deg must both be set or both None")
        if self.lat_deg is not None and not (-90 <= self.lat_deg <= 90 and -180 <= self.lon_deg <= 180):  # type: ignore[operator]
            raise ValueError(f"position out of range: {self.lat_deg}, {self.lon_deg}")

    @property
    def has_position(self) -> bool:
        return self.lat_deg is not None

    def to_dict(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.isoformat() if isinstance(v, datetime) else v
        return out


@dataclass(frozen=True)
class Telemetry:
    path: str
    samples: tuple[TelemetrySample, ...]
    warnings: tuple[str, ...] = ()  # one line each: damaged or truncated blocks that were skipped/partial
    latlon_order: str | None = None  # "lon,lat" or "lat,lon" for legacy GPS(...) tuples; None if none
    order_evidence: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def positioned(self) -> tuple[TelemetrySample, ...]:
        return tuple(s for s in self.samples if s.has_position)


# ---------------------------------------------------------------------------------------- tokens

_TIMECODE = re.compile(
    r"(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})\s*-->\s*(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})"
)
_DATETIME = re.compile(
    r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})[ T]+(\d{1,2}):(\d{2}):(\d{2})((?:[.,]\d+)*)"
)
_TAG = re.compile(r"<[^>]*>")
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_TUPLE = re.compile(r"([A-Za-z][A-Za-z.]*)\s*\(([^()\[\]]*)\)")
_COLON_PAIR = re.compile(
    r"([A-Za-z][A-Za-z0-9_.]*(?: [A-Za-z]+)?)\s*:\s*[Ff]?(" + _NUM + r"(?:\s*/\s*" + _NUM + r")?)([A-Za-z/°%]*)"
)
_SPACE_PAIR = re.compile(r"(?:^|(?<=[,\s]))([A-Za-z][A-Za-z.]*)\s+(" + _NUM + r"(?:/" + _NUM + r")?)([A-Za-z/°%]*)(?=,|\s|$)")
_FSTOP = re.compile(r"\bF/(" + _NUM + r")")
_NUMBER = re.compile(_NUM)

# normalised key (lower case, spaces and underscores removed) -> canonical field
ALIASES = {
    "latitude": "lat", "lat": "lat", "gpslatitude": "lat",
    "longitude": "lon", "longtitude": "lon", "lon": "lon", "lng": "lon", "gpslongitude": "lon",
    "relalt": "rel_alt", "barometer": "rel_alt", "hb": "rel_alt", "h": "rel_alt", "height": "rel_alt",
    "relativealtitude": "rel_alt",
    "absalt": "abs_alt", "altitude": "abs_alt", "alt": "abs_alt", "absolutealtitude": "abs_alt",
    "d": "distance",
    "gbyaw": "gimbal_yaw", "gimbalyaw": "gimbal_yaw", "gyaw": "gimbal_yaw",
    "gbpitch": "gimbal_pitch", "gimbalpitch": "gimbal_pitch", "gpitch": "gimbal_pitch",
    "gbroll": "gimbal_roll", "gimbalroll": "gimbal_roll", "groll": "gimbal_roll",
    "droneyaw": "flight_yaw", "flightyaw": "flight_yaw", "yaw": "flight_yaw",
    "dronepitch": "flight_pitch", "flightpitch": "flight_pitch", "pitch": "flight_pitch",
    "droneroll": "flight_roll", "flightroll": "flight_roll", "roll": "flight_roll",
    "iso": "iso",
    "shutter": "shutter", "ss": "shutter", "tv": "shutter",
    "fnum": "fnum", "ir": "fnum", "f": "fnum",
    "ev": "ev",
    "ct": "color_temp",
    "focallen": "focal_len",
    "framecnt": "frame", "srtcnt": "frame",
}


def _norm_key(key: str) -> str:
    return key.lower().replace(" ", "").replace("_", "")


def _number(text: str) -> float | None:
    text = text.strip()
    if "/" in text:
        a, _, b = text.partition("/")
        try:
            den = float(b)
            return float(a) / den if den else None
        except ValueError:
            return None
    try:
        v = float(text)
    except ValueError:
        m = _NUMBER.search(text)
        if not m:
            return None
        v = float(m.group(0))
    return v if math.isfinite(v) else None


@dataclass
class _Block:
    index: int
    line: int
    text: str
    start_s: float | None = None
    end_s: float | None = None
    time: datetime | None = None
    values: dict[str, float] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)  # canonical -> the token text (for unit rules)
    tuples: dict[str, list[tuple[float | None, str]]] = field(default_factory=dict)
    damaged: bool = False


def _parse_datetime(m: re.Match) -> datetime | None:
    y, mo, d, h, mi, s, frac = m.groups()
    micro = 0
    parts = [p for p in re.split(r"[.,]", frac) if p]
    if parts:
        first = parts[0]
        if len(first) >= 4:  # already sub-second digits beyond milliseconds
            micro = int(first[:6].ljust(6, "0"))
        else:
            micro = int(first.ljust(3, "0")) * 1000
            if len(parts) > 1 and len(parts[1]) == 3:
                micro += int(parts[1])
    try:
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro)
    except ValueError:
        return None


def _tokenise(block: _Block) -> None:
    text = _TAG.sub(" ", block.text)
    m = _TIMECODE.search(text)
    if m:
        g = [int(x) for x in m.groups()]
        block.start_s = g[0] * 3600 + g[1] * 60 + g[2] + int(m.group(4).ljust(3, "0")) / 1000
        block.end_s = g[4] * 3600 + g[5] * 60 + g[6] + int(m.group(8).ljust(3, "0")) / 1000
        text = text[: m.start()] + " " + text[m.end() :]
    m = _DATETIME.search(text)
    if m:
        block.time = _parse_datetime(m)
        text = text[: m.start()] + " " + text[m.end() :]
    if text.count("[") != text.count("]") or text.count("(") != text.count(")"):
        block.damaged = True
    for m in _TUPLE.finditer(text):
        key = _norm_key(m.group(1))
        vals = []
        for part in m.group(2).split(","):
            part = part.strip()
            vals.append((_number(part), part))
        block.tuples[key] = vals
    text = _TUPLE.sub(" ", text)
    m = _FSTOP.search(text)
    if m:
        block.values["fnum"] = float(m.group(1))
        block.raw["fnum"] = m.group(1)
        text = text[: m.start()] + " " + text[m.end() :]
    spans = []
    for m in _COLON_PAIR.finditer(text):
        spans.append(m.span())
        _store(block, m.group(1), m.group(2), m.group(3))
    if spans:
        parts, last = [], 0
        for a, b in spans:
            parts.append(text[last:a])
            last = b
        parts.append(text[last:])
        text = " ".join(parts)
    for m in _SPACE_PAIR.finditer(text):
        _store(block, m.group(1), m.group(2), m.group(3))


def _store(block: _Block, key: str, value: str, unit: str) -> None:
    canon = ALIASES.get(_norm_key(key))
    if canon is None or canon in block.values:
        return
    v = _number(value)
    if v is None:
        return
    block.values[canon] = v
    block.raw[canon] = value.strip()


# ------------------------------------------------------------------------------ lat/lon order

def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def _pair(t: list[tuple[float | None, str]] | None) -> tuple[float, float] | None:
    if not t or len(t) < 2 or t[0][0] is None or t[1][0] is None:
        return None
    return t[0][0], t[1][0]  # type: ignore[return-value]


def decide_order(blocks: list[_Block]) -> tuple[str | None, str | None]:
    """("lon,lat" | "lat,lon" | None, evidence) for the legacy tuples of one file."""
    pairs = [(b, _pair(b.tuples.get("gps")), _pair(b.tuples.get("home"))) for b in blocks]
    if not any(g or h for _, g, h in pairs):
        return None, None
    first_is_lon = second_is_lon = 0
    for _, g, h in pairs:
        for p in (g, h):
            if p is None:
                continue
            if abs(p[0]) > 90 >= abs(p[1]):
                first_is_lon += 1
            elif abs(p[1]) > 90 >= abs(p[0]):
                second_is_lon += 1
    if first_is_lon != second_is_lon:
        return ("lon,lat", "a value outside +-90 degrees") if first_is_lon > second_is_lon else (
            "lat,lon", "a value outside +-90 degrees")
    err = {"lon,lat": 0.0, "lat,lon": 0.0}
    n = 0
    for b, g, h in pairs:
        d = b.values.get("distance")
        if g is None or h is None or d is None or d < 5:
            continue
        n += 1
        err["lon,lat"] += abs(_haversine_m(g[1], g[0], h[1], h[0]) - d)
        err["lat,lon"] += abs(_haversine_m(g[0], g[1], h[0], h[1]) - d)
    if n and abs(err["lon,lat"] - err["lat,lon"]) > 1.0 * n:
        best = min(err, key=err.get)  # type: ignore[arg-type]
        return best, f"distance to HOME (D) over {n} blocks"
    explicit = [(b.values["lat"], b.values["lon"]) for b in blocks if "lat" in b.values and "lon" in b.values
                and b.values["lat"] != 0]
    tuples = [g for _, g, _ in pairs if g is not None and g != (0.0, 0.0)]
    if explicit and tuples:
        elat = sum(p[0] for p in explicit) / len(explicit)
        elon = sum(p[1] for p in explicit) / len(explicit)
        a = sum(_haversine_m(elat, elon, t[1], t[0]) for t in tuples) / len(tuples)
        b_ = sum(_haversine_m(elat, elon, t[0], t[1]) for t in tuples) / len(tuples)
        if abs(a - b_) > 1.0:
            return ("lon,lat" if a < b_ else "lat,lon"), "explicit latitude/longitude keys in the same file"
    third_units = [b.tuples["gps"][2][1] for b in blocks if len(b.tuples.get("gps", [])) >= 3]
    if third_units and all(re.search(r"\d\s*[mM]$", u) for u in third_units):
        return "lat,lon", "Matrice-style GPS(lat,lon,altitude M) tuples"
    return "lon,lat", "no evidence in the file; DJI's usual order assumed"


# -------------------------------------------------------------------------------------- blocks

_INDEX_LINE = re.compile(r"^\s*(\d+)\s*$")


def _split_blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    cur: _Block | None = None
    buf: list[str] = []
    prev_blank = True
    for i, line in enumerate(lines):
        m = _INDEX_LINE.match(line)
        if m and prev_blank:
            if cur is not None:
                cur.text = "\n".join(buf)
                blocks.append(cur)
            cur = _Block(index=int(m.group(1)), line=i + 1, text="")
            buf = []
            prev_blank = False
            continue
        prev_blank = not line.strip()
        if cur is None:
            if line.strip():  # content before any block number: treat as block 0
                cur = _Block(index=0, line=i + 1, text="")
                buf = [line]
            continue
        buf.append(line)
    if cur is not None:
        cur.text = "\n".join(buf)
        blocks.append(cur)
    return blocks


def _sample(b: _Block, order: str | None) -> TelemetrySample:
    v = b.values
    lat = v.get("lat")
    lon = v.get("lon")
    home_lat = home_lon = None
    gps = _pair(b.tuples.get("gps"))
    if (lat is None or lon is None) and gps is not None:
        lon, lat = gps if order == "lon,lat" else (gps[1], gps[0])
    home = _pair(b.tuples.get("home"))
    if home is not None:
        home_lon, home_lat = home if order == "lon,lat" else (home[1], home[0])
        if home_lat == 0 or not (-90 <= home_lat <= 90 and -180 <= home_lon <= 180):
            home_lat = home_lon = None
    if lat is None or lon is None or lat == 0 or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None  # latitude 0 is DJI's "no fix"
    fnum = v.get("fnum")
    if fnum is not None and "." not in b.raw.get("fnum", ".") and fnum >= 50:
        fnum = fnum / 100  # fnum : 280 means f/2.8
    focal = v.get("focal_len")
    if focal is not None and "." not in b.raw.get("focal_len", ".") and focal >= 100:
        focal = focal / 10  # focal_len : 240 means 24 mm
    shutter = v.get("shutter")
    if shutter is not None:
        raw = b.raw.get("shutter", "")
        if "/" not in raw and shutter >= 1:
            shutter = 1.0 / shutter  # Shutter:400 / SS 400 means 1/400 s
        elif shutter <= 0:
            shutter = None
    fpry = b.tuples.get("f.pry") or []
    gpry = b.tuples.get("g.pry") or []

    def tup(t: list, i: int) -> float | None:
        return t[i][0] if len(t) > i else None

    frame = v.get("frame")
    return TelemetrySample(
        index=b.index,
        line=b.line,
        start_s=b.start_s,
        end_s=b.end_s,
        frame_index=int(frame) if frame is not None else None,
        time=b.time,
        lat_deg=lat,
        lon_deg=lon,
        rel_alt_m=v.get("rel_alt"),
        abs_alt_m=v.get("abs_alt"),
        home_lat_deg=home_lat,
        home_lon_deg=home_lon,
        distance_m=v.get("distance"),
        gimbal_yaw_deg=v.get("gimbal_yaw", tup(gpry, 2)),
        gimbal_pitch_deg=v.get("gimbal_pitch", tup(gpry, 0)),
        gimbal_roll_deg=v.get("gimbal_roll", tup(gpry, 1)),
        flight_yaw_deg=v.get("flight_yaw", tup(fpry, 2)),
        flight_pitch_deg=v.get("flight_pitch", tup(fpry, 0)),
        flight_roll_deg=v.get("flight_roll", tup(fpry, 1)),
        iso=v.get("iso"),
        shutter_s=shutter,
        fnum=fnum,
        ev=v.get("ev"),
        focal35_mm=focal,
        color_temp_k=v.get("color_temp"),
    )


_KNOWN = ("lat", "lon", "rel_alt", "abs_alt", "iso", "shutter", "fnum", "frame")


def _content_keys(b: _Block) -> set[str]:
    return set(b.values) | set(b.tuples) | ({"time"} if b.time else set())


def parse_srt(text: str, path: str | Path = "<srt>") -> Telemetry:
    """Parse DJI SRT text into one TelemetrySample per block (see the module docstring).

    Raises BadTelemetry when the text holds no telemetry block at all. Damaged blocks and a truncated
    last block are reported in ``Telemetry.warnings`` (the last one is dropped, damaged ones keep
    the fields that could be read).
    """
    p = str(path)
    text = text.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise BadTelemetry(p, "empty SRT file (no subtitle blocks)")
    lines = text.split("\n")
    blocks = _split_blocks(lines)
    for b in blocks:
        _tokenise(b)
    with_content = [b for b in blocks if _content_keys(b)]
    if not with_content:
        if blocks and all(not b.text.strip() for b in blocks):
            raise BadTelemetry(p, f"truncated SRT: {len(blocks)} block number(s) but no telemetry lines", line=blocks[-1].line)
        raise BadTelemetry(p, "not DJI telemetry: no known fields (latitude, GPS(...), iso, ...) in any block")
    warnings: list[str] = []
    # A truncated last block lacks fields that the block before it had.
    if len(blocks) >= 2:
        last, prev = blocks[-1], blocks[-2]
        missing = _content_keys(prev) - _content_keys(last)
        if last.damaged or (missing & set(_KNOWN + ("gps", "home"))) or not _content_keys(last):
            warnings.append(f"truncated last block {last.index} at line {last.line} dropped")
            blocks = blocks[:-1]
    for b in blocks:
        if b.damaged:
            warnings.append(f"damaged block {b.index} at line {b.line}: unbalanced brackets, partial values kept")
    order, evidence = decide_order(blocks)
    samples = [_sample(b, order) for b in blocks if _content_keys(b)]
    # Blocks without a timecode (2017 "mavic_2_style") get times from their clock, relative to the first.
    if samples and all(s.start_s is None for s in samples) and all(s.time is not None for s in samples):
        t0 = samples[0].time
        starts = [(s.time - t0).total_seconds() for s in samples]  # type: ignore[operator]
        samples = [
            replace(s, start_s=st, end_s=starts[i + 1] if i + 1 < len(starts) else None)
            for i, (s, st) in enumerate(zip(samples, starts, strict=True))
        ]
    return Telemetry(p, tuple(samples), tuple(warnings), order, evidence)


def read_srt(path: str | Path) -> Telemetry:
    """Read and parse a DJI .SRT file (UTF-8 with or without BOM, CRLF or LF)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_SRT_BYTES:
            raise BadTelemetry(p, f"SRT file too large ({size} bytes)")
        data = p.read_bytes()
    except OSError as e:
        raise BadTelemetry(p, f"cannot read file: {e.strerror or e}") from e
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", "replace")
    else:
        text = data.decode("utf-8", "replace")
    return parse_srt(text, p)


# --------------------------------------------------------------------------------- interpolation

_LINEAR = ("lat_deg", "lon_deg", "rel_alt_m", "abs_alt_m", "gimbal_pitch_deg", "gimbal_roll_deg",
           "flight_pitch_deg", "flight_roll_deg")
_CIRCULAR = ("gimbal_yaw_deg", "flight_yaw_deg")


def sample_time_s(s: TelemetrySample) -> float | None:
    return s.start_s


def _lerp_angle(a: float, b: float, w: float) -> float:
    d = (b - a + 180.0) % 360.0 - 180.0
    r = a + w * d
    return (r + 180.0) % 360.0 - 180.0


def telemetry_at(samples: tuple[TelemetrySample, ...] | list[TelemetrySample], t_s: float,
                 max_gap_s: float = 5.0) -> dict[str, Any] | None:
    """Telemetry interpolated at video time ``t_s`` from the positioned samples around it.

    Returns a dict of the FrameMeta pose fields, or None when no positioned sample lies within
    ``max_gap_s`` (before the first, after the last, or across a long GPS outage).
    """
    pts = [s for s in samples if s.has_position and s.start_s is not None]
    if not pts:
        return None
    import bisect

    times = [s.start_s for s in pts]
    i = bisect.bisect_right(times, t_s)  # type: ignore[arg-type]
    if i == 0:
        a = b = pts[0]
    elif i >= len(pts):
        a = b = pts[-1]
    else:
        a, b = pts[i - 1], pts[i]
    ta, tb = a.start_s, b.start_s
    if min(abs(t_s - ta), abs(t_s - tb)) > max_gap_s:  # type: ignore[operator]
        return None
    w = 0.0 if tb == ta else min(1.0, max(0.0, (t_s - ta) / (tb - ta)))  # type: ignore[operator]
    out: dict[str, Any] = {}
    for name in _LINEAR:
        va, vb = getattr(a, name), getattr(b, name)
        out[name] = va + w * (vb - va) if va is not None and vb is not None else (va if w < 0.5 else vb)
    for name in _CIRCULAR:
        va, vb = getattr(a, name), getattr(b, name)
        out[name] = _lerp_angle(va, vb, w) if va is not None and vb is not None else (va if w < 0.5 else vb)
    near = a if w < 0.5 else b
    out["focal35_mm"] = near.focal35_mm
    out["time"] = a.time + timedelta(seconds=t_s - ta) if a.time is not None else None  # type: ignore[operator]
    return out
