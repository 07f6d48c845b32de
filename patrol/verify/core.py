"""Verification of one case from a before and an after image: the record and the pure function.

``verify_images`` takes decoded images, the case's box in the before image, its class, a detector and
optionally the two cameras (``patrol.geo.Camera`` in one LocalFrame); it returns a ``VerifyResult``:
the frozen ``Verification`` record and the aligned crops the evidence image is drawn from. No file or
database access here (see ``patrol.verify.service`` for the edges).

Steps: before crop around the box (a few object sizes, at least ``margin_m`` of ground) -> where that
crop lies in the after image (camera poses, else a given or whole-image feature prior) -> crop the
after image there -> local features + RANSAC (+ ECC) before crop -> after crop, else the pose
alignment (said in the reasons) -> out-of-frame and blur checks -> colour-normalised change of the
spot against its surroundings -> detector on the after crop, boxes mapped onto the before crop ->
verdict (``compare.decide``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import cv2
import numpy as np

from patrol.config import VerifySettings
from patrol.errors import GeometryError
from patrol.verify import register as reg
from patrol.verify.compare import (
    ChangeStats,
    Inconclusive,
    SpotEvidence,
    Verdict,
    box_mask,
    change_map,
    decide,
    normalise_lab,
    region_change,
    sharpness,
)
from patrol.verify.spot import bbox_of as _bbox
from patrol.verify.spot import corners as _corners
from patrol.verify.spot import detect_on_spot
from patrol.verify.spot import local_scale as _local_scale

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Verification:
    """Outcome of one before/after verification of one case.

    ``inconclusive_reason`` is set exactly when the verdict is ``inconclusive``. ``registration`` says
    how the after image was aligned: ``features`` (local features + RANSAC), ``features+ecc``,
    ``geometry`` (camera poses only: features failed), ``global`` (whole-image features only) or
    ``none``. ``change_frac`` is the share of the spot's pixels that changed (None when not measured);
    ``after_bbox_xyxy_px`` the case's box projected into the after image.
    """

    verdict: Verdict
    confidence: float
    reasons: tuple[str, ...]
    inconclusive_reason: Inconclusive | None = None
    registration: str = "none"
    inliers: int = 0
    change_frac: float | None = None
    surround_diff: float | None = None  # median Lab distance around the spot (alignment quality)
    detector_score: float | None = None
    in_frame_frac: float | None = None
    after_bbox_xyxy_px: Box | None = None
    case_id: int = 0
    before_frame: str | None = None
    after_frame: str | None = None
    evidence_path: str | None = None
    verified_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))
        if self.inconclusive_reason is not None:
            object.__setattr__(self, "inconclusive_reason", Inconclusive(self.inconclusive_reason))
        if (self.verdict == Verdict.INCONCLUSIVE) != (self.inconclusive_reason is not None):
            raise ValueError(
                f"inconclusive_reason must be set exactly for an inconclusive verdict "
                f"(verdict={self.verdict}, reason={self.inconclusive_reason})"
            )
        if not (0.0 <= self.confidence <= 1.0):
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        if self.registration not in ("features", "features+ecc", "geometry", "global", "none"):
            raise ValueError(f"unknown registration {self.registration!r}")
        object.__setattr__(self, "reasons", tuple(self.reasons))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (enums as strings, datetime as ISO 8601)."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["verdict"] = str(self.verdict)
        d["inconclusive_reason"] = str(self.inconclusive_reason) if self.inconclusive_reason else None
        d["reasons"] = list(self.reasons)
        d["after_bbox_xyxy_px"] = list(self.after_bbox_xyxy_px) if self.after_bbox_xyxy_px else None
        d["verified_at"] = self.verified_at.isoformat() if self.verified_at else None
        return d


@dataclass(frozen=True)
class AlignedCrops:
    """The images a verification compared (working resolution), for the evidence image."""

    before_bgr: np.ndarray
    after_aligned_bgr: np.ndarray  # black where the after image has no pixels
    diff: np.ndarray | None  # Lab distance (float32), None when not measured
    box_xyxy_px: Box  # the case's box in the crops' pixels
    valid: np.ndarray  # bool mask: aligned after pixels exist
    detections_xyxy_px: tuple[Box, ...] = ()  # detector boxes mapped onto the crops


@dataclass(frozen=True)
class VerifyResult:
    verification: Verification
    crops: AlignedCrops | None = field(default=None, repr=False)


def _inconclusive(reason: Inconclusive, text: str, **kw: Any) -> Verification:
    return Verification(Verdict.INCONCLUSIVE, 0.0 if reason is Inconclusive.REGISTRATION_FAILED else 0.5, (text,), reason, **kw)


def _gsd(camera: Any, u: float, v: float) -> float | None:
    if camera is None:
        return None
    try:
        g = float(camera.gsd_m(u, v))
    except (GeometryError, ValueError):
        return None
    return g if math.isfinite(g) and g > 0 else None


def _window(cx: float, cy: float, half_w: float, half_h: float, size_wh: tuple[int, int]) -> tuple[int, int, int, int] | None:
    w, h = size_wh
    x0, y0 = max(0, int(math.floor(cx - half_w))), max(0, int(math.floor(cy - half_h)))
    x1, y1 = min(w, int(math.ceil(cx + half_w))), min(h, int(math.ceil(cy + half_h)))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return x0, y0, x1, y1


def verify_images(
    before_bgr: np.ndarray,
    after_bgr: np.ndarray,
    before_bbox_xyxy_px: Sequence[float],
    class_name: str,
    detector: Any,
    settings: VerifySettings | None = None,
    *,
    before_camera: Any = None,
    after_camera: Any = None,
    prior_h_ab: np.ndarray | None = None,
    after_detections: Sequence[Any] | None = None,
) -> VerifyResult:
    """Verify one case: is the object in ``before_bbox_xyxy_px`` of ``before_bgr`` still in ``after_bgr``?

    ``detector``: any object with ``detect(image_bgr) -> list[Detection]`` (run on the after crop
    around the spot); or pass ``after_detections`` instead: Detections already made on the whole
    after image (its pixels), e.g. by the flight's detect stage (then ``detector`` may be None).
    Cameras (``patrol.geo.Camera``, same LocalFrame) give the crop scale in metres and the pose
    alignment that guides the feature matching; ``prior_h_ab`` (before px -> after px, e.g. from
    ``register.global_homography`` computed once per image pair) is used when there are no cameras;
    with neither, a whole-image registration is computed here. Never raises for a bad image pair:
    those come back as an ``inconclusive`` verdict with the reason.
    """
    s = settings or VerifySettings()
    box = tuple(float(v) for v in before_bbox_xyxy_px)
    if len(box) != 4 or not (box[2] > box[0] and box[3] > box[1]):
        raise ValueError(f"before_bbox_xyxy_px must be (x1, y1, x2, y2) with x2>x1, y2>y1, got {before_bbox_xyxy_px}")
    hb, wb = before_bgr.shape[:2]
    ha, wa = after_bgr.shape[:2]
    bx1, by1, bx2, by2 = box
    cx, cy = (bx1 + bx2) / 2.0, (by1 + by2) / 2.0
    size = max(bx2 - bx1, by2 - by1)

    # 1. Where does the before crop lie in the after image?
    geometric = None
    if before_camera is not None and after_camera is not None:
        try:
            geometric = reg.geometric_homography(before_camera, after_camera)
        except (np.linalg.LinAlgError, GeometryError, ValueError):
            geometric = None
        if geometric is not None and not reg.plausible(geometric, (cx, cy), max_scale=8.0, max_aniso=6.0):
            geometric = None
    prior, prior_kind = None, "none"
    if prior_h_ab is not None and reg.plausible(prior_h_ab, (cx, cy), max_scale=8.0, max_aniso=6.0):
        prior, prior_kind = np.asarray(prior_h_ab, dtype=float), "global"
    elif geometric is not None:
        prior, prior_kind = geometric, "geometry"
    else:
        fm = reg.global_homography(before_bgr, after_bgr, kind=s.features)
        if fm.h_ab is not None and reg.plausible(fm.h_ab, (cx, cy), max_scale=8.0, max_aniso=6.0):
            prior, prior_kind = fm.h_ab, "global"
        else:
            why = fm.reason or "implausible whole-image homography"
            return VerifyResult(
                _inconclusive(Inconclusive.REGISTRATION_FAILED, f"registration failed: no camera poses and {why}")
            )

    gsd_b = _gsd(before_camera, cx, cy)
    margin = max(s.margin_factor * size, s.min_margin_px, (s.margin_m / gsd_b) if gsd_b else 0.0)
    win_b = _window(cx, cy, (bx2 - bx1) / 2 + margin, (by2 - by1) / 2 + margin, (wb, hb))
    if win_b is None:
        return VerifyResult(_inconclusive(Inconclusive.OUT_OF_FRAME, "the case's box is outside the before image"))
    x0b, y0b, x1b, y1b = win_b

    # Early out-of-frame: the whole before crop maps outside the after image.
    win_poly = reg.apply_h(prior, _corners((x0b, y0b, x1b, y1b)))
    box_poly_prior = reg.apply_h(prior, _corners(box))
    if not np.all(np.isfinite(win_poly)) or reg.polygon_inside_fraction(win_poly, (wa, ha)) == 0.0:
        frac = reg.polygon_inside_fraction(box_poly_prior, (wa, ha))
        return VerifyResult(
            _inconclusive(
                Inconclusive.OUT_OF_FRAME,
                f"out of frame: the spot and its surroundings lie outside the after image ({prior_kind} alignment)",
                registration=prior_kind,
                in_frame_frac=round(frac, 3),
            )
        )

    # 2. After crop: the projected before crop plus room for the prior's error.
    k = _local_scale(prior, (cx, cy))  # after px per before px
    pad = 0.1 * max(x1b - x0b, y1b - y0b) * k
    if prior_kind == "geometry":
        acx, acy = reg.apply_h(prior, np.array([[cx, cy]]))[0]
        gsd_a = _gsd(after_camera, acx, acy) if np.isfinite(acx) else None
        pad = max(0.25 * max(x1b - x0b, y1b - y0b) * k, (s.pose_search_m / gsd_a) if gsd_a else 0.0)
    ex0, ey0, ex1, ey1 = _bbox(win_poly)
    win_a = _window((ex0 + ex1) / 2, (ey0 + ey1) / 2, (ex1 - ex0) / 2 + pad, (ey1 - ey0) / 2 + pad, (wa, ha))
    if win_a is None:
        return VerifyResult(
            _inconclusive(Inconclusive.OUT_OF_FRAME, "out of frame: the spot lies outside the after image", registration=prior_kind)
        )
    x0a, y0a, x1a, y1a = win_a

    # 3. Working resolution: the before crop at <= work_px, the after crop at the matching scale.
    sb = min(1.0, s.work_px / max(x1b - x0b, y1b - y0b))
    sa = min(2.0, sb / k, (2.0 * s.work_px) / max(x1a - x0a, y1a - y0a))
    t_b = reg.scale_matrix(sb) @ reg.translation(-x0b, -y0b)
    t_a = reg.scale_matrix(sa) @ reg.translation(-x0a, -y0a)
    crop_b = cv2.resize(before_bgr[y0b:y1b, x0b:x1b], None, fx=sb, fy=sb, interpolation=cv2.INTER_AREA)
    interp_a = cv2.INTER_AREA if sa < 1.0 else cv2.INTER_LINEAR
    crop_a = cv2.resize(after_bgr[y0a:y1a, x0a:x1a], None, fx=sa, fy=sa, interpolation=interp_a)
    gb, ga = reg.to_gray(crop_b), reg.to_gray(crop_a)
    box_w = tuple(float(v) for v in _bbox(reg.apply_h(t_b, _corners(box))))
    grow = 0.2 * max(box_w[2] - box_w[0], box_w[3] - box_w[1])
    box_grown = (box_w[0] - grow, box_w[1] - grow, box_w[2] + grow, box_w[3] + grow)
    feat_mask = (~box_mask(gb.shape[:2], box_grown)).astype(np.uint8) * 255

    # 4. Local registration: features (+ ECC), else the prior (poses or whole-image features).
    # First guided: the after crop pre-warped by the prior onto the before crop (plus a border for
    # the prior's error), matches gated to that error; then unguided on the raw crops.
    prior_w = t_a @ prior @ np.linalg.inv(t_b)
    prior_w = prior_w / prior_w[2, 2]
    side = max(gb.shape)
    if prior_kind == "geometry":
        gate = max(20.0, (s.pose_search_m / gsd_b * sb) if gsd_b else 0.15 * side)
    else:
        gate = max(15.0, 0.05 * side)
    off = float(min(gate, 0.25 * side))
    canvas_wh = (int(gb.shape[1] + 2 * off), int(gb.shape[0] + 2 * off))
    m_canvas = prior_w @ reg.translation(-off, -off)  # canvas px -> after-work px
    canvas = cv2.warpPerspective(ga, m_canvas, canvas_wh, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    reasons: list[str] = []
    h_w = None
    method = prior_kind
    centre_w = ((box_w[0] + box_w[2]) / 2, (box_w[1] + box_w[3]) / 2)
    fm = reg.feature_homography(
        gb, canvas, kind=s.features, ratio=s.ratio, min_inliers=s.min_inliers, before_mask=feat_mask,
        gate_px=gate, offset_xy=(off, off),
    )
    if fm.h_ab is not None:
        cand = m_canvas @ fm.h_ab
        if reg.plausible(cand, centre_w):
            h_w, method = cand, "features"
            reasons.append(f"aligned by {s.features} features guided by the {'camera poses' if prior_kind == 'geometry' else 'whole-image alignment'} ({fm.inliers} RANSAC inliers of {fm.matches})")
    def surround_corr(h: np.ndarray) -> float:
        """Correlation of the before crop and the after crop warped by ``h``, outside the object."""
        dsz = (gb.shape[1], gb.shape[0])
        al = cv2.warpPerspective(ga, h, dsz, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        ok = cv2.warpPerspective(np.full(ga.shape, 255, np.uint8), h, dsz, flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP) > 0
        return reg.correlation(gb, al, (feat_mask > 0) & ok)

    if h_w is not None and fm.inliers < 3 * s.min_inliers:
        # few inliers (repetitive parking rows, a changed scene): keep them only if they explain the
        # surroundings at least as well as the prior alignment does
        c_feat, c_prior = surround_corr(h_w), surround_corr(prior_w)
        if c_prior > c_feat + 0.02:
            reasons[-1] = (
                f"{s.features} features ({fm.inliers} inliers) rejected: the "
                f"{'camera poses' if prior_kind == 'geometry' else 'whole-image alignment'} fit the surroundings better "
                f"(correlation {c_prior:.2f} vs {c_feat:.2f})"
            )
            h_w, method = prior_w, prior_kind
    if h_w is None:
        fm2 = reg.feature_homography(gb, ga, kind=s.features, ratio=s.ratio, min_inliers=s.min_inliers, before_mask=feat_mask)
        if fm2.h_ab is not None and reg.plausible(fm2.h_ab, centre_w):
            h_w, method, fm = fm2.h_ab, "features", fm2
            reasons.append(f"aligned by {s.features} features ({fm2.inliers} RANSAC inliers of {fm2.matches})")
    if h_w is None:
        why = fm.reason or "implausible local homography"
        if prior_kind == "geometry":
            reasons.append(f"feature registration failed ({why}): aligned from the two camera poses")
        else:
            reasons.append(f"local feature registration failed ({why}): aligned by the whole-image homography")
        h_w = prior_w
    h_w = h_w / h_w[2, 2]

    if s.ecc and method == "features":
        # keep ECC only when it raises the correlation of the surroundings, measured the same way
        c0 = surround_corr(h_w)
        h_e, c_ecc = reg.ecc_refine(gb, ga, h_w, mask=feat_mask, iterations=30)
        if c_ecc > -1.0 and reg.plausible(h_e, ((box_w[0] + box_w[2]) / 2, (box_w[1] + box_w[3]) / 2)):
            moved = reg.apply_h(h_e, _corners(box_w)) - reg.apply_h(h_w, _corners(box_w))
            small = np.all(np.isfinite(moved)) and float(np.abs(moved).max()) < 0.25 * max(box_w[2] - box_w[0], box_w[3] - box_w[1]) + 3
            c1 = surround_corr(h_e) if small else -1.0
            if c1 > c0 + 0.005:
                h_w, method = h_e / h_e[2, 2], "features+ecc"
                reasons.append(f"ECC refinement: correlation of the surroundings {c0:.2f} -> {c1:.2f}")

    h_full = np.linalg.inv(t_a) @ h_w @ t_b
    after_poly = reg.apply_h(h_full, _corners(box))
    in_frac = reg.polygon_inside_fraction(after_poly, (wa, ha))
    after_box = _bbox(after_poly) if np.all(np.isfinite(after_poly)) else None
    common = dict(
        registration=method,
        inliers=fm.inliers if method.startswith("features") else 0,
        in_frame_frac=round(in_frac, 3),
        after_bbox_xyxy_px=after_box,
    )

    # 5. The aligned after crop in the before crop's pixels.
    dsize = (gb.shape[1], gb.shape[0])
    aligned = cv2.warpPerspective(crop_a, h_w, dsize, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    valid = cv2.warpPerspective(np.full(ga.shape, 255, np.uint8), h_w, dsize, flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    valid = cv2.erode(valid, np.ones((5, 5), np.uint8)) > 0
    region_valid = float((box_mask(gb.shape[:2], box_w) & valid).sum() / max(1, box_mask(gb.shape[:2], box_w).sum()))
    # the change is measured on the inner part of the box: its rim holds ground, shadows and the
    # parallax of the object's sides, which change with the sun and the viewpoint, not with the fix
    sx, sy = 0.15 * (box_w[2] - box_w[0]), 0.15 * (box_w[3] - box_w[1])
    region = box_mask(gb.shape[:2], (box_w[0] + sx, box_w[1] + sy, box_w[2] - sx, box_w[3] - sy))
    surround = valid & ~box_mask(gb.shape[:2], box_grown)
    # the spot's own neighbourhood (a ring about one object size wide): the reference for light
    # and for "how much does ground change here anyway"; the whole crop when the ring is too small
    ring_w = max(box_w[2] - box_w[0], box_w[3] - box_w[1], 24.0)
    ring = surround & box_mask(gb.shape[:2], (box_grown[0] - ring_w, box_grown[1] - ring_w, box_grown[2] + ring_w, box_grown[3] + ring_w))
    if ring.sum() < 400 or not s.local_ring:
        ring = surround

    def crops(diff: np.ndarray | None = None, dets: tuple[Box, ...] = ()) -> AlignedCrops:
        return AlignedCrops(crop_b, aligned, diff, box_w, valid, dets)  # type: ignore[arg-type]

    if in_frac < s.min_in_frame or region_valid < s.min_in_frame:
        frac = min(in_frac, region_valid)
        v = _inconclusive(
            Inconclusive.OUT_OF_FRAME,
            f"out of frame: only {frac:.0%} of the spot is inside the after image (need {s.min_in_frame:.0%})",
            **common,
        )
        return VerifyResult(
            Verification(v.verdict, v.confidence, (*reasons, *v.reasons), v.inconclusive_reason, **common), crops()
        )

    # 6. Blur.
    ga_al = reg.to_gray(aligned)
    sharp_b, sharp_a = sharpness(gb, surround), sharpness(ga_al, surround)
    if sharp_b > 0 and sharp_a < s.blur_ratio * sharp_b:
        text = f"after image too blurred at the spot (sharpness {sharp_a:.0f} vs {sharp_b:.0f} before)"
        return VerifyResult(
            Verification(Verdict.INCONCLUSIVE, 0.5, (*reasons, text), Inconclusive.BLUR, **common), crops()
        )

    # 7. Change of the spot against its surroundings, after colour normalisation.
    lab_b, lab_a = normalise_lab(crop_b, aligned, ring)
    shift = 2 if method != "geometry" else 4
    diff = change_map(lab_b, lab_a, shift_px=shift, texture_weight=s.texture_weight)
    diff[~valid] = 0.0
    change: ChangeStats = region_change(diff, region & valid, ring)

    # 8. Detector on the after crop around the spot (native pixels), boxes mapped to the before image.
    tol = (gate / sb) if method == "geometry" else 0.0
    scale = 1.0  # the detector sees the class at its detection GSD, as in the flight's detect stage
    det_gsd = s.detect_gsd_m.get(class_name)
    if det_gsd and after_box is not None:
        g = _gsd(after_camera, (after_box[0] + after_box[2]) / 2.0, (after_box[1] + after_box[3]) / 2.0)
        scale = min(1.0, g / det_gsd) if g else 1.0
    match, other, dets_w = detect_on_spot(detector, after_detections, after_bgr, after_poly, h_full, box, class_name, s, t_b, tol, scale)

    if not match.found and other is not None:
        text = f"occluded: a {other[0]} covers the spot (IoU {other[1]:.2f})"
        return VerifyResult(
            Verification(Verdict.INCONCLUSIVE, 0.5, (*reasons, text), Inconclusive.OCCLUDED, change_frac=round(change.region_changed_frac, 3), **common),
            crops(diff, dets_w),
        )
    if method == "geometry" and not match.found and change.surround_median > s.max_pose_only_diff:
        text = (
            f"registration failed: features failed and the pose alignment leaves the surroundings different too "
            f"(median Lab distance {change.surround_median:.1f} > {s.max_pose_only_diff:.1f})"
        )
        return VerifyResult(
            Verification(
                Verdict.INCONCLUSIVE, 0.0, (*reasons, text), Inconclusive.REGISTRATION_FAILED,
                change_frac=round(change.region_changed_frac, 3), surround_diff=round(change.surround_median, 2), **common,
            ),
            crops(diff, dets_w),
        )
    weak = _weak_evidence(detector is None and after_detections is None, method, class_name, after_box, after_camera, s,
                          before_gsd_m=gsd_b, object_size_m=(size * gsd_b) if gsd_b else None)
    d = decide(class_name, match, change, change_threshold=s.change_threshold, evidence=SpotEvidence(weak))
    ver = Verification(
        d.verdict,
        d.confidence,
        (*d.reasons, *reasons),
        d.inconclusive_reason,
        change_frac=round(change.region_changed_frac, 3),
        surround_diff=round(change.surround_median, 2),
        detector_score=round(match.score, 3) if match.found else None,
        **common,
    )
    return VerifyResult(ver, crops(diff, dets_w))


def _weak_evidence(
    no_detector: bool, method: str, class_name: str, after_box: Box | None, after_camera: Any, s: VerifySettings,
    before_gsd_m: float | None = None, object_size_m: float | None = None,
) -> tuple[Inconclusive, str] | None:
    """Why a clear-looking spot may not be called ``fixed`` (None: the evidence holds).

    The GSD gate: the object (its own size in the before frame when known, at least the class's
    nominal size) must span ``min_object_px`` in the after frame, and the after frame may be at most
    ``max_after_gsd_ratio`` coarser at the spot than the before frame that found it."""
    if no_detector:
        return Inconclusive.NO_DETECTOR, "no detector was run on the after image: a clear spot cannot be confirmed"
    if not method.startswith("features"):
        how = "the camera poses" if method == "geometry" else "the whole-image alignment"
        return Inconclusive.WEAK_REGISTRATION, f"the spot was aligned by {how} only (local features failed): too coarse to confirm it is clear"
    limit = s.max_gsd_for_object_m(class_name, object_size_m)
    if after_box is not None:
        cx, cy = (after_box[0] + after_box[2]) / 2.0, (after_box[1] + after_box[3]) / 2.0
        gsd = _gsd(after_camera, cx, cy)
        if gsd is not None:
            if gsd > limit:
                what = f"this {object_size_m:.1f} m {class_name}" if object_size_m and 100 * object_size_m >= 1 else f"a {class_name}"
                return Inconclusive.GSD_TOO_COARSE, (
                    f"the after frame sees the spot at {100 * gsd:.1f} cm/px, coarser than the {100 * limit:.1f} cm/px {what} needs"
                )
            if before_gsd_m and gsd > s.max_after_gsd_ratio * before_gsd_m:
                return Inconclusive.GSD_TOO_COARSE, (
                    f"the after frame sees the spot at {100 * gsd:.1f} cm/px, over {s.max_after_gsd_ratio:g}x coarser than the "
                    f"{100 * before_gsd_m:.1f} cm/px of the frame that found it: the detector may no longer see it"
                )
        else:
            need = s.min_object_px.get(class_name, 0.0)
            long_px = max(after_box[2] - after_box[0], after_box[3] - after_box[1])
            if long_px < need:
                return Inconclusive.GSD_TOO_COARSE, f"the {class_name} spans {long_px:.0f} px in the after frame (need {need:.0f})"
    return None
