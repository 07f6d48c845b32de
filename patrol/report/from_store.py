"""The thin adapter from the store to the report view models, and the functions the pipeline calls.

``write_flight_report(store, flight_id, out_dir, settings)`` (``patrol process``) and
``write_case_board(store, out_dir, settings)`` (``patrol nightly``) are the public entry points;
``export_text`` backs ``patrol export``. Everything that decides what a page shows lives in the pure
renderers; here we only translate records and strip machine paths (frame names are shown relative to
the flight's input folder, error messages lose the folder part of any absolute path).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path, PurePath
from typing import Any

from patrol.report.model import (
    CaseBoardData,
    CaseRow,
    FailedInput,
    FindingCard,
    FlightReportData,
    FramePoint,
    ImageRef,
    ReviewMark,
    VerificationCard,
    ZoneShape,
    is_absolute_path,
)

EXPORT_FORMATS = ("geojson", "kml", "csv", "open311")
_ABS_PATH = re.compile(r"(?:(?<=^)|(?<=[\s'\"(=:]))(?:/|[A-Za-z]:\\)(?:[^\s'\"/\\]+[/\\])+(?=[^\s'\"/\\])")


# -- names and paths ------------------------------------------------------------------------------
def display_name(path: str, source: str | None) -> str:
    """``path`` relative to the flight's input folder when inside it, else its file name."""
    if source:
        try:
            rel = PurePath(path).relative_to(PurePath(source))
            if str(rel) not in ("", "."):
                return rel.as_posix()
        except ValueError:
            pass
    name = PurePath(path).name or str(path)
    return name if not is_absolute_path(name) else "(unnamed)"


def redact_paths(text: str, roots: Iterable[str] = ()) -> str:
    """``text`` without the folders of this machine: known roots removed first, then any other
    absolute path reduced to its last component."""
    for root in sorted((r for r in roots if r), key=len, reverse=True):
        text = text.replace(root.rstrip("/\\") + "/", "").replace(root.rstrip("/\\") + "\\", "")
    return _ABS_PATH.sub("", text)


# -- geometry helpers -----------------------------------------------------------------------------
def _ring_from_wkt(wkt: str | None) -> tuple[tuple[float, float], ...] | None:
    if not wkt:
        return None
    from shapely import wkt as shp_wkt

    try:
        geom = shp_wkt.loads(wkt)
    except Exception:  # noqa: BLE001 - a damaged footprint only loses its outline on the map
        return None
    if geom.geom_type == "MultiPolygon":
        geom = max(geom.geoms, key=lambda g: g.area)
    if geom.geom_type != "Polygon" or geom.is_empty:
        return None
    return tuple((float(x), float(y)) for x, y, *_ in geom.exterior.coords)


def area_covered_m2(rings: Sequence[Sequence[tuple[float, float]]]) -> float:
    """Geodesic area (WGS84 ellipsoid) of the union of (lon, lat) rings, in square metres."""
    if not rings:
        return 0.0
    from pyproj import Geod
    from shapely.geometry import Polygon
    from shapely.ops import unary_union

    polys = [Polygon(r) for r in rings]
    union = unary_union([p if p.is_valid else p.buffer(0) for p in polys])
    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(union)
    return abs(float(area))


def zone_shapes(zones: Any) -> tuple[ZoneShape, ...]:
    """patrol.zones.Zones (or any iterable of zones with name/kind/unit/geometry) -> ZoneShapes."""
    out = []
    for z in zones or ():
        geom = z.geometry
        polys = getattr(geom, "geoms", [geom])
        rings = tuple(
            tuple(tuple((float(x), float(y)) for x, y, *_ in ring.coords) for ring in (p.exterior, *p.interiors))
            for p in polys
            if not p.is_empty
        )
        if rings:
            out.append(ZoneShape(name=str(z.name), kind=str(z.kind), polygons=rings, unit=z.unit))
    return tuple(out)


# -- cases ----------------------------------------------------------------------------------------
def review_marks(store: Any) -> dict[str, ReviewMark]:
    """case id (text) -> its latest review as the reports show it."""
    from patrol.store.reviews import latest_reviews

    return {str(cid): ReviewMark(str(r.verdict), r.describe()) for cid, r in latest_reviews(store).items()}


