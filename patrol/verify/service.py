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
    metas: Sequence[Any], lat_deg: float, lon_deg: float, settings: Settings, max_gsd_m: float | None = None
) -> Any | None:
    """The frame that shows the spot best: inside the frame, finest GSD at the spot, then nearest
    nadir; only frames at ``max_gsd_m`` or finer when given. None when no frame with a usable pose
    sees it."""
    from patrol.geo.crs import LocalFrame

    local = LocalFrame(lat_deg, lon_deg)
    best, best_key = None, None
    for m in metas:
        if m is None:
            continue
        cam = _camera(m, local, settings)
        if cam is None:
            continue
        sv = spot_view(cam, 0.0, 0.0)
        if sv is None or (max_gsd_m is not None and sv[0] > max_gsd_m):
            continue
        key = (round(sv[0], 4), sv[1])
        if best_key is None or key < best_key:
            best, best_key = m, key
    return best


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
    stage's business); a ``fixed`` against that finding becomes ``inconclusive``
    (``conflicts_with_finding``) for a reviewer.
    """
    from patrol.cases.model import now_utc

    at = at or now_utc()
    frames = _Frames(store)
    base = dict(case_id=case.case_id, verified_at=at)
    after_meta = None
    if preferred_frame is not None:
        after_meta = next((m for m in after_frames if m is not None and frame_key(m) == preferred_frame), None)
    before_meta = None
    if case.evidence_frame is not None:
        before_meta = frames.find(case.evidence_frame, [case.first_flight_id, case.last_flight_id])
    if after_meta is None:
        max_gsd = None
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
        after_meta = best_after_frame(after_frames, case.lat_deg, case.lon_deg, settings, max_gsd_m=max_gsd)
    if case.evidence_frame is None or case.evidence_bbox_xyxy_px is None:
        v = _inconclusive(Inconclusive.NO_BEFORE_IMAGE, "the case has no before evidence (frame and box)", **base)
    elif after_meta is None:
        v = _inconclusive(
            Inconclusive.NO_AFTER_FRAME,
            f"no frame of flight {flight_id} shows the spot (at most {settings.verify.max_after_gsd_ratio:g}x the before view's ground sample distance)",
            **base,
        )
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
                        v,
                        verdict=Verdict.INCONCLUSIVE,
                        inconclusive_reason=Inconclusive.CONFLICTS_WITH_FINDING,
                        reasons=(f"the flight found this {case.class_name} again nearby, but its evidence spot looks clear", *v.reasons),
                    )
                if evidence_dir is not None and r.crops is not None:
                    path = Path(evidence_dir) / f"case-{case.case_id}-{_safe(flight_id)}.jpg"
                    write_evidence(path, evidence_image(r.crops, v, title=f"case {case.case_id}"))
                    v = dataclasses.replace(v, evidence_path=str(path))
    if save:
        save_verification(store, v, flight_id, apply=not reobserved)
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
    """Verify every case the flight queued (its spot covered, nothing found there); mark the stage.

    With ``[verify] verify_reobserved`` also every case the flight re-observed (documented with an
    evidence image and a record; its status is left to the cases stage). ``detector`` None = the
    detections the flight's detect stage stored (no model is loaded)."""
    pending = store.pending_verifications(flight_id)
    frames = _Frames(store)
    after_metas = list(frames.of_flight(flight_id).values())
    flight = store.get_flight(flight_id)
    at = flight.started_at if flight is not None and flight.started_at is not None else None
    jobs: list[tuple[Any, str | None, bool]] = []
    for q in pending:
        case = store.get_case(q.case_id)
        if case is None:
            raise VerifyError(f"queued verification for unknown case {q.case_id}")
        jobs.append((case, q.frame_path, False))
    if settings.verify.verify_reobserved:
        queued = {q.case_id for q in pending}
        done = {r.case_id for r in store.verifications(flight_id=flight_id)}
        for case in store.list_cases(flight_id=flight_id):
            if case.first_flight_id != flight_id and case.case_id not in queued and case.case_id not in done:
                jobs.append((case, None, True))
    # group by the frame the evidence came from, so the image cache is hit
    jobs.sort(key=lambda j: (j[0].evidence_frame or "", j[0].case_id))
    images = ImageCache(3)
    out: list[Verification] = []
    for i, (case, preferred, reobserved) in enumerate(jobs):
        out.append(
            verify_case(
                store, case, after_metas, None if reobserved else detector, settings, flight_id=flight_id,
                evidence_dir=evidence_dir, at=at, preferred_frame=preferred, images=images, reobserved=reobserved,
            )
        )
        if progress is not None:
            progress(VERIFY_STAGE, i + 1, len(jobs))
    verdicts: dict[str, int] = {}
    for v in out:
        verdicts[str(v.verdict)] = verdicts.get(str(v.verdict), 0) + 1
    store.mark_stage(flight_id, VERIFY_STAGE, {"verified": len(out), "verdicts": verdicts})
    return out


