"""One flight through every stage: ingest -> detect -> findings -> cases (-> verify -> report).

Idempotent and resumable. A flight is identified by the content key of its files; a flight whose
status is ``done`` is skipped without a write, so re-running it leaves the database identical. Each
stage writes its rows and its stage marker in one transaction (detection commits frame by frame, so a
long flight killed half-way keeps its finished frames); a run killed at any moment (kill -9) leaves
whole stages or none, and the rerun continues from the first stage not marked done.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from patrol.errors import GeometryError, InputError, PatrolError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".heic", ".heif")
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v")
FLIGHT_SUFFIXES = IMAGE_SUFFIXES + VIDEO_SUFFIXES

STAGES = ("ingest", "detect", "findings", "cases", "verify", "report")

#: progress(stage, done, total): called as work advances (the CLI draws a bar with it).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class FrameFailure:
    path: str
    reason: str


@dataclass(frozen=True)
class FlightSummary:
    """What one ``process_flight`` did (or found already done, ``skipped=True``)."""

    flight_id: str
    name: str
    source: str
    frames_read: int
    frames_failed: int
    detections: int
    findings: int
    findings_by_category: dict[str, int]  # category -> count; "counted" for non-violations
    cases_new: int
    cases_reobserved: int
    cases_queued: int
    failures: tuple[FrameFailure, ...] = ()
    skipped: bool = False
    frames_unplaced: int = 0  # read, but without a usable pose: detected, never put on the map
    verified: int | None = None  # None: the verify stage is not available
    verdicts: dict[str, int] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    out_dir: str | None = None
    seconds: float = 0.0
    tiles_run: int = 0  # detector tiles run over the flight's frames (ROI tiling skips the rest)
    tiles_total: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "flight_id": self.flight_id,
            "name": self.name,
            "source": self.source,
            "skipped": self.skipped,
            "frames_read": self.frames_read,
            "frames_failed": self.frames_failed,
            "frames_unplaced": self.frames_unplaced,
            "failures": [[f.path, f.reason] for f in self.failures],
            "detections": self.detections,
            "tiles_run": self.tiles_run,
            "tiles_total": self.tiles_total,
            "findings": self.findings,
            "findings_by_category": dict(sorted(self.findings_by_category.items())),
            "cases_new": self.cases_new,
            "cases_reobserved": self.cases_reobserved,
            "cases_queued_for_verification": self.cases_queued,
            "verified": self.verified,
            "verdicts": dict(sorted(self.verdicts.items())),
            "outputs": list(self.outputs),
            "out_dir": self.out_dir,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, skipped: bool = False) -> FlightSummary:
        return cls(
            flight_id=d["flight_id"],
            name=d["name"],
            source=d["source"],
            frames_read=d["frames_read"],
            frames_failed=d["frames_failed"],
            detections=d["detections"],
            findings=d["findings"],
            findings_by_category=dict(d["findings_by_category"]),
            cases_new=d["cases_new"],
            cases_reobserved=d["cases_reobserved"],
            cases_queued=d["cases_queued_for_verification"],
            failures=tuple(FrameFailure(p, r) for p, r in d.get("failures", [])),
            skipped=skipped,
            frames_unplaced=d.get("frames_unplaced", 0),
            verified=d.get("verified"),
            verdicts=dict(d.get("verdicts") or {}),
            outputs=tuple(d.get("outputs") or ()),
            out_dir=d.get("out_dir"),
            tiles_run=d.get("tiles_run", 0),
            tiles_total=d.get("tiles_total", 0),
        )

    def lines(self) -> list[str]:
        """Human-readable closing summary."""
        head = f"flight {self.name} ({self.flight_id[:12]})"
        if self.skipped:
            head += ": already processed, nothing changed"
        cats = ", ".join(f"{k} {v}" for k, v in sorted(self.findings_by_category.items())) or "none"
        out = [
            head,
            f"  frames: {self.frames_read} read, {self.frames_failed} failed"
            + (f" ({self.frames_unplaced} read without a usable pose)" if self.frames_unplaced else ""),
            f"  detections: {self.detections}"
            + (f" (tiles run: {self.tiles_run} of {self.tiles_total}, {100.0 * self.tiles_run / self.tiles_total:.0f}%)"
               if self.tiles_total else ""),
            f"  findings: {self.findings} ({cats})",
            f"  cases: {self.cases_new} new, {self.cases_reobserved} re-observed, "
            f"{self.cases_queued} queued for verification",
        ]
        if self.verified is not None and (self.verified or self.cases_queued):
            v = ", ".join(f"{k} {n}" for k, n in sorted(self.verdicts.items())) or "none"
            out.append(f"  verified: {self.verified} ({v})")
        if self.out_dir:
            out.append(f"  outputs: {self.out_dir}")
        return out


# --- inputs ----------------------------------------------------------------------------------------


def flight_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[FrameFailure]]:
    """Image/video files of a flight: files as given, folders searched recursively (sorted).
    Missing paths and folders without frames come back as failures."""
    files: list[Path] = []
    bad: list[FrameFailure] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in FLIGHT_SUFFIXES and not f.name.startswith(".")
            )
            if not found:
                bad.append(FrameFailure(str(p), "folder has no photos or videos"))
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            bad.append(FrameFailure(str(p), "no such file or folder"))
    seen: set[Path] = set()
    unique = []
    for f in files:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(r)
    return unique, bad


def _flight_name(paths: Sequence[str | Path], files: Sequence[Path]) -> str:
    if len(paths) == 1 and Path(paths[0]).is_dir():
        return Path(paths[0]).resolve().name
    return files[0].parent.name if files else "flight"


def _read_metas(files: Sequence[Path], settings: Any = None) -> tuple[list[Any], list[FrameFailure]]:
    """FrameMeta for every frame (photos; sampled video frames), failures for unreadable files."""
    from patrol import ingest

    metas: list[Any] = []
    bad: list[FrameFailure] = []
    ing = getattr(settings, "ingest", None)
    items = ingest.iter_inputs(
        [str(f) for f in files],
        video_interval_s=getattr(ing, "video_interval_s", 1.0),
        workers=getattr(ing, "workers", 1),
        require_gps=True,
    )
    for item in items:
        if isinstance(item, InputError):
            bad.append(FrameFailure(item.path, item.reason))
        else:
            metas.append(item)
    return metas, bad


def frame_key(meta: Any) -> str:
    """The frame's name in the store: its path, plus ``#index`` for a frame sampled from a video."""
    if getattr(meta, "frame_index", None) is not None:
        return f"{meta.path}#{meta.frame_index}"
    return str(meta.path)


