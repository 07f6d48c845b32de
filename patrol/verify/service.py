"""The edges of verification: frames and images from the store and the files, verdicts into the store.

- ``verify_case(store, case, after_frames, detector, settings, flight_id=...)``: verify one case on
  one later flight; writes the evidence image, saves the record and moves the case (``fixed`` /
  ``still_present``; ``inconclusive`` leaves it as it is, flagged for review in the record).
- ``verify_flight(store, flight_id, settings, ...)``: every case the flight queued for verification
  (its spot covered, nothing found there). The pipeline's verify stage.
- ``compare_photos(before, after, lat, lon, ...)``: ad-hoc check of two geotagged photos.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from patrol.config import Settings
from patrol.errors import GeometryError, InputError, VerifyError
from patrol.verify.compare import Inconclusive, Verdict
from patrol.verify.core import Verification, VerifyResult, verify_images
from patrol.verify.evidence import evidence_image, write_evidence

VERIFY_STAGE = "verify"
Progress = Callable[[str, int, int], None]


def frame_key(meta: Any) -> str:
    """The frame's name in the store (its path, plus ``#index`` for a video frame)."""
    if getattr(meta, "frame_index", None) is not None:
        return f"{meta.path}#{meta.frame_index}"
    return str(meta.path)


def _camera(meta: Any, local: Any, settings: Settings) -> Any | None:
    from patrol.geo.camera import camera_from_frame

    try:
        return camera_from_frame(meta, local, settings.geo.ground_elevation_m)
    except (GeometryError, ValueError):
        return None


def spot_view(camera: Any, east_m: float, north_m: float, margin_frac: float = 0.05) -> tuple[float, float] | None:
    """(gsd_m, obliquity_deg) of a camera at a ground point it sees well inside its frame, else None."""
    u, v = camera.ground_to_pixel(np.array([east_m]), np.array([north_m]))
    u, v = float(u[0]), float(v[0])
    w, h = camera.size_wh
    mx, my = margin_frac * w, margin_frac * h
    if not (math.isfinite(u) and math.isfinite(v) and mx <= u <= w - mx and my <= v <= h - my):
        return None
    try:
        return camera.gsd_m(u, v), camera.obliquity_deg
    except GeometryError:
        return None


def best_after_frame(
    metas: Sequence[Any], lat_deg: float, lon_deg: float, settings: Settings, max_gsd_m: float | None = None,
    class_name: str | None = None, object_size_m: float | None = None,
) -> Any | None:
    """The frame that shows the spot best: inside the frame, finest GSD at the spot, then nearest
    nadir; only frames at ``max_gsd_m`` or finer when given, and at the GSD ``class_name``'s objects
    need (``[verify] object_size_m / min_object_px``, or the case's own ``object_size_m`` when it is
    larger, see ``VerifySettings.max_gsd_for_object_m``) when given. None when no frame with a
    usable pose sees it so."""
    best = spot_views(metas, lat_deg, lon_deg, settings)
    limit = math.inf if max_gsd_m is None else max_gsd_m
    if class_name is not None:
        limit = min(limit, settings.verify.max_gsd_for_object_m(class_name, object_size_m))
    for gsd, _, m in best:
        if gsd <= limit:
            return m
    return None


def spot_views(metas: Sequence[Any], lat_deg: float, lon_deg: float, settings: Settings) -> list[tuple[float, float, Any]]:
    """(gsd_m at the spot, obliquity_deg, meta) of every frame that sees the spot well inside its
    frame, finest first (then nearest nadir, then name)."""
    from patrol.geo.crs import LocalFrame

    local = LocalFrame(lat_deg, lon_deg)
    out = []
    for m in metas:
        if m is None:
            continue
        cam = _camera(m, local, settings)
        if cam is None:
            continue
        sv = spot_view(cam, 0.0, 0.0)
        if sv is not None:
            out.append((round(sv[0], 4), sv[1], m))
    out.sort(key=lambda r: (r[0], r[1], frame_key(r[2])))
    return out


