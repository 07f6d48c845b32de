"""Open311 GeoReport v2-style service requests (JSON) of cases, for dispatch systems.

Field names and meanings follow GeoReport v2 "GET service requests": ``status`` is ``open`` or
``closed`` (our detailed status goes to ``status_notes``), times are ISO 8601 with offset,
``agency_responsible`` is the grid cell's unit, ``service_code`` the category. ``media_url`` is an
absolute URL only when a base URL is configured (a dispatch system cannot read our disk).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from patrol.report.model import CaseRow

SERVICE_NAMES = {
    "illegal_parking": "Illegal parking",
    "street_vending": "Street vending",
    "road_damage": "Road damage",
    "exposed_garbage": "Exposed garbage",
}


def service_request(c: CaseRow, overdue_days: float, media_url: str | None = None) -> dict[str, Any]:
    name = SERVICE_NAMES.get(c.category, c.category.replace("_", " ").capitalize())
    where = ", ".join(s for s in (c.zone and f"zone {c.zone}", c.grid_cell and f"grid cell {c.grid_cell}") if s)
    description = f"{name} seen from the air" + (f" in {where}" if where else "") + (
        f"; seen on {c.observations} flight{'s' if c.observations != 1 else ''}"
    ) + (f"; last before/after check: {c.last_verdict.replace('_', ' ')}" if c.last_verdict else "")
    notes = c.status.replace("_", " ") + (" (overdue)" if c.overdue else "")
    return {
        "service_request_id": str(c.case_id),
        "status": "open" if c.active else "closed",
        "status_notes": notes,
        "service_name": name,
        "service_code": c.category,
        "description": description,
        "agency_responsible": c.unit,
        "service_notice": None,
        "requested_datetime": c.opened_at.isoformat(timespec="seconds"),
        "updated_datetime": c.updated_at.isoformat(timespec="seconds"),
        "expected_datetime": (c.opened_at + timedelta(days=overdue_days)).isoformat(timespec="seconds") if c.active else None,
        "address": where or None,
        "address_id": None,
        "zipcode": None,
        "lat": round(c.lat_deg, 7),
        "long": round(c.lon_deg, 7),
        "media_url": media_url,
    }


def service_requests(cases: Iterable[CaseRow], overdue_days: float, media_base_url: str | None = None,
                     media_paths: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """GeoReport v2 service requests, one per case. ``media_paths`` maps case_id -> a path relative
    to ``media_base_url`` (for example the case board's thumbnail)."""
    media_paths = media_paths or {}
    out = []
    for c in cases:
        url = None
        if media_base_url and c.case_id in media_paths:
            url = media_base_url.rstrip("/") + "/" + media_paths[c.case_id].lstrip("/")
        out.append(service_request(c, overdue_days, url))
    return out
