"""Findings: detections placed on the ground and merged across overlapping frames.

A ``GroundDetection`` is one detection in one frame, projected to the ground. A ``Finding`` is one
physical object, possibly seen in several frames, with its best view as evidence, its zone, grid cell
and responsible unit, and its violation category (None = counted, not a violation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from patrol.merge import (  # noqa: F401  (re-exported: part of this module's API)
    FrameCorrection,
    align_frames,
    apply_correction,
    merge_ground_detections,
)


def _check_latlon(lat_deg: float, lon_deg: float) -> None:
    if not (math.isfinite(lat_deg) and -90.0 <= lat_deg <= 90.0):
        raise ValueError(f"lat_deg must be in [-90, 90], got {lat_deg}")
    if not (math.isfinite(lon_deg) and -180.0 <= lon_deg <= 180.0):
        raise ValueError(f"lon_deg must be in [-180, 180], got {lon_deg}")


def _check_bbox(bbox: tuple[float, float, float, float]) -> None:
    if len(bbox) != 4:
        raise ValueError(f"bbox_xyxy_px must have 4 numbers, got {bbox}")
    x1, y1, x2, y2 = bbox
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"bbox_xyxy_px must have x2>x1 and y2>y1, got {bbox}")


def _check_polygon(poly: tuple[tuple[float, float], ...]) -> None:
    if len(poly) < 3:
        raise ValueError(f"polygon_wgs84 needs at least 3 (lon, lat) points, got {len(poly)}")
    for p in poly:
        if len(p) != 2:
            raise ValueError(f"polygon_wgs84 points must be (lon_deg, lat_deg), got {p}")
        _check_latlon(p[1], p[0])


@dataclass(frozen=True)
class GroundDetection:
    """One detection of one frame, projected to the ground.

    ``east_m``/``north_m`` are in the flight's LocalFrame; ``lat_deg``/``lon_deg`` the same point in
    WGS84. ``polygon_en`` is the box's ground footprint in local metres, ``polygon_wgs84`` the same as
    (lon_deg, lat_deg) pairs (GeoJSON order). ``obliquity_deg`` is the angle of the viewing ray at the
    contact point from nadir, ``gsd_m`` the ground sample distance there, ``sharpness`` a focus
    measure of the box crop (None when not measured), ``truncated`` True when the box touches the
    image border (the object is cut, its ground point biased).
    """

    frame: str
    class_name: str
    score: float
    bbox_xyxy_px: tuple[float, float, float, float]
    east_m: float
    north_m: float
    lat_deg: float
    lon_deg: float
    uncertainty_m: float
    gsd_m: float
    obliquity_deg: float
    polygon_en: tuple[tuple[float, float], ...]
    polygon_wgs84: tuple[tuple[float, float], ...]
    sharpness: float | None = None
    truncated: bool = False  # the box touches the image border: the object is cut
    cam_en: tuple[float, float] | None = None  # the point below the camera (local metres)
    cam_height_m: float | None = None  # camera height above the ground
    cam_forward_en: tuple[float, float] | None = None  # unit vector: where the camera looks, on the ground

    def __post_init__(self) -> None:
        if not self.frame:
            raise ValueError("frame must not be empty")
        if not self.class_name:
            raise ValueError("class_name must not be empty")
        if not (0.0 <= self.score <= 1.0):
            raise ValueError(f"score must be in [0, 1], got {self.score}")
        _check_bbox(self.bbox_xyxy_px)
        _check_latlon(self.lat_deg, self.lon_deg)
        for name in ("east_m", "north_m"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)}")
        if not (math.isfinite(self.uncertainty_m) and self.uncertainty_m >= 0.0):
            raise ValueError(f"uncertainty_m must be >= 0, got {self.uncertainty_m}")
        if not (math.isfinite(self.gsd_m) and self.gsd_m > 0.0):
            raise ValueError(f"gsd_m must be > 0, got {self.gsd_m}")
        if not (0.0 <= self.obliquity_deg <= 90.0):
            raise ValueError(f"obliquity_deg must be in [0, 90], got {self.obliquity_deg}")
        _check_polygon(self.polygon_wgs84)


@dataclass(frozen=True)
class Finding:
    """One physical object on the ground, merged over the frames it was seen in.

    ``finding_id`` is deterministic (same flight, same detections -> same id). ``category`` is the
    violation category (``illegal_parking``, ``street_vending``, ``road_damage``,
    ``exposed_garbage``) or None for an object that is only counted (a vehicle outside no-parking
    zones and sidewalks). ``zone_name``/``zone_kind`` name the zone that set the category (or the most
    specific zone at the point), ``grid_cell``/``unit`` the grid cell and its responsible unit (None
    outside every grid cell). ``uncertainty_m`` is a radius in metres around (lat_deg, lon_deg).
    ``frames`` lists every frame it was seen in (sorted); ``best_frame``/``best_bbox_xyxy_px`` are the
    evidence view. ``polygon_wgs84`` is the ground outline as (lon_deg, lat_deg) pairs, GeoJSON order.
    """

    finding_id: str
    class_name: str
    category: str | None
    lat_deg: float
    lon_deg: float
    uncertainty_m: float
    score: float
    zone_name: str | None
    zone_kind: str | None
    grid_cell: str | None
    unit: str | None
    frames: tuple[str, ...]
    best_frame: str
    best_bbox_xyxy_px: tuple[float, float, float, float]
    polygon_wgs84: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.finding_id:
            raise ValueError("finding_id must not be empty")
        if not self.class_name:
            raise ValueError("class_name must not be empty")
        if self.category is not None and not self.category:
            raise ValueError("category must be None or a non-empty string")
        _check_latlon(self.lat_deg, self.lon_deg)
        if not (math.isfinite(self.uncertainty_m) and self.uncertainty_m >= 0.0):
            raise ValueError(f"uncertainty_m must be >= 0, got {self.uncertainty_m}")
        if not (0.0 <= self.score <= 1.0):
            raise ValueError(f"score must be in [0, 1], got {self.score}")
        if not self.frames:
            raise ValueError("frames must not be empty")
        if self.best_frame not in self.frames:
            raise ValueError(f"best_frame {self.best_frame!r} is not in frames")
        _check_bbox(self.best_bbox_xyxy_px)
        _check_polygon(self.polygon_wgs84)

    @property
    def is_violation(self) -> bool:
        """True when the finding has a violation category (it becomes or joins a case)."""
        return self.category is not None

    @property
    def __geo_interface__(self) -> dict[str, Any]:
        return {"type": "Point", "coordinates": (self.lon_deg, self.lat_deg)}


# ---------------------------------------------------------------------------------------------------
# Projection: one detection -> one GroundDetection (pure: camera model and plain values in)

EDGE_PX = 2.0  # a box this close to the image border is cut by it (truncated object)


def ground_detection(
    det: Any,
    camera: Any,
    local: Any,
    frame: str,
    settings: Any,
    sharpness: float | None = None,
    position_sigma_m: float | None = None,
) -> GroundDetection | None:
    """Project ``det`` (a Detection) seen by ``camera`` (patrol.geo.camera.Camera in ``local``, a
    LocalFrame) to the ground. ``settings`` is the FindingsSettings section.

    The box is projected to the ground plane and read in the camera's radial direction: an object
    of height h at horizontal distance s from the camera shows its top at s * H / (H - h) on the
    ground, so the far edge of the footprint is the far edge of the projected box pulled back by that
    factor; the near edge is the ground contact. For a forward-looking oblique view this is the
    bottom of the box; near nadir the box centre; for flat objects (h = 0) the box's ground centre.
    Returns None when the box centre's ray misses the ground (above the horizon).
    ``position_sigma_m`` overrides ``settings.position_sigma_m`` for this frame (e.g. an RTK fix).
    """
    import numpy as np

    x1, y1, x2, y2 = (float(v) for v in det.bbox_xyxy_px)
    uc, vc = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    us = np.array([x1, x2, x2, x1, uc])
    vs = np.array([y2, y2, y1, y1, vc])
    e, n = camera.pixel_to_ground(us, vs)
    if not (np.isfinite(e[4]) and np.isfinite(n[4])):
        return None
    pose = camera.pose
    cam_e, cam_n, height = pose.east_m, pose.north_m, pose.height_m
    obj_h = float(settings.object_height_m.get(det.class_name, 0.0))
    obj_h = min(max(obj_h, 0.0), 0.9 * height)

    # radial (s) and lateral (l) axes through the box's ground centre
    de, dn = e[4] - cam_e, n[4] - cam_n
    r = math.hypot(de, dn)
    if r > 1e-6:
        ax_s = (de / r, dn / r)
    else:  # straight below the camera: relief is nil, any axis will do; use the image's up
        fwd = camera.ray_enu(camera.intrinsics.cx_px, 0.0)
        norm = math.hypot(fwd[0], fwd[1]) or 1.0
        ax_s = (fwd[0] / norm, fwd[1] / norm)
    ax_l = (-ax_s[1], ax_s[0])
    ok = np.isfinite(e[:4]) & np.isfinite(n[:4])
    pe, pn = e[:4][ok] - cam_e, n[:4][ok] - cam_n
    s = pe * ax_s[0] + pn * ax_s[1]
    lat_c = pe * ax_l[0] + pn * ax_l[1]
    if len(s) >= 2:
        s_min = float(s.min())
        l_min, l_max = float(lat_c.min()), float(lat_c.max())
    else:
        s_min, l_min, l_max = r, -0.5, 0.5
    if ok.all():
        # the box's far edge is the top's far edge leaning out by h / (H - h), or the footprint's own
        # far edge where the top is set back by more than that lean (a car's roof inside its bumpers)
        s_max = float(s.max())
        inset = max(float(getattr(settings, "object_top_inset_m", {}).get(det.class_name, 0.0)), 0.0)
        s_far = s_max
        if obj_h > 0 and s_max * (height - obj_h) / height + inset < s_max:
            s_far = s_max * (height - obj_h) / height + inset
    else:  # top of the box is above the horizon: assume a footprint as deep as it is wide
        s_far = s_min + (l_max - l_min)
    s_far = max(s_far, s_min + 0.1)
    s_mid = (s_min + s_far) / 2.0
    l_mid = (l_min + l_max) / 2.0
    ce = cam_e + s_mid * ax_s[0] + l_mid * ax_l[0]
    cn = cam_n + s_mid * ax_s[1] + l_mid * ax_l[1]
    rect_sl = ((s_min, l_min), (s_min, l_max), (s_far, l_max), (s_far, l_min))
    poly_en = tuple(
        (cam_e + a * ax_s[0] + b * ax_l[0], cam_n + a * ax_s[1] + b * ax_l[1]) for a, b in rect_sl
    )

    try:
        gsd = float(camera.gsd_m(uc, vc))
    except Exception:  # GeometryError: the centre is at the horizon
        return None
    rng = max(s_mid, 0.0)
    obliq = math.degrees(math.atan2(rng, height))
    box_px = math.sqrt((x2 - x1) * (y2 - y1))
    sig_ang = math.radians(settings.angle_sigma_deg)
    terms = (
        settings.position_sigma_m if position_sigma_m is None else position_sigma_m,
        (height * height + rng * rng) / height * sig_ang,  # along-range effect of a pitch error
        rng / height * settings.altitude_sigma_m,
        settings.box_sigma_frac * box_px * gsd,
        0.5 * obj_h * rng / height,  # the object's height is a guess (+-50 %)
    )
    w, h = camera.intrinsics.size_wh
    truncated = x1 <= EDGE_PX or y1 <= EDGE_PX or x2 >= w - 1 - EDGE_PX or y2 >= h - 1 - EDGE_PX
    if truncated:  # the cut-off part is unknown: the object's centre may lie up to its size beyond
        terms = (*terms, float(settings.merge_radius_m.get(det.class_name, 2.0)))
    unc = math.sqrt(sum(t * t for t in terms))

    lat, lon = local.to_wgs84(ce, cn)
    plats, plons = local.to_wgs84(np.array([p[0] for p in poly_en]), np.array([p[1] for p in poly_en]))
    return GroundDetection(
        frame=frame,
        class_name=det.class_name,
        score=float(det.score),
        bbox_xyxy_px=(x1, y1, x2, y2),
        east_m=float(ce),
        north_m=float(cn),
        lat_deg=float(lat),
        lon_deg=float(lon),
        uncertainty_m=float(unc),
        gsd_m=gsd,
        obliquity_deg=float(min(max(obliq, 0.0), 90.0)),
        polygon_en=tuple((float(a), float(b)) for a, b in poly_en),
        polygon_wgs84=tuple((float(lo), float(la)) for lo, la in zip(plons, plats)),
        sharpness=sharpness,
        truncated=bool(truncated),
        cam_en=(float(cam_e), float(cam_n)),
        cam_height_m=float(height),
        cam_forward_en=_forward_en(camera),
    )


def _forward_en(camera: Any) -> tuple[float, float]:
    """Horizontal direction of the optical axis (of the image's up direction when looking straight
    down): where a pitch error moves ground points."""
    k = camera.intrinsics
    for u, v in ((k.cx_px, k.cy_px), (k.cx_px, 0.0)):
        d = camera.ray_enu(u, v)
        norm = math.hypot(float(d[0]), float(d[1]))
        if norm > 0.05:
            return (float(d[0]) / norm, float(d[1]) / norm)
    return (0.0, 1.0)


def sharpness_of(image: Any, bbox_xyxy_px: tuple[float, float, float, float]) -> float | None:
    """Focus measure of a box crop: variance of the Laplacian of its grey levels (None if empty)."""
    import cv2
    import numpy as np

    h, w = image.shape[:2]
    x1, y1, x2, y2 = bbox_xyxy_px
    xa, ya = max(int(x1), 0), max(int(y1), 0)
    xb, yb = min(int(math.ceil(x2)), w), min(int(math.ceil(y2)), h)
    if xb - xa < 3 or yb - ya < 3:
        return None
    crop = image[ya:yb, xa:xb]
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    return float(np.var(cv2.Laplacian(grey, cv2.CV_64F)))


# ---------------------------------------------------------------------------------------------------
# Merging across frames (pure)


def _view_quality(g: GroundDetection, sharp_max: float, gsd_min: float) -> float:
    """Higher is a better evidence view: sharp, near nadir, confident, fine GSD, not cut by the edge."""
    q = g.score * (0.5 + 0.5 * math.cos(math.radians(g.obliquity_deg)))
    if sharp_max > 0 and g.sharpness is not None:
        q *= 0.5 + 0.5 * (g.sharpness / sharp_max)
    q *= 0.5 + 0.5 * (gsd_min / g.gsd_m)
    if g.truncated:
        q *= 0.3
    return q


def _weights(members: Sequence[GroundDetection]) -> list[float]:
    any_whole = any(not m.truncated for m in members)
    out = []
    for m in members:
        w = 1.0 / max(m.uncertainty_m, 1e-3) ** 2
        if m.truncated and any_whole:
            w *= 0.05  # a cut box's ground point is biased: trust whole views
        out.append(w)
    return out


def _centre(members: Sequence[GroundDetection]) -> tuple[float, float, float]:
    ws = _weights(members)
    tot = sum(ws)
    e = sum(w * m.east_m for w, m in zip(ws, members)) / tot
    n = sum(w * m.north_m for w, m in zip(ws, members)) / tot
    u = min(m.uncertainty_m for m in members)
    return e, n, u


def finding_id_for(flight_key: str, members: Sequence[GroundDetection]) -> str:
    """Deterministic id from the flight's content key and the frames/boxes of the object."""
    import hashlib

    parts = sorted(f"{m.frame}:{m.class_name}:" + ",".join(f"{v:.1f}" for v in m.bbox_xyxy_px) for m in members)
    digest = hashlib.sha1((flight_key + "|" + "|".join(parts)).encode("utf-8")).hexdigest()
    return f"F{digest[:15]}"


