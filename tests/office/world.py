"""A small generated store for the office tests: three weekly flights over one street, two units,
every category, a verified fix; real JPEG frames on disk so thumbnails and training crops work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shapely.geometry import Polygon

from patrol.cases.service import apply_verdict, update_cases
from patrol.findings import Finding
from patrol.ingest.frame import FrameMeta
from patrol.store import VerificationRecord, open_store
from tests.report.factories import ll, square, write_frame

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # a Monday
CLASS_OF = {"illegal_parking": "vehicle", "street_vending": "vendor_stall", "road_damage": "road_damage",
            "exposed_garbage": "garbage"}
UNITS = ("Roads East", "Sanitation West")
# (east_m, category, unit index): first flight
SPOTS = [
    (5.0, "road_damage", 0), (25.0, "exposed_garbage", 1), (45.0, "street_vending", 1),
    (65.0, "illegal_parking", 0), (85.0, "road_damage", 0), (105.0, "exposed_garbage", 1),
]


@dataclass(frozen=True)
class World:
    db: Path
    root: Path
    flights: tuple[str, ...]


def _finding(fid: str, frame: str, east: float, category: str, unit: str, box_x: float) -> Finding:
    lon, lat = ll(east, 0.0)
    return Finding(
        finding_id=fid, class_name=CLASS_OF[category], category=category, lat_deg=lat, lon_deg=lon,
        uncertainty_m=1.0, score=0.8, zone_name="Main St", zone_kind="road", grid_cell=f"G{unit[0]}",
        unit=unit, frames=(frame,), best_frame=frame, best_bbox_xyxy_px=(box_x, 410.0, box_x + 80.0, 490.0),
        polygon_wgs84=square(east, 0.0, 1.0),
    )


def add_flight(store, root: Path, fid: str, at: datetime, spots, verify: int | None = None) -> None:
    folder = root / fid
    paths = [write_frame(folder / f"DJI_{i:04d}.JPG", hash((fid, i)) % 1000, (1200, 900)) for i in range(3)]
    store.begin_flight(fid, name=f"patrol {fid}", source=str(folder), n_files=len(paths), started_at=at)
    for i, p in enumerate(paths):
        lon, lat = ll(i * 50.0, 0.0)
        meta = FrameMeta(path=str(p), lat_deg=lat, lon_deg=lon, rel_alt_m=60.0, time=at + timedelta(seconds=i))
        store.save_frame(fid, str(p), meta, gsd_m=0.02, footprint_wgs84=Polygon(square(i * 50.0, 0.0, 30.0)))
    findings = [
        _finding(f"{fid}-{k}", str(paths[k % 3]), e, c, UNITS[u], 200.0 + 150.0 * (k // 3))
        for k, (e, c, u) in enumerate(spots)
    ]
    store.save_findings(fid, findings)
    update_cases(store, fid, findings, radius_m=5.0, at=at)
    if verify is not None:
        ev = write_frame(root / "evidence" / f"case-{verify}.jpg", 99, (900, 300))
        apply_verdict(store, VerificationRecord(
            case_id=verify, flight_id=fid, at=at, verdict="fixed", score=0.7, before_frame=None,
            after_frame=str(paths[0]), evidence_path=str(ev), details={"reasons": ["aligned"]},
        ))
    store.finish_flight(fid)


def make_world(tmp: Path) -> World:
    """Flight A opens 6 cases; flight B a week later sees 4 again (case 1 verified fixed), opens 1;
    flight C a week after that opens one more."""
    db = tmp / "patrol.db"
    root = tmp / "in"
    with open_store(db) as s:
        add_flight(s, root, "flightA", T0, SPOTS)
        add_flight(s, root, "flightB", T0 + timedelta(days=7), SPOTS[1:5] + [(125.0, "road_damage", 0)], verify=1)
        add_flight(s, root, "flightC", T0 + timedelta(days=14), [(145.0, "exposed_garbage", 1)])
    return World(db, root, ("flightA", "flightB", "flightC"))
