"""Generated view models (and small JPEG frames) for the report tests: no store, no real data needed."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from patrol.report.model import (
    CaseBoardData,
    CaseRow,
    FailedInput,
    FindingCard,
    FlightReportData,
    FramePoint,
    ImageRef,
    VerificationCard,
    ZoneShape,
)

HOSTILE_FILE = "<img src=x onerror=alert(1)>.jpg"
HOSTILE_ZONE = "</script><script>alert(1)</script>"
LAT0, LON0 = 38.0, 114.5
M_PER_DEG_LAT = 111_320.0
CATS = ("illegal_parking", "street_vending", "road_damage", "exposed_garbage")
NOW = datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc)


def ll(east_m: float, north_m: float) -> tuple[float, float]:
    """(lon, lat) of a point east/north of the origin."""
    return (LON0 + east_m / (M_PER_DEG_LAT * math.cos(math.radians(LAT0))), LAT0 + north_m / M_PER_DEG_LAT)


def square(east_m: float, north_m: float, half_m: float, clockwise: bool = False) -> tuple[tuple[float, float], ...]:
    pts = [ll(east_m - half_m, north_m - half_m), ll(east_m + half_m, north_m - half_m),
           ll(east_m + half_m, north_m + half_m), ll(east_m - half_m, north_m + half_m)]
    if clockwise:
        pts.reverse()
    return tuple(pts + [pts[0]])


def write_frame(path: Path, seed: int, size_wh=(1200, 900)) -> Path:
    """A textured JPEG (noise compresses like a real photo, so size measurements mean something)."""
    import cv2

    rng = np.random.default_rng(seed)
    w, h = size_wh
    img = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    cv2.rectangle(img, (w // 2 - 40, h // 2 - 30), (w // 2 + 40, h // 2 + 30), (40, 40, 220), -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return path


def flight_data(tmp: Path | None, n_frames: int = 12, n_findings: int = 8, hostile: bool = True,
                n_verifications: int = 2, frame_wh=(1200, 900)) -> FlightReportData:
    """A flight along a street going east; findings cycle through the categories; with ``tmp`` the
    frames exist on disk (for thumbnails)."""
    frames = []
    names = []
    for i in range(n_frames):
        name = HOSTILE_FILE if (hostile and i == 1) else f"DJI_{i:04d}.JPG"
        names.append(name)
        if tmp is not None and i < max(n_findings, 3):
            write_frame(tmp / "flight" / name, i, frame_wh)
        lon, lat = ll(i * 20.0, 0.0)
        frames.append(FramePoint(name, lat, lon, square(i * 20.0, 0.0, 18.0)))
    findings = []
    for j in range(n_findings):
        cat = CATS[j % len(CATS)] if j % 5 != 4 else None
        fi = j % min(n_frames, max(n_findings, 3))
        lon, lat = ll(fi * 20.0 + 3.0, (j % 3 - 1) * 6.0)
        ref = ImageRef(str(tmp / "flight" / names[fi]), (560.0, 410.0, 640.0, 490.0)) if tmp is not None else None
        findings.append(FindingCard(
            finding_id=f"f{j:03d}", class_name="vehicle" if cat is None else "garbage", category=cat,
            lat_deg=lat, lon_deg=lon, confidence=0.5 + 0.04 * (j % 10), frames_seen=(names[fi],),
            zone=HOSTILE_ZONE if (hostile and j == 0) else f"zone {j % 3}", grid_cell=f"G{j % 4}",
            unit=f"Unit {'AB'[j % 2]}", uncertainty_m=1.5, case_id=str(100 + j) if cat else None,
            outcome=("new" if j % 2 else "still_present") if cat else None,
            polygon_wgs84=square(fi * 20.0 + 3.0, (j % 3 - 1) * 6.0, 1.5), evidence=ref,
        ))
    verifs = []
    for k in range(n_verifications):
        lon, lat = ll(40.0 + 30 * k, 10.0)
        ref = ImageRef(str(tmp / "flight" / names[0])) if tmp is not None else None
        verifs.append(VerificationCard(
            case_id=str(900 + k), category=CATS[k % 4], verdict=("fixed", "inconclusive", "still_present")[k % 3],
            lat_deg=lat, lon_deg=lon, before_frame="old/DJI_0100.JPG", after_frame=names[0], score=0.4,
            reason="aligned on 212 matches", evidence=ref,
        ))
    zones = (
        ZoneShape(HOSTILE_ZONE if hostile else "Main St no parking", "no_parking", ((square(60.0, 0.0, 30.0),),)),
        ZoneShape("Market", "no_vending", ((square(120.0, 10.0, 25.0),),)),
        ZoneShape("Cell 7", "grid_cell", ((square(100.0, 0.0, 400.0),),), unit="Unit A"),
    )
    failed = (
        FailedInput(HOSTILE_FILE if hostile else "bad.jpg", "not a JPEG: <b>truncated</b>"),
        FailedInput("DJI_0999.JPG", "missing GPS latitude"),
    )
    return FlightReportData(
        flight_id="flt-20261129-a", title="North district patrol", frames_read=n_frames, frames_failed=len(failed),
        area_covered_m2=n_frames * 1300.0, findings=tuple(findings), verifications=tuple(verifs),
        failed_inputs=failed, frames=tuple(frames), zones=zones, started_at=NOW - timedelta(hours=2),
        generated_at=NOW, source_name="2026-11-29_north",
    )


def case_rows(n: int = 30, tmp: Path | None = None, hostile: bool = True) -> tuple[CaseRow, ...]:
    rows = []
    statuses = ("open", "dispatched", "still_present", "fixed", "closed")
    for i in range(n):
        status = statuses[i % len(statuses)]
        active = status in ("open", "dispatched", "still_present")
        age = float(i % 7) + 0.25
        lon, lat = ll(i * 15.0, (i % 4) * 10.0)
        ref = None
        if tmp is not None:
            ref = ImageRef(str(write_frame(tmp / "cases" / f"c{i}.jpg", i, (640, 480))), (300.0, 200.0, 340.0, 260.0))
        rows.append(CaseRow(
            case_id=str(i + 1), category=CATS[i % 4], status=status, lat_deg=lat, lon_deg=lon,
            opened_at=NOW - timedelta(days=age), updated_at=NOW - timedelta(days=age / 2), age_days=age,
            active=active, overdue=active and age > 2, unit=None if i % 6 == 5 else f"Unit {'ABC'[i % 3]}",
            grid_cell=f"G{i % 5}", zone=HOSTILE_ZONE if (hostile and i == 0) else f"zone {i % 3}",
            class_name="garbage", observations=1 + i % 3, last_flight_id="flt-1", confidence=0.8,
            evidence=ref,
        ))
    return tuple(rows)


def board(n: int = 30, tmp: Path | None = None, hostile: bool = True) -> CaseBoardData:
    return CaseBoardData(cases=case_rows(n, tmp, hostile), now=NOW, overdue_days=2.0)