def sensitive_detector(detector: Any, settings: Settings) -> Any:
    """The detector to re-run around a spot: at ``[verify] detect_confidence``, below the model's
    operating point. An ONNX model is reopened at that threshold; a detector that knows frames by
    name (``detect_path``: the simulator's truth, test doubles) gives None (verification then uses
    the detections the flight's detect stage stored); any other detector is used as it is."""
    if detector is None or hasattr(detector, "detect_path"):
        return None
    from patrol.detect.onnx import OnnxDetector

    if isinstance(detector, OnnxDetector):
        return OnnxDetector(detector.path, confidence=settings.verify.detect_confidence, iou=detector.iou,
                            spinning=getattr(detector, "spinning", True))
    return detector


class _Frames:
    """FrameMeta lookup by frame key across stored flights (cached), else from the file itself."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._by_flight: dict[str, dict[str, Any]] = {}

    def of_flight(self, flight_id: str) -> dict[str, Any]:
        if flight_id not in self._by_flight:
            from patrol.pipeline import frames_without_detection  # failed pixels, horizon, too coarse

            skip = frames_without_detection(self.store, flight_id)
            self._by_flight[flight_id] = {f.path: f.meta for f in self.store.load_frames(flight_id) if f.meta is not None and f.path not in skip}
        return self._by_flight[flight_id]

    def find(self, key: str, flights: Sequence[str]) -> Any | None:
        for fid in flights:
            if fid and key in self.of_flight(fid):
                return self.of_flight(fid)[key]
        for fl in self.store.list_flights():
            if key in self.of_flight(fl.flight_id):
                return self.of_flight(fl.flight_id)[key]
        if "#" not in key and Path(key).is_file():
            from patrol.ingest import read_frame

            try:
                return read_frame(key)
            except InputError:
                return None
        return None


class ImageCache:
    """The last few decoded frames: the cases of one flight share a few after frames (and often
    before frames), and a 20 MP JPEG takes longer to decode than a verification takes."""

    def __init__(self, size: int = 3) -> None:
        self.size = size
        self._items: dict[str, np.ndarray] = {}

    def get(self, meta: Any) -> np.ndarray:
        from patrol.ingest import load_image

        key = frame_key(meta)
        if key in self._items:
            img = self._items.pop(key)
        else:
            img = load_image(meta)
        if self.size > 0:
            self._items[key] = img  # most recent last
            while len(self._items) > self.size:
                self._items.pop(next(iter(self._items)))
        return img


def _inconclusive(reason: Inconclusive, text: str, **kw: Any) -> Verification:
    return Verification(Verdict.INCONCLUSIVE, 0.0, (text,), reason, **kw)


def verify_metas(
    before_meta: Any,
    after_meta: Any,
    before_bbox_xyxy_px: Sequence[float],
    class_name: str,
    lat_deg: float,
    lon_deg: float,
    settings: Settings,
    *,
    detector: Any = None,
    after_detections: Sequence[Any] | None = None,
    images: ImageCache | None = None,
) -> VerifyResult:
    """Load both frames' pixels (through ``images`` when given), place both cameras in a LocalFrame
    at the spot, verify. BadImage (an InputError) when a frame cannot be decoded."""
    from patrol.geo.crs import LocalFrame

    local = LocalFrame(lat_deg, lon_deg)
    images = images or ImageCache(0)
    before_img = images.get(before_meta)
    after_img = images.get(after_meta)
    return verify_images(
        before_img,
        after_img,
        before_bbox_xyxy_px,
        class_name,
        detector,
        settings.verify,
        before_camera=_camera(before_meta, local, settings),
        after_camera=_camera(after_meta, local, settings),
        after_detections=after_detections,
    )


def verify_case(
    store: Any,
    case: Any,
    after_frames: Sequence[Any],
    detector: Any,
    settings: Settings,
    *,
    flight_id: str,
    evidence_dir: str | Path | None = None,
    at: datetime | None = None,
    preferred_frame: str | None = None,
    save: bool = True,
    images: ImageCache | None = None,
    reobserved: bool = False,
    before_evidence: tuple[str, tuple[float, float, float, float]] | None = None,
) -> Verification:
    """Verify one case (a ``patrol.cases.Case``) on the frames of a later flight.

    ``after_frames``: that flight's FrameMeta (the best one for the spot is chosen, or
    ``preferred_frame`` by key when it is among them). ``detector``: a Detector run on the after crop;
    None = use the detections the flight's detect stage stored for that frame. Writes the evidence
    image into ``evidence_dir`` (when given), saves the record and applies the verdict to the case
    (``save``). Problems with one case (no evidence, unreadable image) come back as an
    ``inconclusive`` verdict, never as an exception.

    ``reobserved``: the flight found the problem again (its finding matched the case), so the check
    only documents it (the record and evidence image are saved, the case's status is the cases
    stage's business, see ``verify_flight``). ``before_evidence`` (frame key, box): compare against
    this instead of the case's own evidence (a re-observed case's evidence is already this flight's).
    """
    from patrol.cases.model import now_utc

    at = at or now_utc()
    frames = _Frames(store)
    base = dict(case_id=case.case_id, verified_at=at)
    if before_evidence is not None:
        case = dataclasses.replace(case, evidence_frame=before_evidence[0], evidence_bbox_xyxy_px=tuple(before_evidence[1]))
    after_meta = None
    if preferred_frame is not None:
        after_meta = next((m for m in after_frames if m is not None and frame_key(m) == preferred_frame), None)
    before_meta = None
    if case.evidence_frame is not None:
        before_meta = frames.find(case.evidence_frame, [case.first_flight_id, case.last_flight_id])
    max_gsd, object_m = None, None
    if after_meta is None:
        if before_meta is not None and case.evidence_bbox_xyxy_px is not None:
            from patrol.geo.crs import LocalFrame

            cam_b = _camera(before_meta, LocalFrame(case.lat_deg, case.lon_deg), settings)
            b = case.evidence_bbox_xyxy_px
            gsd_b = None
            if cam_b is not None:
                try:
                    gsd_b = cam_b.gsd_m((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
                except GeometryError:
                    gsd_b = None
            max_gsd = settings.verify.max_after_gsd_ratio * gsd_b if gsd_b else None
            object_m = max(b[2] - b[0], b[3] - b[1]) * gsd_b if gsd_b else None
        after_meta = best_after_frame(after_frames, case.lat_deg, case.lon_deg, settings, max_gsd_m=max_gsd,
                                      class_name=case.class_name, object_size_m=object_m)
    if case.evidence_frame is None or case.evidence_bbox_xyxy_px is None:
        v = _inconclusive(Inconclusive.NO_BEFORE_IMAGE, "the case has no before evidence (frame and box)", **base)
    elif after_meta is None:
        views = spot_views(after_frames, case.lat_deg, case.lon_deg, settings)
        limit = settings.verify.max_gsd_for_object_m(case.class_name, object_m)
        if views:
            v = _inconclusive(
                Inconclusive.GSD_TOO_COARSE,
                f"flight {flight_id} sees the spot at {100 * views[0][0]:.1f} cm/px at best; "
                f"{'this ' + format(object_m, '.1f') + ' m ' if object_m else 'a '}{case.class_name} needs "
                f"{100 * min(limit, max_gsd or math.inf):.1f} cm/px or finer to be verified",
                **base,
            )
        else:
            v = _inconclusive(Inconclusive.NO_AFTER_FRAME, f"no frame of flight {flight_id} shows the spot", **base)
    else:
        after_key = frame_key(after_meta)
        base.update(before_frame=case.evidence_frame, after_frame=after_key)
        if before_meta is None:
            v = _inconclusive(Inconclusive.NO_BEFORE_IMAGE, f"before frame {case.evidence_frame} not found", **base)
        else:
            dets = None
            if detector is None:
                stored = store.load_detections(flight_id)
                dets = list(stored.get(after_key, []))
            try:
                r = verify_metas(
                    before_meta, after_meta, case.evidence_bbox_xyxy_px, case.class_name, case.lat_deg, case.lon_deg,
                    settings, detector=detector, after_detections=dets, images=images,
                )
            except InputError as e:
                v = _inconclusive(Inconclusive.NO_BEFORE_IMAGE if e.path == before_meta.path else Inconclusive.NO_AFTER_FRAME, str(e), **base)
            else:
                v = dataclasses.replace(r.verification, **base)
                if dets is not None:
                    v = dataclasses.replace(v, reasons=(*v.reasons, "detections from the flight's detect stage"))
                if reobserved and v.verdict == Verdict.FIXED:
                    v = dataclasses.replace(
                        v, reasons=(f"the {case.class_name} this flight found nearby is not on the case's spot", *v.reasons)
                    )
                if evidence_dir is not None and r.crops is not None:
                    path = Path(evidence_dir) / f"case-{case.case_id}-{_safe(flight_id)}.jpg"
                    write_evidence(path, evidence_image(r.crops, v, title=f"case {case.case_id}"))
                    v = dataclasses.replace(v, evidence_path=str(path))
    if save:
        save_verification(store, v, flight_id)
        if reobserved and v.verdict == Verdict.FIXED:
            from patrol.cases.service import release_finding

            release_finding(store, case.case_id, flight_id, at=at)
    return v


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)[:40]


def save_verification(store: Any, v: Verification, flight_id: str, *, apply: bool = True) -> Any:
    """Store the record (``patrol.store`` VerificationRecord) and move the case by its verdict
    (``patrol.cases.service.apply_verdict``; not with ``apply`` False). An inconclusive verdict is
    stored with ``details.needs_review`` so reviewers see it; the case's status is left as it is."""
    from patrol.cases.model import now_utc
    from patrol.cases.service import apply_verdict
    from patrol.store.repo import VerificationRecord

    details = v.to_dict()
    details["needs_review"] = v.verdict == Verdict.INCONCLUSIVE
    rec = VerificationRecord(
        case_id=v.case_id,
        flight_id=flight_id,
        at=v.verified_at or now_utc(),
        verdict=str(v.verdict),
        score=v.confidence,
        before_frame=v.before_frame,
        after_frame=v.after_frame,
        evidence_path=v.evidence_path,
        details={k: details[k] for k in details if k not in ("case_id", "before_frame", "after_frame", "evidence_path", "verified_at")},
    )
    if not apply:
        return store.save_verification(rec)
    return apply_verdict(store, rec)


def verify_flight(
    store: Any,
    flight_id: str,
    settings: Settings,
    *,
    evidence_dir: str | Path | None = None,
    progress: Progress | None = None,
    detector: Any = None,
) -> list[Verification]:
    """Check every case whose spot the flight saw; mark the stage.

    - queued cases (spot covered, no finding matched): ``fixed`` / ``still_present`` /
      ``inconclusive`` with the reason (a spot seen only too coarsely says so and stays open);
    - with ``[verify] verify_reobserved`` (default) every case the flight re-observed, against its
      earlier evidence: a detection on the footprint makes it ``still_present``; a clear footprint
      means the finding that matched it (within the match radius) is another object: the case is
      ``fixed`` and that finding opens its own case (``patrol.cases.service.release_finding``).

    ``detector``: re-run around each spot (pass ``sensitive_detector(...)``); None = the detections
    the flight's detect stage stored (no model is loaded)."""
    pending = store.pending_verifications(flight_id)
    frames = _Frames(store)
    after_metas = list(frames.of_flight(flight_id).values())
    flight = store.get_flight(flight_id)
    at = flight.started_at if flight is not None and flight.started_at is not None else None
    jobs: list[tuple[Any, Any, bool]] = []
    for q in pending:
        case = store.get_case(q.case_id)
        if case is None:
            raise VerifyError(f"queued verification for unknown case {q.case_id}")
        jobs.append((case, None, False))
    if settings.verify.verify_reobserved:
        queued = {q.case_id for q in pending}
        done = {r.case_id for r in store.verifications(flight_id=flight_id)}
        for case in store.list_cases(flight_id=flight_id):
            if case.first_flight_id != flight_id and case.case_id not in queued and case.case_id not in done:
                earlier = [f for fl, f in store.findings_of_case(case.case_id) if fl != flight_id]
                if earlier:
                    jobs.append((case, (earlier[-1].best_frame, tuple(earlier[-1].best_bbox_xyxy_px)), True))
    # group by the frame the evidence came from, so the image cache is hit
    jobs.sort(key=lambda j: ((j[1][0] if j[1] else j[0].evidence_frame) or "", j[0].case_id))
    images = ImageCache(3)
    out: list[Verification] = []
    for i, (case, before_ev, reobserved) in enumerate(jobs):
        out.append(
            verify_case(
                store, case, after_metas, detector, settings, flight_id=flight_id, evidence_dir=evidence_dir, at=at,
                images=images, reobserved=reobserved, before_evidence=before_ev,
            )
        )
        if progress is not None:
            progress(VERIFY_STAGE, i + 1, len(jobs))
    verdicts: dict[str, int] = {}
    for v in out:
        verdicts[str(v.verdict)] = verdicts.get(str(v.verdict), 0) + 1
    store.mark_stage(flight_id, VERIFY_STAGE, {"verified": len(out), "verdicts": verdicts})
    return out