def load_frame_image(meta: Any) -> Any:
    """BGR image of a frame: the photo, or the sampled frame of a video. BadImage on failure."""
    from patrol.ingest import load_image

    return load_image(meta)


# --- geometry helpers ----------------------------------------------------------------------------


def local_frame_for(metas: Sequence[Any]) -> Any | None:
    """The flight's LocalFrame: centred on the first geotagged frame (by name, so it is stable)."""
    from patrol.geo.crs import LocalFrame

    for m in sorted(metas, key=frame_key):
        if m.lat_deg is not None and m.lon_deg is not None:
            return LocalFrame(m.lat_deg, m.lon_deg)
    return None


def _camera(meta: Any, local: Any, settings: Any) -> Any:
    from patrol.geo.camera import camera_from_frame

    return camera_from_frame(meta, local, settings.geo.ground_elevation_m)


def usable_range_m(camera: Any, max_gsd_m: float) -> float:
    """Horizontal distance from below the camera within which the ground is seen at ``max_gsd_m``
    or finer (0 when even nadir is coarser). A ray at angle t from nadir sees pixels of about
    H / (f cos^1.5 t) metres, so the limit is r = H sqrt((g f / H)^(4/3) - 1)."""
    k = camera.intrinsics
    f = (k.fx_px + k.fy_px) / 2.0
    h = camera.pose.height_m
    q = max_gsd_m * f / h
    if q <= 1.0:
        return 0.0
    return h * math.sqrt(q ** (4.0 / 3.0) - 1.0)


