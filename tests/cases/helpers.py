"""Builders for findings and cases placed in metres around a test origin."""

from __future__ import annotations

from datetime import datetime, timezone

from patrol.cases.model import Case, CaseStatus
from patrol.findings import Finding
from patrol.geo.crs import LocalFrame

ORIGIN = (38.04, 114.51)  # a city at 38 N
FRAME = LocalFrame(*ORIGIN)
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)

CLASS_OF = {
    "illegal_parking": "vehicle",
    "street_vending": "vendor_stall",
    "road_damage": "road_damage",
    "exposed_garbage": "garbage",
}


def latlon(east_m: float, north_m: float) -> tuple[float, float]:
    lat, lon = FRAME.to_wgs84(east_m, north_m)
    return float(lat), float(lon)


def finding(fid: str, category: str | None, east_m: float, north_m: float, *, class_name: str | None = None,
            score: float = 0.8, frame: str = "DJI_0001.JPG", grid_cell: str | None = "G-01",
            unit: str | None = "Unit 1") -> Finding:
    lat, lon = latlon(east_m, north_m)
    poly = tuple((latlon(east_m + dx, north_m + dy)[::-1]) for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)))
    return Finding(
        finding_id=fid,
        class_name=class_name or CLASS_OF.get(category or "", "vehicle"),
        category=category,
        lat_deg=lat,
        lon_deg=lon,
        uncertainty_m=0.5,
        score=score,
        zone_name="zone" if category else None,
        zone_kind="no_vending" if category == "street_vending" else None,
        grid_cell=grid_cell,
        unit=unit,
        frames=(frame,),
        best_frame=frame,
        best_bbox_xyxy_px=(10.0, 20.0, 50.0, 60.0),
        polygon_wgs84=poly,
    )


def case(case_id: int, category: str, east_m: float, north_m: float, status: str = "open", **kw) -> Case:
    lat, lon = latlon(east_m, north_m)
    return Case(
        case_id=case_id,
        category=category,
        class_name=CLASS_OF[category],
        lat_deg=lat,
        lon_deg=lon,
        status=CaseStatus(status),
        opened_at=kw.pop("opened_at", T0),
        updated_at=kw.pop("updated_at", T0),
        first_flight_id=kw.pop("first_flight_id", "flight-0"),
        last_flight_id=kw.pop("last_flight_id", "flight-0"),
        duplicate_of=kw.pop("duplicate_of", 999 if status == "duplicate" else None),
        **kw,
    )


def square(e0: float, n0: float, e1: float, n1: float):
    """A (lon, lat) shapely polygon for the local rectangle [e0, e1] x [n0, n1]."""
    from shapely.geometry import Polygon

    return Polygon([latlon(e, n)[::-1] for e, n in ((e0, n0), (e1, n0), (e1, n1), (e0, n1))])


from pathlib import Path  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