def case_row(
    case: Any, now: datetime, overdue_days: float, last_verdict: str | None = None, flight_names: dict[str, str] | None = None,
    review: ReviewMark | None = None,
    source: str = "drone",
) -> CaseRow:
    """A Case record -> CaseRow (age from opened_at to ``now``)."""
    age = max(0.0, (now - case.opened_at).total_seconds() / 86400.0)
    ev = ImageRef(case.evidence_frame, case.evidence_bbox_xyxy_px) if case.evidence_frame else None
    return CaseRow(
        case_id=str(case.case_id),
        category=case.category,
        status=str(case.status),
        lat_deg=case.lat_deg,
        lon_deg=case.lon_deg,
        opened_at=case.opened_at,
        updated_at=case.updated_at,
        age_days=age,
        active=bool(case.is_active),
        overdue=bool(case.is_overdue(now, overdue_days)),
        unit=case.unit,
        grid_cell=case.grid_cell,
        zone=case.zone_name,
        class_name=case.class_name,
        observations=case.observations,
        last_flight_id=case.last_flight_id,
        last_flight_name=(flight_names or {}).get(case.last_flight_id),
        last_verdict=last_verdict,
        confidence=case.score,
        evidence=ev,
        review=review,
        source=source,
    )


def _last_verdicts(store: Any) -> dict[int, str]:
    out: dict[int, str] = {}
    for v in store.verifications():  # ordered by id: the last one wins
        out[v.case_id] = v.verdict
    return out


def load_case_rows(store: Any, now: datetime, overdue_days: float, cases: Iterable[Any] | None = None) -> tuple[CaseRow, ...]:
    verdicts = _last_verdicts(store)
    names = {f.flight_id: f.name for f in store.list_flights()}
    cases = store.list_cases() if cases is None else list(cases)
    marks = review_marks(store)
    from patrol.store.revisits import case_sources

    sources = case_sources(store, [c.case_id for c in cases])
    return tuple(case_row(c, now, overdue_days, verdicts.get(c.case_id), names, marks.get(str(c.case_id)), sources[c.case_id]) for c in cases)


def load_case_board(
    store: Any, settings: Any = None, now: datetime | None = None, closed_window_days: float | None = None
) -> CaseBoardData:
    """Every case; with ``closed_window_days`` closed cases last updated before that window are left
    off (counted in ``hidden_closed``) so a store with years of history still gives a light page."""
    overdue_days = float(settings.cases.overdue_days) if settings is not None else 2.0
    now = now or datetime.now(timezone.utc)
    rows = load_case_rows(store, now, overdue_days)
    hidden = 0
    if closed_window_days is not None:
        keep = tuple(r for r in rows if r.active or (now - r.updated_at).total_seconds() <= closed_window_days * 86400.0)
        hidden, rows = len(rows) - len(keep), keep
    return CaseBoardData(cases=rows, now=now, overdue_days=overdue_days, hidden_closed=hidden,
                         closed_window_days=closed_window_days)


# -- one flight -----------------------------------------------------------------------------------
def resolve_flight_id(store: Any, text: str) -> str:
    """A flight id from what a person typed: the full id, a unique prefix of it (as `patrol process`
    prints it), or a unique flight name. StoreError when nothing matches, ConfigError when several do."""
    from patrol.errors import ConfigError, StoreError

    if store.get_flight(text) is not None:
        return text
    flights = store.list_flights()
    for how, hits in (
        ("id prefix", [f for f in flights if len(text) >= 4 and f.flight_id.startswith(text)]),
        ("name", [f for f in flights if f.name == text]),
    ):
        if len(hits) == 1:
            return hits[0].flight_id
        if len(hits) > 1:
            listed = ", ".join(f"{f.flight_id[:12]} ({f.name})" for f in hits[:5])
            raise ConfigError(f"flight {text!r} is ambiguous ({how}): {listed}; give more of the id")
    raise StoreError(f"unknown flight {text}")


def _outcomes(store: Any, flight_id: str, findings: Sequence[Any]) -> dict[str, tuple[str, str]]:
    """finding_id -> (case_id, "new" | "still_present") from the case events of this flight.

    Candidate cases are those near the flight's findings (not only those whose last flight is this
    one), so an old flight's report still links its findings after later flights saw the cases."""
    out: dict[str, tuple[str, str]] = {}
    pts = [(f.lon_deg, f.lat_deg) for f in findings if getattr(f, "category", None)]
    if not pts:
        return out
    pad = 100.0 / 111_320.0  # degrees; cases sit within the match radius (metres) of their findings
    lat_pad = pad
    lon_pad = pad / max(math.cos(math.radians(sum(p[1] for p in pts) / len(pts))), 1e-6)
    bbox = (min(p[0] for p in pts) - lon_pad, min(p[1] for p in pts) - lat_pad,
            max(p[0] for p in pts) + lon_pad, max(p[1] for p in pts) + lat_pad)
    for case in store.list_cases(bbox=bbox):
        for ev in store.events(case.case_id):
            if ev.flight_id == flight_id and ev.finding_id and str(getattr(ev.source, "value", ev.source)) == "flight":
                out[ev.finding_id] = (str(case.case_id), "new" if ev.from_status is None else "still_present")
    return out