def coverage_of(camera: Any, local: Any, frame: str, settings: Any) -> Any | None:
    """The part of a frame's footprint seen at usable GSD, as a cases Coverage (None if none)."""
    from shapely.geometry import Point

    from patrol.cases.matching import Coverage

    thr = settings.cases.max_verify_gsd_m
    r = usable_range_m(camera, thr)
    if r <= 0:
        return None
    fp = camera.footprint(settings.geo.max_range_m)
    disc = Point(camera.pose.east_m, camera.pose.north_m).buffer(r, 64)
    poly_en = fp.polygon_en.intersection(disc)
    if poly_en.is_empty or poly_en.area <= 0:
        return None
    import dataclasses

    usable = dataclasses.replace(fp, polygon_en=poly_en.convex_hull, clipped=False, reason=None)
    try:
        gsd = min(camera.gsd_m(), thr)
    except GeometryError:
        gsd = thr
    return Coverage(frame=frame, polygon_wgs84=usable.to_wgs84(local), gsd_m=gsd)


# --- the pipeline ----------------------------------------------------------------------------------


class _Ctx:
    """Per-run state shared by the stage functions (not persisted)."""

    def __init__(self, store: Any, settings: Any, flight_id: str, progress: Progress | None) -> None:
        self.store = store
        self.settings = settings
        self.flight_id = flight_id
        self.progress = progress or (lambda stage, done, total: None)
        self.zones: Any = None


def process_flight(
    paths: Sequence[str | Path],
    settings: Any,
    store: Any,
    detector: Any,
    out_dir: str | Path | None = None,
    *,
    zones: Any = None,
    progress: Progress | None = None,
    stop_after: str | None = None,
) -> FlightSummary:
    """Run one flight (files and/or folders) through every stage; return its summary.

    ``detector`` is a Detector (or a callable returning one, called only if detection must run, so a
    skipped flight never loads the model). ``zones`` a patrol.zones.Zones (None = no zones file).
    ``out_dir`` receives the reports (per flight); None = no report files. ``stop_after`` ends the run
    after that stage (for tests and debugging). Raises InputError when no frame of the flight can be
    read, StoreError when the database fails; frames that fail are listed in the summary.
    """
    from patrol.store.repo import flight_content_key
    from patrol.zones import Zones, check_rules

    t0 = time.monotonic()
    check_rules(settings.rules.rules)
    zones = zones if zones is not None else Zones.empty()
    files, missing = flight_files(paths)
    if not files:
        what = "; ".join(f"{f.path}: {f.reason}" for f in missing) or "no input"
        raise InputError(str(paths[0]) if paths else "-", f"no photos or videos to process ({what})")
    flight_id = flight_content_key(files)
    name = _flight_name(paths, files)
    source = str(Path(paths[0]).resolve()) if len(paths) == 1 else ", ".join(str(Path(p).resolve()) for p in paths)
    known = store.get_flight(flight_id)
    if known is not None and known.status == "done" and known.summary:
        return FlightSummary.from_dict(known.summary, skipped=True)

    ctx = _Ctx(store, settings, flight_id, progress)
    ctx.zones = zones
    # 1. ingest (metadata only: cheap, so it is simply redone until its stage is committed)
    if not store.stage_done(flight_id, "ingest"):
        metas, bad = _read_metas(files, settings)
        bad = missing + bad
        times = [m.time for m in metas if getattr(m, "time", None) is not None]
        store.begin_flight(flight_id, name=name, source=source, n_files=len(files), started_at=min(times) if times else None)
        _stage_ingest(ctx, metas, bad)
    else:
        store.begin_flight(flight_id, name=name, source=source, n_files=len(files))
    if stop_after == "ingest":
        return _summary(ctx, name, source, out_dir, t0)
    try:
        frames = [f for f in store.load_frames(flight_id)]
        good = [f for f in frames if f.meta is not None]
        if not good:
            reasons = "; ".join(f"{f.path}: {f.error}" for f in frames[:3])
            raise InputError(source, f"no frame could be read ({reasons})")
        local = local_frame_for([f.meta for f in good])
        # 2. detect, frame by frame
        if not store.stage_done(flight_id, "detect"):
            det = detector() if callable(detector) and not hasattr(detector, "detect") else detector
            _stage_detect(ctx, good, local, det, zones)
        if stop_after == "detect":
            return _summary(ctx, name, source, out_dir, t0)
        # 3. findings
        if not store.stage_done(flight_id, "findings"):
            _stage_findings(ctx, good, local, zones)
        findings = store.load_findings(flight_id)
        if stop_after == "findings":
            return _summary(ctx, name, source, out_dir, t0)
        # 4. cases
        if not store.stage_done(flight_id, "cases"):
            _stage_cases(ctx, good, local, findings)
        if stop_after == "cases":
            return _summary(ctx, name, source, out_dir, t0)
        # 5. verify and 6. report, when those stages are installed
        _stage_verify(ctx, out_dir)
        summary = _summary(ctx, name, source, out_dir, t0)
        outputs = _stage_report(ctx, out_dir, summary)
        if outputs:
            import dataclasses

            summary = dataclasses.replace(summary, outputs=tuple(outputs))
        store.finish_flight(flight_id, status="done", summary=summary.as_dict())
        return summary
    except BaseException as e:
        if isinstance(e, PatrolError):
            try:
                store.finish_flight(flight_id, status="failed", error=str(e))
            except PatrolError:
                pass
        raise


