"""Records <-> database values: timestamps, JSON, FrameMeta, Finding, Case, CaseEvent. Pure."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from patrol.cases.model import Case, CaseEvent


def ts(dt: datetime | None) -> str | None:
    """Aware datetime -> ISO 8601 UTC text with microseconds (sorts as text). Naive = UTC."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds")


def parse_ts(text: str | None) -> datetime | None:
    if text is None:
        return None
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return {"__datetime__": ts(value)}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    return value


def _tuples(value: Any) -> Any:
    """JSON lists back to tuples (records use tuples), datetimes back to datetime."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        if set(value) == {"__datetime__"}:
            return parse_ts(value["__datetime__"])
        return {k: _tuples(v) for k, v in value.items()}
    return value


def dumps(value: Any) -> str | None:
    """A record, dict or list as compact, key-sorted JSON (stable across runs); None stays None."""
    if value is None:
        return None
    return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def loads(text: str | None) -> Any:
    return None if text is None else _tuples(json.loads(text))


def loads_plain(text: str | None) -> Any:
    """JSON as plain lists/dicts (for free-form ``details`` / ``info``)."""
    return None if text is None else json.loads(text)


def record_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """Only the keys ``cls`` accepts (tolerates extra keys written by a newer version)."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    return {k: v for k, v in data.items() if k in names}


def frame_meta_to_json(meta: Any) -> str:
    return dumps(meta)  # type: ignore[return-value]


def frame_meta_from_json(text: str) -> Any:
    from patrol.ingest.frame import FrameMeta, Intrinsics

    data = dict(loads(text))
    if data.get("intrinsics") is not None:
        data["intrinsics"] = Intrinsics(**record_fields(Intrinsics, data["intrinsics"]))
    return FrameMeta(**record_fields(FrameMeta, data))


def finding_from_json(text: str) -> Any:
    from patrol.findings import Finding

    return Finding(**record_fields(Finding, loads(text)))


CASE_COLUMNS = (
    "case_id, category, class_name, lat_deg, lon_deg, status, opened_at, updated_at, first_flight_id, "
    "last_flight_id, grid_cell, unit, zone_name, evidence_frame, evidence_bbox, duplicate_of, last_seen_at, "
    "observations, score, uncertainty_m"
)


def case_values(case: Case) -> tuple:
    """Values in CASE_COLUMNS order without case_id."""
    return (
        case.category,
        case.class_name,
        case.lat_deg,
        case.lon_deg,
        str(case.status),
        ts(case.opened_at),
        ts(case.updated_at),
        case.first_flight_id,
        case.last_flight_id,
        case.grid_cell,
        case.unit,
        case.zone_name,
        case.evidence_frame,
        dumps(case.evidence_bbox_xyxy_px),
        case.duplicate_of,
        ts(case.last_seen_at),
        case.observations,
        case.score,
        case.uncertainty_m,
    )


def case_from_row(row: Mapping[str, Any]) -> Case:
    bbox = loads(row["evidence_bbox"])
    return Case(
        case_id=row["case_id"],
        category=row["category"],
        class_name=row["class_name"],
        lat_deg=row["lat_deg"],
        lon_deg=row["lon_deg"],
        status=row["status"],
        opened_at=parse_ts(row["opened_at"]),  # type: ignore[arg-type]
        updated_at=parse_ts(row["updated_at"]),  # type: ignore[arg-type]
        first_flight_id=row["first_flight_id"],
        last_flight_id=row["last_flight_id"],
        grid_cell=row["grid_cell"],
        unit=row["unit"],
        zone_name=row["zone_name"],
        evidence_frame=row["evidence_frame"],
        evidence_bbox_xyxy_px=tuple(bbox) if bbox is not None else None,
        duplicate_of=row["duplicate_of"],
        last_seen_at=parse_ts(row["last_seen_at"]),
        observations=row["observations"],
        score=row["score"],
        uncertainty_m=row["uncertainty_m"],
    )


EVENT_COLUMNS = "event_id, case_id, at, from_status, to_status, source, flight_id, finding_id, evidence, note"


def event_from_row(row: Mapping[str, Any]) -> CaseEvent:
    return CaseEvent(
        event_id=row["event_id"],
        case_id=row["case_id"],
        at=parse_ts(row["at"]),  # type: ignore[arg-type]
        from_status=row["from_status"],
        to_status=row["to_status"],
        source=row["source"],
        flight_id=row["flight_id"],
        finding_id=row["finding_id"],
        evidence=row["evidence"],
        note=row["note"],
    )