def _image_ref(path: str | None, bbox: Any, frames: dict[str, Any]) -> ImageRef | None:
    if not path:
        return None
    sf = frames.get(path)
    meta = getattr(sf, "meta", None)
    real = getattr(meta, "path", None) or path
    box = tuple(float(v) for v in bbox) if bbox else None
    return ImageRef(real, box, getattr(meta, "frame_index", None))


def load_flight_report(
    store: Any, flight_id: str, settings: Any = None, zones: Any = None, summary: Any = None
) -> FlightReportData:
    """Build the flight report's view model from the store. ``summary`` (pipeline FlightSummary) adds
    input failures the store does not hold. Raises StoreError for an unknown flight."""
    from patrol.errors import StoreError

    flight_id = resolve_flight_id(store, flight_id)
    flight = store.get_flight(flight_id)
    if flight is None:
        raise StoreError(f"unknown flight {flight_id}")
    source = flight.source or ""
    roots = [source, str(Path(source).parent)] if source else []
    stored = store.load_frames(flight_id)
    by_path = {sf.path: sf for sf in stored}

    def name(p: str) -> str:
        return display_name(p, source)

    # As the pipeline counts them: "read" = metadata readable; "failed" = unreadable. A read frame
    # without a usable pose is listed with its reason and counted as not placed.
    ok_frames = [sf for sf in stored if sf.meta is not None and not sf.error]
    n_read = sum(1 for sf in stored if sf.meta is not None)
    failed = [FailedInput(name(sf.path), redact_paths(sf.error or "unreadable", roots)) for sf in stored if sf.error or sf.meta is None]
    listed = {sf.path for sf in stored if sf.error or sf.meta is None}
    extra = [(p, r) for p, r in ((store.stages(flight_id).get("detect") or {}).get("failed") or [])]
    extra += [(f.path, f.reason) for f in (getattr(summary, "failures", None) or ())]
    for path, reason in extra:  # pixels that failed at detection, failures only the summary knows
        if path not in listed:
            listed.add(path)
            failed.append(FailedInput(name(path), redact_paths(str(reason), roots)))
    ordered = sorted(ok_frames, key=lambda sf: (getattr(sf.meta, "time", None) is None, getattr(sf.meta, "time", None) or 0, sf.path))
    points = []
    for sf in ordered:
        lat, lon = getattr(sf.meta, "lat_deg", None), getattr(sf.meta, "lon_deg", None)
        if lat is None or lon is None:
            continue
        points.append(FramePoint(name(sf.path), lat, lon, _ring_from_wkt(sf.footprint_wkt)))
    area = area_covered_m2([p.footprint_wgs84 for p in points if p.footprint_wgs84])

    findings = store.load_findings(flight_id)
    outcomes = _outcomes(store, flight_id, findings)
    marks = review_marks(store)
    cards = []
    for f in findings:
        case_id, outcome = outcomes.get(f.finding_id, (None, None))
        cards.append(FindingCard(
            finding_id=f.finding_id, class_name=f.class_name, category=f.category, lat_deg=f.lat_deg,
            lon_deg=f.lon_deg, confidence=f.score, frames_seen=tuple(name(p) for p in f.frames),
            zone=f.zone_name, grid_cell=f.grid_cell, unit=f.unit, uncertainty_m=f.uncertainty_m,
            case_id=case_id, outcome=outcome, polygon_wgs84=tuple(f.polygon_wgs84) or None,
            evidence=_image_ref(f.best_frame, f.best_bbox_xyxy_px, by_path),
            review=marks.get(case_id) if case_id else None,
        ))

    verifs = []
    for v in store.verifications(flight_id=flight_id):
        case = store.get_case(v.case_id)
        if case is None:
            continue
        details = v.details or {}
        reasons = details.get("reasons") or []
        reason = redact_paths("; ".join(str(r) for r in reasons), roots) if isinstance(reasons, list) else ""
        before_box = case.evidence_bbox_xyxy_px if v.before_frame and v.before_frame == case.evidence_frame else None
        verifs.append(VerificationCard(
            case_id=str(v.case_id), category=case.category, verdict=v.verdict, lat_deg=case.lat_deg,
            lon_deg=case.lon_deg, before_frame=name(v.before_frame) if v.before_frame else None,
            after_frame=name(v.after_frame) if v.after_frame else None, score=v.score, reason=reason,
            evidence=ImageRef(v.evidence_path) if v.evidence_path else None,
            before=_image_ref(v.before_frame, before_box, by_path),
            after=_image_ref(v.after_frame, details.get("after_bbox_xyxy_px"), by_path),
        ))

    notes = []
    if flight.status == "failed" and flight.error:
        notes.append("This flight did not finish: " + redact_paths(flight.error, roots))
    from patrol.route.service import revisit_outcomes

    notes += [o.line() for o in revisit_outcomes(store, flight_id)]  # which planned route this flight flew
    return FlightReportData(
        flight_id=flight_id,
        title=flight.name or flight_id,
        frames_read=n_read,
        frames_failed=sum(1 for sf in stored if sf.meta is None),
        frames_unplaced=n_read - len(ok_frames),
        area_covered_m2=area,
        findings=tuple(cards),
        verifications=tuple(verifs),
        failed_inputs=tuple(failed),
        frames=tuple(points),
        zones=zone_shapes(zones),
        started_at=flight.started_at,
        source_name=display_name(source, None) if source else None,
        notes=tuple(notes),
    )


