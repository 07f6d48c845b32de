"""The report's map: WGS84 geometry projected to SVG user units (pure; no tiles, works offline).

An equirectangular projection scaled by cos(latitude) at the view's centre: at a flight's extent (a few
km) its distortion is far below a pixel. The view is fitted to the flight (frame positions,
footprints, findings); zones are clipped to it so a city-wide grid does not shrink the flight to a dot.
Only numbers and path strings come out of here; names travel as text for the template to escape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from patrol.report.model import FlightReportData, category_colour

ZONE_STYLE: dict[str, str] = {
    "no_parking": "#D55E00",
    "no_vending": "#E69F00",
    "road": "#555555",
    "sidewalk": "#56B4E9",
    "grid_cell": "#999999",
}
VERDICT_COLOURS: dict[str, str] = {"fixed": "#009E73", "still_present": "#D55E00", "inconclusive": "#777777",
                                   "not_found": "#56B4E9"}  # not_found: a report the drone did not see (not fixed)


@dataclass(frozen=True)
class SvgShape:
    d: str  # SVG path data in view units
    title: str  # hover text (escaped by the template)
    css: str  # class name: zone kind, footprint...
    colour: str = "#999999"


@dataclass(frozen=True)
class SvgMarker:
    x: float
    y: float
    colour: str
    title: str
    anchor: str  # id of the card to jump to
    finding_id: str
    label: str
    counted: bool = False  # drawn small and underneath: not a violation


@dataclass(frozen=True)
class SvgMap:
    width: float
    height: float
    zones: tuple[SvgShape, ...]
    footprints: tuple[SvgShape, ...]
    path_d: str
    markers: tuple[SvgMarker, ...]
    checks: tuple[SvgMarker, ...]  # verified cases (drawn as rings)
    cameras: tuple[tuple[float, float, str], ...]  # (x, y, frame name): where each frame was taken
    scale_bar_m: float
    scale_bar_px: float
    legend: tuple[tuple[str, str], ...]  # (label, colour)

    @property
    def empty(self) -> bool:
        return not (self.markers or self.footprints or self.cameras)


class _Projection:
    def __init__(self, lon0: float, lat0: float, px_per_deg_lat: float, x0: float, y0: float) -> None:
        self.lon0, self.lat0, self.k, self.x0, self.y0 = lon0, lat0, px_per_deg_lat, x0, y0
        self.coslat = math.cos(math.radians(lat0))

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        return (self.x0 + (lon - self.lon0) * self.coslat * self.k, self.y0 - (lat - self.lat0) * self.k)


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def _ring_d(ring, proj: _Projection) -> str:
    pts = [proj(lon, lat) for lon, lat in ring]
    return "M" + "L".join(f"{_fmt(x)},{_fmt(y)}" for x, y in pts) + "Z"


def _geom_d(geom: BaseGeometry, proj: _Projection) -> str:
    parts: list[str] = []
    polys = getattr(geom, "geoms", [geom])
    for p in polys:
        if not isinstance(p, Polygon) or p.is_empty:
            continue
        parts.append(_ring_d(list(p.exterior.coords), proj))
        parts.extend(_ring_d(list(r.coords), proj) for r in p.interiors)
    return "".join(parts)


def _nice_scale(max_m: float) -> float:
    """Largest 1-2-5 x 10^n metres not above ``max_m``."""
    if max_m <= 0:
        return 0.0
    exp = 10 ** math.floor(math.log10(max_m))
    for m in (5, 2, 1):
        if m * exp <= max_m:
            return m * exp
    return exp


def build_svg_map(data: FlightReportData, width_px: float = 900.0, pad_frac: float = 0.06) -> SvgMap:
    """Project the flight's path, footprints, zones and findings into a ``width_px`` wide view."""
    pts: list[tuple[float, float]] = []
    for fr in data.frames:
        pts.append((fr.lon_deg, fr.lat_deg))
        if fr.footprint_wgs84:
            pts.extend(fr.footprint_wgs84)
    pts.extend((f.lon_deg, f.lat_deg) for f in data.findings)
    pts.extend((v.lon_deg, v.lat_deg) for v in data.verifications)
    legend_labels = sorted({f.label for f in data.findings})
    legend = tuple((lab, category_colour(lab)) for lab in legend_labels)
    if not pts:
        return SvgMap(width_px, 120.0, (), (), "", (), (), (), 0.0, 0.0, legend)

    lons = [p[0] for p in pts]
    lats = [p[1] for p in pts]
    lon_min, lon_max, lat_min, lat_max = min(lons), max(lons), min(lats), max(lats)
    lat0 = (lat_min + lat_max) / 2.0
    coslat = max(math.cos(math.radians(lat0)), 1e-6)
    # Extent in "latitude degrees"; at least ~50 m so a single point still gets a sensible view.
    min_span = 50.0 / 111_320.0
    span_x = max((lon_max - lon_min) * coslat, min_span)
    span_y = max(lat_max - lat_min, min_span)
    span_x, span_y = span_x * (1 + 2 * pad_frac), span_y * (1 + 2 * pad_frac)
    height_px = min(max(width_px * span_y / span_x, 240.0), 0.7 * width_px)  # keep the cards in reach
    k = min(width_px / span_x, height_px / span_y)
    lon_c, lat_c = (lon_min + lon_max) / 2.0, lat0
    proj = _Projection(lon_c, lat_c, k, width_px / 2.0, height_px / 2.0)

    # The view in lon/lat, for clipping zones.
    half_w_deg = (width_px / 2.0) / (k * coslat)
    half_h_deg = (height_px / 2.0) / k
    view = box(lon_c - half_w_deg, lat_c - half_h_deg, lon_c + half_w_deg, lat_c + half_h_deg)

    zones: list[SvgShape] = []
    for z in data.zones:
        for poly in z.polygons:
            geom = Polygon(poly[0], list(poly[1:]))
            if not geom.is_valid:
                geom = geom.buffer(0)
            clipped = geom.intersection(view)
            if clipped.is_empty:
                continue
            d = _geom_d(clipped, proj)
            if d:
                title = f"{z.kind}: {z.name}" + (f" (unit {z.unit})" if z.unit else "")
                zones.append(SvgShape(d, title, f"zone zone-{z.kind}", ZONE_STYLE.get(z.kind, "#999999")))

    footprints = tuple(
        SvgShape(_ring_d(fr.footprint_wgs84, proj), f"footprint of {fr.name}", "footprint")
        for fr in data.frames
        if fr.footprint_wgs84
    )
    path_pts = [proj(fr.lon_deg, fr.lat_deg) for fr in data.frames]
    path_d = ("M" + "L".join(f"{_fmt(x)},{_fmt(y)}" for x, y in path_pts)) if len(path_pts) > 1 else ""
    cameras = tuple((x, y, fr.name) for (x, y), fr in zip(path_pts, data.frames))

    markers = []
    # Counted objects first (underneath), violations on top.
    for f in sorted(data.findings, key=lambda f: f.is_violation):
        x, y = proj(f.lon_deg, f.lat_deg)
        where = ", ".join(s for s in (f.zone and f"zone {f.zone}", f.unit and f"unit {f.unit}") if s)
        title = f"{f.label} ({f.confidence:.2f})" + (f" — {where}" if where else "")
        if not f.is_violation:
            title += " — counted, not a violation"
        markers.append(SvgMarker(x, y, category_colour(f.label), title, f"finding-{f.finding_id}", f.finding_id,
                                 f.label, counted=not f.is_violation))

    checks = []
    for v in data.verifications:
        x, y = proj(v.lon_deg, v.lat_deg)
        title = f"case {v.case_id}: {v.category} — verified {v.verdict.replace('_', ' ')}"
        checks.append(SvgMarker(x, y, VERDICT_COLOURS[v.verdict], title, f"verify-{v.case_id}", v.case_id, v.verdict))

    bar_m = _nice_scale(width_px / 4.0 / k * 111_320.0)
    bar_px = bar_m / 111_320.0 * k
    return SvgMap(width_px, height_px, tuple(zones), footprints, path_d, tuple(markers), tuple(checks), cameras, bar_m, bar_px, legend)