def _stage_ingest(ctx: _Ctx, metas: Sequence[Any], bad: Sequence[FrameFailure]) -> None:
    """Frames with their footprint and GSD, and unreadable files with their reason: one transaction."""
    s = ctx.settings
    local = local_frame_for(metas)
    rows = []
    failures = list(bad)
    for i, m in enumerate(sorted(metas, key=frame_key)):
        key = frame_key(m)
        gsd = footprint = None
        err = None
        if local is None or not m.has_pose:
            err = "no usable geotag (position, height, gimbal pitch or intrinsics missing)"
        else:
            try:
                cam = _camera(m, local, s)
                gsd = cam.gsd_m()
                footprint = cam.footprint(s.geo.max_range_m).to_wgs84(local)
            except (GeometryError, ValueError) as e:
                err = str(e)
        rows.append((key, m, gsd, footprint, err))
        ctx.progress("ingest", i + 1, len(metas))
    n_pose = sum(1 for r in rows if r[4] is None)
    with ctx.store.transaction():
        for key, m, gsd, footprint, err in rows:
            ctx.store.save_frame(ctx.flight_id, key, m, gsd_m=gsd, footprint_wgs84=footprint, error=err)
        for f in failures:
            ctx.store.save_frame(ctx.flight_id, f.path, None, error=f.reason)
        ctx.store.mark_stage(
            ctx.flight_id,
            "ingest",
            {
                "frames_read": len(metas),
                "frames_failed": len(failures),
                "frames_without_pose": len(metas) - n_pose,
                "failures": sorted([f.path, f.reason] for f in failures),
            },
        )


