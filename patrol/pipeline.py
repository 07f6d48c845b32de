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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from patrol.errors import GeometryError, InputError, Interrupted, OutputError, PatrolError
from patrol.faults import StopFlag, frame_fault_reason, frame_faults
from patrol.ingest.pixels import DEFAULT_MAX_IMAGE_PX

from patrol.files import FLIGHT_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES, FrameFailure, flight_files  # noqa: F401

STAGES = ("ingest", "detect", "findings", "cases", "verify", "report")

#: progress(stage, done, total): called as work advances (the CLI draws a bar with it).
Progress = Callable[[str, int, int], None]


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
    frames_not_usable: int = 0  # read, but looking at the horizon or too coarse: never detected on
    verified: int | None = None  # None: the verify stage is not available
    verdicts: dict[str, int] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    out_dir: str | None = None
    seconds: float = 0.0
    tiles_run: int = 0  # detector tiles run over the flight's frames (ROI tiling skips the rest)
    tiles_total: int = 0
    warnings: tuple[str, ...] = ()  # zones far from the flight, repeated zone names

    def as_dict(self) -> dict[str, Any]:
        return {
            "flight_id": self.flight_id,
            "name": self.name,
            "source": self.source,
            "skipped": self.skipped,
            "frames_read": self.frames_read,
            "frames_failed": self.frames_failed,
            "frames_unplaced": self.frames_unplaced,
            "frames_not_usable": self.frames_not_usable,
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
            "warnings": list(self.warnings),
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
            frames_not_usable=d.get("frames_not_usable", 0),
            verified=d.get("verified"),
            verdicts=dict(d.get("verdicts") or {}),
            outputs=tuple(d.get("outputs") or ()),
            out_dir=d.get("out_dir"),
            tiles_run=d.get("tiles_run", 0),
            tiles_total=d.get("tiles_total", 0),
            warnings=tuple(d.get("warnings") or ()),
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
            + (f" ({self.frames_unplaced} read without a usable pose)" if self.frames_unplaced else "")
            + (f" ({self.frames_not_usable} not usable for detection)" if self.frames_not_usable else ""),
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
        out.extend(f"  warning: {w}" for w in self.warnings)
        return out


# --- inputs ----------------------------------------------------------------------------------------


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
        max_image_px=getattr(ing, "max_image_px", DEFAULT_MAX_IMAGE_PX),
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


def load_frame_image(meta: Any, max_image_px: int = DEFAULT_MAX_IMAGE_PX) -> Any:
    """BGR image of a frame (the photo, or the sampled frame of a video), proven whole: BadImage for a
    truncated, corrupt or oversized image (patrol.ingest.pixels.decode_image)."""
    from patrol.ingest import load_image

    return load_image(meta, max_image_px)


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


def coverage_of(camera: Any, local: Any, frame: str, settings: Any) -> list[Any]:
    """The frame's coverages for the cases stage: per class of the ``[verify]`` GSD gate, the part of
    its footprint where that class is seen finely enough (``VerifySettings.max_gsd_m``), plus the
    whole footprint (``class_name="*"``: a case seen there only coarsely is still checked, so that
    it says why it could not be verified)."""
    from shapely.geometry import Point

    from patrol.cases.matching import Coverage

    fp = camera.footprint(settings.geo.max_range_m)
    if fp.polygon_en.is_empty or fp.polygon_en.area <= 0:
        return []
    import dataclasses

    try:
        centre_gsd = camera.gsd_m()
    except GeometryError:
        centre_gsd = None
    out = []
    for cls, thr in sorted(settings.verify.gsd_limits_m().items()):
        r = usable_range_m(camera, thr)
        if r <= 0:
            continue
        disc = Point(camera.pose.east_m, camera.pose.north_m).buffer(r, 64)
        poly_en = fp.polygon_en.intersection(disc)
        if poly_en.is_empty or poly_en.area <= 0:
            continue
        usable = dataclasses.replace(fp, polygon_en=poly_en.convex_hull, clipped=False, reason=None)
        gsd = min(centre_gsd, thr) if centre_gsd is not None else thr
        out.append(Coverage(frame=frame, polygon_wgs84=usable.to_wgs84(local), gsd_m=gsd, class_name=cls))
    seen = dataclasses.replace(fp, clipped=False, reason=None)
    out.append(Coverage(frame=frame, polygon_wgs84=seen.to_wgs84(local), gsd_m=centre_gsd or 1.0, class_name="*"))
    return out


# --- the pipeline ----------------------------------------------------------------------------------


class _Ctx:
    """Per-run state shared by the stage functions (not persisted)."""

    def __init__(self, store: Any, settings: Any, flight_id: str, progress: Progress | None) -> None:
        self.store = store
        self.settings = settings
        self.flight_id = flight_id
        self.progress = progress or (lambda stage, done, total: None)
        self.zones: Any = None
        self.stop = StopFlag()
        self.warnings: list[str] = list(getattr(self.zones, "warnings", ()))


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
    stop: StopFlag | None = None,
) -> FlightSummary:
    """Run one flight (files and/or folders) through every stage; return its summary.

    ``detector`` is a Detector (or a callable returning one, called only if detection must run, so a
    skipped flight never loads the model). ``zones`` a patrol.zones.Zones (None = no zones file).
    ``out_dir`` receives the reports (per flight); None = no report files. ``stop_after`` ends the run
    after that stage (for tests and debugging). ``stop`` (set by a signal handler) is checked between
    frames and stages: the run then raises Interrupted, leaving whole frames, and a rerun resumes.
    Raises InputError when no frame of the flight can be read, StoreError when the database fails,
    OutputError when reports or evidence cannot be written; frames that fail are listed in the summary.
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
    ctx.warnings = list(zones.warnings)
    ctx.stop = stop or StopFlag()
    ctx.stop.check()
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
        if local is not None and len(zones):  # decided from the data, before any detection
            far = zones.check_against_flight(local.origin_lat_deg, local.origin_lon_deg)
            if far:
                ctx.warnings.append(far)
        # 2. detect, frame by frame
        if not store.stage_done(flight_id, "detect"):
            det = detector() if callable(detector) and not hasattr(detector, "detect") else detector
            _stage_detect(ctx, good, local, det, zones)
        if stop_after == "detect":
            return _summary(ctx, name, source, out_dir, t0)
        # a frame whose pixels failed, or that cannot serve detection, is never placed, never counts
        # as coverage of a case and is never an after image
        good = _detected_frames(store, flight_id, good)
        # 3. findings
        ctx.stop.check()
        if not store.stage_done(flight_id, "findings"):
            _stage_findings(ctx, good, local, zones)
        findings = store.load_findings(flight_id)
        if stop_after == "findings":
            return _summary(ctx, name, source, out_dir, t0)
        # 4. cases
        ctx.stop.check()
        if not store.stage_done(flight_id, "cases"):
            _stage_cases(ctx, good, local, findings)
        if stop_after == "cases":
            return _summary(ctx, name, source, out_dir, t0)
        # 5. verify and 6. report, when those stages are installed
        ctx.stop.check()
        _stage_verify(ctx, out_dir, detector)
        summary = _summary(ctx, name, source, out_dir, t0)
        outputs = _stage_report(ctx, out_dir, summary)
        if outputs:
            import dataclasses

            summary = dataclasses.replace(summary, outputs=tuple(outputs))
        store.finish_flight(flight_id, status="done", summary=summary.as_dict())
        return summary
    except BaseException as e:
        if isinstance(e, PatrolError) and not isinstance(e, Interrupted):  # stopped: resumes, not failed
            try:
                store.finish_flight(flight_id, status="failed", error=str(e))
            except PatrolError:
                pass
        raise


def frames_without_detection(store: Any, flight_id: str) -> dict[str, str]:
    """Frame key -> why detection did not run on it: its pixels failed (truncated, corrupt, a fault
    at the frame) or it cannot serve detection (horizon, GSD). Such a frame is never placed, never
    counts as coverage of a case and is never a before or after image."""
    st = store.stages(flight_id)
    out: dict[str, str] = dict((st.get("ingest") or {}).get("not_usable") or {})
    for stage, info in st.items():
        if stage.startswith("detect:") and info and info.get("error"):
            out.setdefault(stage[len("detect:") :], str(info["error"]))
    return out


def _detected_frames(store: Any, flight_id: str, frames: Sequence[Any]) -> list[Any]:
    """The frames whose detection ran on whole pixels."""
    skip = frames_without_detection(store, flight_id)
    return [fr for fr in frames if fr.path not in skip]


def _stage_ingest(ctx: _Ctx, metas: Sequence[Any], bad: Sequence[FrameFailure]) -> None:
    """Frames with their footprint and GSD, and unreadable files with their reason: one transaction.
    Frames that cannot serve detection (near or above the horizon, too coarse) are listed in the
    marker's ``not_usable`` with the reason: detection and verification skip them."""
    from patrol.geo.usable import not_usable_reason

    s = ctx.settings
    local = local_frame_for(metas)
    rows = []
    failures = list(bad)
    not_usable: dict[str, str] = {}
    for i, m in enumerate(sorted(metas, key=frame_key)):
        key = frame_key(m)
        gsd = footprint = None
        err = None
        if local is None or not m.has_pose:
            err = "no usable geotag (position, height, gimbal pitch or intrinsics missing)"
        else:
            try:
                cam = _camera(m, local, s)
            except (GeometryError, ValueError) as e:
                err = str(e)
            else:
                why = not_usable_reason(cam, s.detect.min_below_horizon_deg, s.detect.max_frame_gsd_m)
                if why is not None:
                    not_usable[key] = why
                try:
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
                "not_usable": dict(sorted(not_usable.items())),
            },
        )