# -- what the pipeline and the CLI call -----------------------------------------------------------
def write_flight_report(
    store: Any, flight_id: str, out_dir: str | Path, settings: Any = None, zones: Any = None, summary: Any = None
) -> list[Path]:
    """Write the flight's report to ``out_dir/index.html`` (+ ``thumbs/``); returns [the HTML path].

    ``zones`` (patrol.zones.Zones) are drawn on the map when given; ``summary`` (the pipeline's
    FlightSummary) adds failed inputs the store lacks. Raises StoreError for an unknown flight."""
    from patrol.report.html import write_flight_report_html

    return [write_flight_report_html(load_flight_report(store, flight_id, settings, zones, summary), out_dir)]


BOARD_CLOSED_WINDOW_DAYS = 90.0


def write_case_board(
    store: Any,
    out_dir: str | Path,
    settings: Any = None,
    now: datetime | None = None,
    closed_window_days: float | None = BOARD_CLOSED_WINDOW_DAYS,
) -> list[Path]:
    """Write the case board of the whole store to ``out_dir/index.html``; returns [its path]. Every
    active case is listed; closed ones only when updated within ``closed_window_days`` (None = all)."""
    from patrol.report.html import write_case_board_html

    return [write_case_board_html(load_case_board(store, settings, now, closed_window_days), out_dir)]


def export_text(
    store: Any,
    fmt: str,
    settings: Any = None,
    *,
    flight_id: str | None = None,
    active_only: bool = False,
    media_base_url: str | None = None,
    now: datetime | None = None,
) -> str:
    """The store's cases (or, with ``flight_id``, that flight's findings and the cases it touched) as
    GeoJSON, KML, CSV or Open311 JSON text. Raises ConfigError for an unknown format."""
    import json

    from patrol.errors import ConfigError

    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    board = load_case_board(store, settings, now)
    rows = board.cases
    findings: tuple[FindingCard, ...] = ()
    if flight_id is not None:
        flight_id = resolve_flight_id(store, flight_id)
        report = load_flight_report(store, flight_id, settings)
        findings = report.findings
        touched = {f.case_id for f in findings if f.case_id} | {v.case_id for v in report.verifications}
        rows = tuple(r for r in rows if r.case_id in touched)
    if active_only:
        rows = tuple(r for r in rows if r.active)
    if fmt == "geojson":
        from patrol.report import geojson

        return geojson.dumps(geojson.feature_collection(rows, findings, flight_id))
    if fmt == "kml":
        from patrol.report.kml import to_kml

        return to_kml(rows, findings, name=f"patrol flight {flight_id}" if flight_id else "patrol cases")
    if fmt == "csv":
        from patrol.report.csv_export import cases_csv, findings_csv

        return findings_csv(findings) if flight_id is not None else cases_csv(rows)
    from patrol.report.html import board_thumb_rel
    from patrol.report.open311 import service_requests

    media = {r.case_id: rel for r in rows if r.active and (rel := board_thumb_rel(r))}  # board writes these
    reqs = service_requests(rows, board.overdue_days, media_base_url, media)
    return json.dumps(reqs, ensure_ascii=False, indent=1) + "\n"
