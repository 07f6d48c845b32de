"""GeoJSON (RFC 7946) of findings and cases.

RFC 7946 rules kept here: WGS84 longitude/latitude in that order, no ``crs`` member, exterior rings
counter-clockwise and holes clockwise (section 3.1.6), closed rings, coordinates rounded to 7 decimals
(about 1 cm). ``rfc7946_problems`` checks a document against those rules; the tests use it and so can
anyone who edits the output by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from patrol.report.model import CaseRow, FindingCard

PRECISION = 7


def _r(v: float) -> float:
    return round(float(v), PRECISION)


def _dt(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _signed_area(ring: Sequence[Sequence[float]]) -> float:
    """Shoelace area in degrees² (positive = counter-clockwise)."""
    s = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        s += x1 * y2 - x2 * y1
    return s / 2.0


def polygon_geometry(exterior: Sequence[Sequence[float]], holes: Iterable[Sequence[Sequence[float]]] = ()) -> dict[str, Any]:
    """A GeoJSON Polygon from (lon, lat) rings: closed, rounded, exterior CCW, holes CW."""
    rings = []
    for i, ring in enumerate([exterior, *holes]):
        pts = [[_r(x), _r(y)] for x, y in ring]
        if pts[0] != pts[-1]:
            pts.append(list(pts[0]))
        ccw = _signed_area(pts) > 0
        if ccw != (i == 0):
            pts.reverse()
        rings.append(pts)
    return {"type": "Polygon", "coordinates": rings}


def point_geometry(lon_deg: float, lat_deg: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [_r(lon_deg), _r(lat_deg)]}


def finding_feature(f: FindingCard, flight_id: str | None = None) -> dict[str, Any]:
    """A finding: its ground outline when known (a Polygon), else its point."""
    geom = polygon_geometry(f.polygon_wgs84) if f.polygon_wgs84 else point_geometry(f.lon_deg, f.lat_deg)
    return {
        "type": "Feature",
        "id": f"finding-{f.finding_id}",
        "geometry": geom,
        "properties": {
            "kind": "finding",
            "finding_id": f.finding_id,
            "flight_id": flight_id,
            "category": f.category,
            "class_name": f.class_name,
            "lat_deg": _r(f.lat_deg),
            "lon_deg": _r(f.lon_deg),
            "uncertainty_m": round(f.uncertainty_m, 2),
            "confidence": round(f.confidence, 4),
            "zone": f.zone,
            "grid_cell": f.grid_cell,
            "unit": f.unit,
            "frames_seen": list(f.frames_seen),
            "case_id": f.case_id,
            "outcome": f.outcome,
        },
    }


def case_feature(c: CaseRow) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": f"case-{c.case_id}",
        "geometry": point_geometry(c.lon_deg, c.lat_deg),
        "properties": {
            "kind": "case",
            "case_id": c.case_id,
            "category": c.category,
            "class_name": c.class_name,
            "status": c.status,
            "active": c.active,
            "overdue": c.overdue,
            "age_days": round(c.age_days, 3),
            "opened_at": _dt(c.opened_at),
            "updated_at": _dt(c.updated_at),
            "unit": c.unit,
            "grid_cell": c.grid_cell,
            "zone": c.zone,
            "observations": c.observations,
            "last_flight_id": c.last_flight_id,
            "last_verdict": c.last_verdict,
        },
    }


def _coords(geom: dict[str, Any]) -> list[tuple[float, float]]:
    if geom["type"] == "Point":
        return [tuple(geom["coordinates"])]
    return [tuple(p) for ring in geom["coordinates"] for p in ring]


def feature_collection(cases: Iterable[CaseRow] = (), findings: Iterable[FindingCard] = (), flight_id: str | None = None) -> dict[str, Any]:
    """One FeatureCollection: cases (Points) then findings (Polygons or Points), with a bbox."""
    feats = [case_feature(c) for c in cases] + [finding_feature(f, flight_id) for f in findings]
    fc: dict[str, Any] = {"type": "FeatureCollection", "features": feats}
    pts = [p for f in feats for p in _coords(f["geometry"])]
    if pts:
        fc["bbox"] = [min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts)]
    return fc


def dumps(fc: dict[str, Any]) -> str:
    return json.dumps(fc, ensure_ascii=False, indent=1, allow_nan=False) + "\n"


def rfc7946_problems(doc: dict[str, Any]) -> list[str]:
    """What in ``doc`` breaks RFC 7946 (the rules that matter to a reader): empty list = fine."""
    out: list[str] = []
    if doc.get("type") != "FeatureCollection":
        out.append("top level is not a FeatureCollection")
    if "crs" in doc:
        out.append("'crs' member is not allowed (RFC 7946 is WGS84 only)")

    def pos(p: Any, where: str) -> None:
        if not (isinstance(p, list | tuple) and len(p) in (2, 3) and all(isinstance(v, int | float) and math.isfinite(v) for v in p)):
            out.append(f"{where}: position must be [lon, lat(, alt)] numbers, got {p!r}")
            return
        if not (-180.0 <= p[0] <= 180.0):
            out.append(f"{where}: longitude {p[0]} outside [-180, 180]")
        if not (-90.0 <= p[1] <= 90.0):
            out.append(f"{where}: latitude {p[1]} outside [-90, 90]")

    for i, f in enumerate(doc.get("features", [])):
        where = f"feature {i}"
        if f.get("type") != "Feature" or "properties" not in f:
            out.append(f"{where}: not a Feature with properties")
        g = f.get("geometry")
        if g is None:
            continue
        if g.get("type") == "Point":
            pos(g.get("coordinates"), where)
        elif g.get("type") == "Polygon":
            for k, ring in enumerate(g.get("coordinates", [])):
                for p in ring:
                    pos(p, where)
                if len(ring) < 4 or ring[0] != ring[-1]:
                    out.append(f"{where}: ring {k} is not a closed ring of >= 4 positions")
                    continue
                area = _signed_area([p[:2] for p in ring])
                if k == 0 and area <= 0:
                    out.append(f"{where}: exterior ring is not counter-clockwise")
                if k > 0 and area >= 0:
                    out.append(f"{where}: hole {k} is not clockwise")
        else:
            out.append(f"{where}: unexpected geometry type {g.get('type')!r}")
    return out