def _stage_detect(ctx: _Ctx, frames: Sequence[Any], local: Any, detector: Any, zones: Any) -> None:
    """Detections of each frame, committed frame by frame with a per-frame marker (resumable)."""
    from patrol.detect.engine import roi_setup

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
    unusable = dict((done_before.get("ingest") or {}).get("not_usable") or {})
    for i, fr in enumerate(frames):
        ctx.stop.check()  # a frame boundary: everything before is committed
        marker = f"detect:{fr.path}"
        if marker in done_before:
            total += (done_before.get(marker) or {}).get("n", 0)
            tiles[0] += (done_before.get(marker) or {}).get("tiles_run", 0)
            tiles[1] += (done_before.get(marker) or {}).get("tiles_total", 0)
            if (done_before.get(marker) or {}).get("error"):
                failed.append([fr.path, done_before[marker]["error"]])
            ctx.progress("detect", i + 1, len(frames))
            continue
        skip = unusable.get(fr.path)
        if skip is not None:  # looks at the horizon or too coarse: no detection, no verification
            with store.transaction():
                store.save_detections(ctx.flight_id, fr.path, [])
                store.mark_stage(ctx.flight_id, marker, {"n": 0, "not_usable": skip})
            ctx.progress("detect", i + 1, len(frames))
            continue
        try:
            dets, info = _detect_frame(fr, local, detector, s, roi, class_kinds)
        except frame_faults() as e:  # this frame only: recorded, and the flight goes on
            reason = frame_fault_reason(e)
            failed.append([fr.path, reason])
            with store.transaction():
                store.save_detections(ctx.flight_id, fr.path, [])
                store.mark_stage(ctx.flight_id, marker, {"n": 0, "error": reason})
            ctx.progress("detect", i + 1, len(frames))
            continue
        tiles[0] += info.get("tiles_run", 0)
        tiles[1] += info.get("tiles_total", 0)
        with store.transaction():
            store.save_detections(ctx.flight_id, fr.path, dets)
            store.mark_stage(ctx.flight_id, marker, info)
        total += len(dets)
        ctx.progress("detect", i + 1, len(frames))
    with store.transaction():
        store.mark_stage(ctx.flight_id, "detect", {"detections": total, "failed": failed, "tiles_run": tiles[0], "tiles_total": tiles[1]})