def _stage_detect(ctx: _Ctx, frames: Sequence[Any], local: Any, detector: Any, zones: Any) -> None:
    """Detections of each frame, committed frame by frame with a per-frame marker (resumable)."""
    from patrol.detect.engine import gsd_or_none, plan_from_settings, roi_setup, run_tiles
    from patrol.errors import BadImage
    from patrol.findings import sharpness_of

    s = ctx.settings
    store = ctx.store
    # ROI per scale pass (patrol.detect.engine.roi_setup): each pass runs the tiles touching zones
    # where one of its classes can be a violation; a class counted anywhere ("*") runs its pass whole.
    rs = roi_setup(zones, s.rules.rules, s.detect.use_zones_roi)
    roi, class_kinds = rs.roi, rs.class_kinds
    total = 0
    tiles = [0, 0]  # run, total over the flight's frames (resumed ones from their markers)
    failed: list[list[str]] = []
    done_before = store.stages(ctx.flight_id)  # frames a killed run already finished
    for i, fr in enumerate(frames):
        marker = f"detect:{fr.path}"
        if marker in done_before:
            total += (done_before.get(marker) or {}).get("n", 0)
            tiles[0] += (done_before.get(marker) or {}).get("tiles_run", 0)
            tiles[1] += (done_before.get(marker) or {}).get("tiles_total", 0)
            if (done_before.get(marker) or {}).get("error"):
                failed.append([fr.path, done_before[marker]["error"]])
            ctx.progress("detect", i + 1, len(frames))
            continue
        meta = fr.meta
        info: dict[str, Any] = {}
        try:
            image = load_frame_image(meta)
        except BadImage as e:
            failed.append([fr.path, e.reason])
            with store.transaction():
                store.save_detections(ctx.flight_id, fr.path, [])
                store.mark_stage(ctx.flight_id, marker, {"n": 0, "error": e.reason})
            ctx.progress("detect", i + 1, len(frames))
            continue
        detect_path = getattr(detector, "detect_path", None)
        if detect_path is not None:  # e.g. the simulator's truth detector: knows each frame by name
            dets = list(detect_path(meta.path, image))
        else:
            cam = None
            if fr.error is None and local is not None:
                try:
                    cam = _camera(meta, local, s)
                except (GeometryError, ValueError):
                    cam = None
            # The plan depends on the frame's GSD (vehicles get a pass at about class_gsd_m).
            plan = plan_from_settings(s.detect, detector, gsd_or_none(cam) if cam is not None else None)
            roi_px = None
            if roi is not None and cam is not None:  # no pose: every tile runs
                try:
                    roi_px = roi.class_polygons_px(cam, local, s.detect.roi_margin_m, s.geo.max_range_m, class_kinds)
                except (GeometryError, ValueError):
                    roi_px = None
            result = run_tiles(image, detector, plan, roi_px)
            dets = list(result.detections)
            info.update(tiles_total=result.tiles_total, tiles_run=result.tiles_run)
            tiles[0] += result.tiles_run
            tiles[1] += result.tiles_total
        dets.sort(key=lambda d: (-d.score, d.class_name, d.bbox_xyxy_px))
        info["n"] = len(dets)
        info["sharpness"] = [sharpness_of(image, d.bbox_xyxy_px) for d in dets]
        with store.transaction():
            store.save_detections(ctx.flight_id, fr.path, dets)
            store.mark_stage(ctx.flight_id, marker, info)
        total += len(dets)
        ctx.progress("detect", i + 1, len(frames))
    with store.transaction():
        store.mark_stage(ctx.flight_id, "detect", {"detections": total, "failed": failed, "tiles_run": tiles[0], "tiles_total": tiles[1]})


def _stage_findings(ctx: _Ctx, frames: Sequence[Any], local: Any, zones: Any) -> None:
    """Project, merge across frames, place in zones; findings and marker in one transaction."""
    from patrol.findings import build_findings, ground_detection

    s = ctx.settings
    store = ctx.store
    stages = store.stages(ctx.flight_id)
    dets_by_frame = store.load_detections(ctx.flight_id)
    gds = []
    off_ground = 0
    order = []
    for i, fr in enumerate(sorted(frames, key=lambda f: (_time_key(f.meta), f.path))):
        order.append(fr.path)
        ctx.progress("findings", i + 1, len(frames))
        dets = dets_by_frame.get(fr.path, [])
        if not dets:
            continue
        if fr.error is not None or local is None:
            off_ground += len(dets)
            continue
        try:
            cam = _camera(fr.meta, local, s)
        except (GeometryError, ValueError):
            off_ground += len(dets)
            continue
        sharp = (stages.get(f"detect:{fr.path}") or {}).get("sharpness") or []
        rtk = _rtk_sigma_m(fr.meta)
        for j, d in enumerate(dets):
            g = ground_detection(d, cam, local, fr.path, s.findings, sharp[j] if j < len(sharp) else None, rtk)
            if g is None:
                off_ground += 1
            else:
                gds.append(g)
    findings = build_findings(gds, zones, s.rules.rules, s.findings, local, ctx.flight_id, order) if local else []
    by_cat: dict[str, int] = {}
    for f in findings:
        k = f.category or "counted"
        by_cat[k] = by_cat.get(k, 0) + 1
    with store.transaction():
        store.save_findings(ctx.flight_id, findings)
        store.mark_stage(
            ctx.flight_id,
            "findings",
            {"findings": len(findings), "by_category": by_cat, "ground_detections": len(gds), "off_ground": off_ground},
        )


def _rtk_sigma_m(meta: Any) -> float | None:
    """Horizontal position error of an RTK-fixed frame (DJI RtkStdLon/Lat), else None."""
    std = getattr(meta, "rtk_std_m", None)
    flag = getattr(meta, "rtk_flag", None)
    if std is None or flag != 50:
        return None
    try:
        sigma = math.hypot(float(std[0]), float(std[1]))
    except (TypeError, ValueError, IndexError):
        return None
    return sigma if math.isfinite(sigma) else None