def build_findings(
    gds: Sequence[GroundDetection],
    zones: Any,
    rules: Mapping[str, Mapping[str, str]],
    settings: Any,
    local: Any,
    flight_key: str,
    frame_order: Sequence[str] | None = None,
) -> list[Finding]:
    """Merge ground detections into Findings and place them in zones (category, grid cell, unit).

    ``zones`` is a patrol.zones.Zones, ``rules`` the class x zone kind -> category map, ``settings``
    the FindingsSettings section, ``local`` the flight's LocalFrame. Sorted by finding_id.
    """
    # a canonical order first, so the float sums (and so the ids and positions) do not depend on it
    gds = sorted(gds, key=lambda g: (g.frame, g.class_name, g.bbox_xyxy_px, g.score))
    if getattr(settings, "align_frames", True):
        corrections = align_frames(gds, settings.merge_radius_m, frame_order)
        gds = [apply_correction(g, corrections[g.frame], local) if g.frame in corrections else g for g in gds]
    groups = merge_ground_detections(gds, settings.merge_radius_m, frame_order)
    rank = {f: i for i, f in enumerate(frame_order)} if frame_order is not None else {}
    out: list[Finding] = []
    for members in groups:
        e, n, _ = _centre(members)
        combined = 1.0 / math.sqrt(sum(1.0 / max(m.uncertainty_m, 1e-3) ** 2 for m in members))
        # the GNSS error is shared by the frames of a flight: averaging does not remove it
        unc = min(min(m.uncertainty_m for m in members), max(combined, settings.position_sigma_m))
        sharp_max = max((m.sharpness or 0.0) for m in members)
        gsd_min = min(m.gsd_m for m in members)
        best = max(members, key=lambda m: (_view_quality(m, sharp_max, gsd_min), m.score, -rank.get(m.frame, len(rank))))
        lat, lon = local.to_wgs84(e, n)
        place = zones.place(best.class_name, float(lat), float(lon), rules)
        out.append(
            Finding(
                finding_id=finding_id_for(flight_key, members),
                class_name=best.class_name,
                category=place.category,
                lat_deg=float(lat),
                lon_deg=float(lon),
                uncertainty_m=float(unc),
                score=max(m.score for m in members),
                zone_name=place.zone_name,
                zone_kind=place.zone_kind,
                grid_cell=place.grid_cell,
                unit=place.unit,
                frames=tuple(sorted({m.frame for m in members})),
                best_frame=best.frame,
                best_bbox_xyxy_px=best.bbox_xyxy_px,
                polygon_wgs84=best.polygon_wgs84,
            )
        )
    return sorted(out, key=lambda f: f.finding_id)