def compare_photos(
    before_path: str | Path,
    after_path: str | Path,
    lat_deg: float,
    lon_deg: float,
    settings: Settings,
    *,
    radius_m: float = 2.5,
    detector: Any = None,
    class_name: str = "vehicle",
    evidence_path: str | Path | None = None,
) -> Verification:
    """Ad-hoc before/after check of a spot (lat, lon) in two geotagged photos.

    The spot's box in the before photo is the ground square of side ``2 * radius_m`` around the
    point, projected with the before photo's camera. ``detector`` None = change measure only.
    InputError when a photo cannot be read; VerifyError when the before photo has no usable pose or
    does not show the point."""
    from patrol.geo.crs import LocalFrame
    from patrol.ingest import read_frame

    before_meta = read_frame(before_path)
    after_meta = read_frame(after_path)
    local = LocalFrame(lat_deg, lon_deg)
    cam_b = _camera(before_meta, local, settings)
    if cam_b is None:
        raise VerifyError(f"{before_path}: no usable camera pose (GPS, altitude, gimbal, intrinsics) to find the point in it")
    r = float(radius_m)
    e = np.array([-r, r, r, -r])
    n = np.array([-r, -r, r, r])
    u, v = cam_b.ground_to_pixel(e, n)
    w, h = cam_b.size_wh
    if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
        raise VerifyError(f"{before_path}: the point ({lat_deg:.6f}, {lon_deg:.6f}) is behind the camera")
    box = (max(0.0, float(u.min())), max(0.0, float(v.min())), min(float(w), float(u.max())), min(float(h), float(v.max())))
    if not (box[2] > box[0] + 1 and box[3] > box[1] + 1):
        raise VerifyError(f"{before_path}: the point ({lat_deg:.6f}, {lon_deg:.6f}) is outside the photo")
    result = verify_metas(
        before_meta, after_meta, box, class_name, lat_deg, lon_deg, settings,
        detector=detector, after_detections=[] if detector is None else None,
    )
    ver = dataclasses.replace(result.verification, before_frame=str(before_path), after_frame=str(after_path))
    if detector is None:
        ver = dataclasses.replace(ver, reasons=(*ver.reasons, "no detector: verdict from the change measure alone"))
    if evidence_path is not None and result.crops is not None:
        p = write_evidence(evidence_path, evidence_image(result.crops, ver, title="compare"))
        ver = dataclasses.replace(ver, evidence_path=str(p))
    return ver


def verify_case_id(
    store: Any,
    case_id: int,
    settings: Settings,
    *,
    flight_id: str | None = None,
    detector: Any = None,
    evidence_dir: str | Path | None = None,
    save: bool = True,
) -> Verification:
    """Verify one stored case on a later flight: ``flight_id``, else the flight that queued it, else
    the latest flight (not the one of its evidence) with a frame showing the spot.
    VerifyError for an unknown case or flight, or when no later flight shows the spot."""
    case = store.get_case(case_id)
    if case is None:
        raise VerifyError(f"no case {case_id}")
    frames = _Frames(store)
    preferred = None
    if flight_id is None:
        queued = [q for q in store.pending_verifications() if q.case_id == case_id]
        if queued:
            flight_id, preferred = queued[-1].flight_id, queued[-1].frame_path
    if flight_id is None:
        evidence_flights = {fid for fid in (case.first_flight_id, case.last_flight_id) if fid}
        ev = case.evidence_frame
        for fl in sorted(store.list_flights(), key=lambda f: f.created_at, reverse=True):
            if ev is not None and ev in frames.of_flight(fl.flight_id):
                continue
            if fl.flight_id in evidence_flights and ev is None:
                continue
            if best_after_frame(list(frames.of_flight(fl.flight_id).values()), case.lat_deg, case.lon_deg, settings) is not None:
                flight_id = fl.flight_id
                break
        if flight_id is None:
            raise VerifyError(f"case {case_id}: no later flight has a frame that shows its spot")
    elif store.get_flight(flight_id) is None:
        raise VerifyError(f"no flight {flight_id}")
    return verify_case(
        store, case, list(frames.of_flight(flight_id).values()), detector, settings,
        flight_id=flight_id, evidence_dir=evidence_dir, preferred_frame=preferred, save=save,
    )
