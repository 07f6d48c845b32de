"""Verification on request: two geotagged photos (``patrol compare``) and one stored case
(``patrol verify CASE_ID``). Edges over ``patrol.verify.service``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from patrol.config import Settings
from patrol.errors import VerifyError
from patrol.verify.core import Verification
from patrol.verify.evidence import evidence_image, write_evidence
from patrol.verify.service import _camera, _Frames, best_after_frame, verify_case, verify_metas
from patrol.verify.spot import object_at


def _before_footprint(image: np.ndarray, square: tuple[float, float, float, float], point_px: tuple[float, float],
                      detector: Any, class_name: str) -> tuple[float, float, float, float] | None:
    """The object's box at the point in the before photo: the detector over a window around the
    ground square (at least its input size), the detection at the point (see ``object_at``)."""
    h, w = image.shape[:2]
    in_w, in_h = getattr(detector, "input_wh", None) or (0, 0)
    sx, sy = square[2] - square[0], square[3] - square[1]
    half_w, half_h = max(sx, in_w / 2.0), max(sy, in_h / 2.0)
    x0, y0 = max(0, int(point_px[0] - half_w)), max(0, int(point_px[1] - half_h))
    x1, y1 = min(w, int(point_px[0] + half_w)), min(h, int(point_px[1] + half_h))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    from patrol.detect.base import Detection

    dets = [
        Detection((d.bbox_xyxy_px[0] + x0, d.bbox_xyxy_px[1] + y0, d.bbox_xyxy_px[2] + x0, d.bbox_xyxy_px[3] + y0), d.class_name, d.score)
        for d in detector.detect(np.ascontiguousarray(image[y0:y1, x0:x1]))
    ]
    return object_at(dets, point_px, max(sx, sy) / 2.0, class_name)


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

    The spot is the object's footprint: the ``class_name`` detection at the point in the before photo
    (within ``radius_m``), else the ground square of side ``2 * radius_m`` around the point
    (said in the reasons). ``detector`` (pass a ``sensitive_detector``): finds the object in the
    before photo and is re-run on the after photo around the spot; None = no detector, so a clear
    spot comes out ``inconclusive`` (``no_detector``). InputError when a photo cannot be read;
    VerifyError when the before photo has no usable pose or does not show the point."""
    from patrol.geo.crs import LocalFrame
    from patrol.ingest import read_frame
    from patrol.verify.service import ImageCache

    before_meta = read_frame(before_path)
    after_meta = read_frame(after_path)
    local = LocalFrame(lat_deg, lon_deg)
    cam_b = _camera(before_meta, local, settings)
    if cam_b is None:
        raise VerifyError(f"{before_path}: no usable camera pose (GPS, altitude, gimbal, intrinsics) to find the point in it")
    r = float(radius_m)
    e = np.array([-r, r, r, -r, 0.0])
    n = np.array([-r, -r, r, r, 0.0])
    u, v = cam_b.ground_to_pixel(e, n)
    w, h = cam_b.size_wh
    if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
        raise VerifyError(f"{before_path}: the point ({lat_deg:.6f}, {lon_deg:.6f}) is behind the camera")
    square = (max(0.0, float(u[:4].min())), max(0.0, float(v[:4].min())), min(float(w), float(u[:4].max())), min(float(h), float(v[:4].max())))
    if not (square[2] > square[0] + 1 and square[3] > square[1] + 1):
        raise VerifyError(f"{before_path}: the point ({lat_deg:.6f}, {lon_deg:.6f}) is outside the photo")
    images = ImageCache(2)
    box, how = square, f"the spot is the ground square of {2 * r:g} m around the point"
    if detector is not None:
        found = _before_footprint(images.get(before_meta), square, (float(u[4]), float(v[4])), detector, class_name)
        if found is not None:
            box, how = found, f"the spot is the footprint of the {class_name} found at the point in the before photo"
        else:
            how = f"no {class_name} found at the point in the before photo: {how}"
    result = verify_metas(before_meta, after_meta, box, class_name, lat_deg, lon_deg, settings, detector=detector, images=images)
    ver = dataclasses.replace(
        result.verification, before_frame=str(before_path), after_frame=str(after_path), reasons=(*result.verification.reasons, how)
    )
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