def _detect_frame(fr: Any, local: Any, detector: Any, s: Any, roi: Any, class_kinds: Any) -> tuple[list[Any], dict[str, Any]]:
    """Detections of one stored frame and its marker info; raises what ``frame_faults`` lists."""
    from patrol.detect.engine import gsd_or_none, plan_from_settings, run_tiles
    from patrol.findings import sharpness_of

    meta = fr.meta
    info: dict[str, Any] = {}
    image = load_frame_image(meta, s.ingest.max_image_px)
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
    dets.sort(key=lambda d: (-d.score, d.class_name, d.bbox_xyxy_px))
    info["n"] = len(dets)
    info["sharpness"] = [sharpness_of(image, d.bbox_xyxy_px) for d in dets]
    return dets, info


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
    failed: list[list[str]] = []
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
        placed = []
        try:
            for j, d in enumerate(dets):
                placed.append(ground_detection(d, cam, local, fr.path, s.findings, sharp[j] if j < len(sharp) else None, rtk))
        except frame_faults() + (ValueError, ArithmeticError) as e:  # this frame's projection only
            failed.append([fr.path, f"projection failed: {frame_fault_reason(e)}"])
            off_ground += len(dets)
            continue
        for g in placed:
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
            {
                "findings": len(findings),
                "by_category": by_cat,
                "ground_detections": len(gds),
                "off_ground": off_ground,
                "failed": failed,
            },
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
            coverage.extend(coverage_of(_camera(fr.meta, local, s), local, fr.path, s))
        except (GeometryError, ValueError):
            pass
    flight = ctx.store.get_flight(ctx.flight_id)
    at = flight.started_at if flight is not None else None
    update_cases(
        ctx.store,
        ctx.flight_id,
        list(findings),
        radius_m=s.cases.match_radius_m,
        coverage=coverage,
        max_verify_gsd_m=s.verify.gsd_limits_m(),
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


def _stage_verify(ctx: _Ctx, out_dir: str | Path | None, detector: Any) -> None:
    """Before/after checks of the cases whose spot this flight saw, with the flight's detector re-run
    around each spot at its sensitive threshold (``patrol.verify.sensitive_detector``; a detector
    that knows frames by name leaves the flight's stored detections to be used)."""
    fn = _optional("patrol.verify", "verify_flight")
    if ctx.store.stage_done(ctx.flight_id, "verify"):
        return
    _stage_revisit(ctx)
    if fn is None:
        return
    from patrol.verify import sensitive_detector

    evidence_dir = Path(out_dir) / "evidence" if out_dir is not None else None
    store, fid = ctx.store, ctx.flight_id
    anything = store.pending_verifications(fid) or any(c.first_flight_id != fid for c in store.list_cases(flight_id=fid))
    det = None  # nothing to check: the model is not loaded
    if anything:
        det = detector() if callable(detector) and not hasattr(detector, "detect") else detector
    try:
        fn(ctx.store, ctx.flight_id, ctx.settings, evidence_dir=evidence_dir, progress=ctx.progress,
           detector=sensitive_detector(det, ctx.settings))
    except OSError as e:  # disk full, read-only: the verdicts saved so far stand, a rerun does the rest
        raise OutputError(f"{e.filename or evidence_dir}: cannot write evidence: {e.strerror or e}") from e


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
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        written = fn(ctx.store, ctx.flight_id, Path(out_dir), settings=ctx.settings, zones=ctx.zones, summary=summary)
    except OSError as e:  # disk full, read-only: the flight stays unfinished, a rerun writes the reports
        raise OutputError(f"{e.filename or out_dir}: cannot write the flight's reports: {e.strerror or e}") from e
    return [str(p) for p in (written or [])]


def _summary(ctx: _Ctx, name: str, source: str, out_dir: str | Path | None, t0: float) -> FlightSummary:
    st = ctx.store.stages(ctx.flight_id)
    ing = st.get("ingest") or {}
    det = st.get("detect") or {}
    fnd = st.get("findings") or {}
    cas = st.get("cases") or {}
    late: dict[str, str] = {}  # frames whose metadata read but whose pixels (or projection) failed
    for p, r in [*(det.get("failed") or []), *(fnd.get("failed") or [])]:
        late.setdefault(p, r)
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
        frames_read=ing.get("frames_read", 0) - len(late),
        frames_failed=ing.get("frames_failed", 0) + len(late),
        frames_unplaced=ing.get("frames_without_pose", 0),
        frames_not_usable=len(ing.get("not_usable") or {}),
        failures=tuple(FrameFailure(p, r) for p, r in [*ing.get("failures", []), *late.items()]),
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
        warnings=tuple(ctx.warnings),
    )