def _time_key(meta: Any) -> str:
    t = getattr(meta, "time", None)
    return t.isoformat() if isinstance(t, datetime) else ""


def _stage_cases(ctx: _Ctx, frames: Sequence[Any], local: Any, findings: Sequence[Any]) -> None:
    """Match findings to cases and queue covered-but-unseen cases (one transaction, in cases)."""
    from patrol.cases.service import update_cases

    s = ctx.settings
    coverage = []
    for fr in frames:
        if fr.error is not None or local is None:
            continue
        try:
            cov = coverage_of(_camera(fr.meta, local, s), local, fr.path, s)
        except (GeometryError, ValueError):
            cov = None
        if cov is not None:
            coverage.append(cov)
    flight = ctx.store.get_flight(ctx.flight_id)
    at = flight.started_at if flight is not None else None
    update_cases(
        ctx.store,
        ctx.flight_id,
        list(findings),
        radius_m=s.cases.match_radius_m,
        coverage=coverage,
        max_verify_gsd_m=s.cases.max_verify_gsd_m,
        at=at,
    )


def _optional(module: str, name: str) -> Any | None:
    """A function of a stage that may not be installed yet (None when absent)."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return getattr(mod, name, None)


def _stage_verify(ctx: _Ctx, out_dir: str | Path | None) -> None:
    fn = _optional("patrol.verify", "verify_flight")
    if ctx.store.stage_done(ctx.flight_id, "verify"):
        return
    _stage_revisit(ctx)
    if fn is None:
        return
    evidence_dir = Path(out_dir) / "evidence" if out_dir is not None else None
    fn(ctx.store, ctx.flight_id, ctx.settings, evidence_dir=evidence_dir, progress=ctx.progress)


def _stage_revisit(ctx: _Ctx) -> None:
    """Before before/after verification: which planned revisit route this flight flew, and the
    drone's check of citizen/hotline reports (a detection on the spot; see patrol.cases.citizen)."""
    from patrol.cases.citizen import check_reported_cases
    from patrol.route.service import link_flight

    with ctx.store.transaction():
        link_flight(ctx.store, ctx.flight_id)
        check_reported_cases(ctx.store, ctx.flight_id, ctx.settings)


def _stage_report(ctx: _Ctx, out_dir: str | Path | None, summary: FlightSummary) -> list[str]:
    if out_dir is None:
        return []
    fn = _optional("patrol.report", "write_flight_report")
    if fn is None:
        return []
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    written = fn(ctx.store, ctx.flight_id, Path(out_dir), settings=ctx.settings, zones=ctx.zones, summary=summary)
    return [str(p) for p in (written or [])]


def _summary(ctx: _Ctx, name: str, source: str, out_dir: str | Path | None, t0: float) -> FlightSummary:
    st = ctx.store.stages(ctx.flight_id)
    ing = st.get("ingest") or {}
    det = st.get("detect") or {}
    fnd = st.get("findings") or {}
    cas = st.get("cases") or {}
    verified = None
    verdicts: dict[str, int] = {}
    if _optional("patrol.verify", "verify_flight") is not None:
        recs = ctx.store.verifications(flight_id=ctx.flight_id)
        verified = len(recs)
        for r in recs:
            verdicts[r.verdict] = verdicts.get(r.verdict, 0) + 1
    return FlightSummary(
        flight_id=ctx.flight_id,
        name=name,
        source=source,
        frames_read=ing.get("frames_read", 0),
        frames_failed=ing.get("frames_failed", 0),
        frames_unplaced=ing.get("frames_without_pose", 0),
        failures=tuple(FrameFailure(p, r) for p, r in ing.get("failures", [])),
        detections=det.get("detections", 0),
        tiles_run=det.get("tiles_run", 0),
        tiles_total=det.get("tiles_total", 0),
        findings=fnd.get("findings", 0),
        findings_by_category=dict(fnd.get("by_category", {})),
        cases_new=cas.get("new", 0),
        cases_reobserved=cas.get("reobserved", 0),
        cases_queued=cas.get("queued_for_verification", 0),
        verified=verified,
        verdicts=verdicts,
        out_dir=str(Path(out_dir).resolve()) if out_dir is not None else None,
        seconds=time.monotonic() - t0,
    )

