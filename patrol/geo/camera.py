"""Pinhole camera over flat ground: pixel <-> ground point, homography, GSD, footprint.

Frames and conventions:
- World: the LocalFrame tangent plane, x = east, y = north, z = up, ground at z = 0.
- Gimbal angles (DJI): NED, intrinsic ZYX (yaw about down, then pitch, then roll). Yaw is from true
  north, clockwise seen from above; pitch 0 looks at the horizon towards yaw, pitch -90 looks straight
  down (nadir) with the top of the image towards yaw.
- Pixels: OpenCV convention, u to the right, v down, (0, 0) the centre of the top-left pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from patrol.errors import GeometryError
from patrol.geo.crs import LocalFrame
from patrol.geo.footprint import Footprint, footprint_of
from patrol.ingest.frame import FrameMeta, Intrinsics

# Optical frame (x right, y down, z forward) -> gimbal body frame (x forward, y right, z down).
_OPT_TO_BODY = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
# NED -> ENU.
_NED_TO_ENU = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])


def rotation_enu_from_optical(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """3x3 rotation taking a direction in the camera optical frame to east-north-up."""
    y, p, r = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    cy, sy, cp, sp, cr, sr = math.cos(y), math.sin(y), math.cos(p), math.sin(p), math.cos(r), math.sin(r)
    rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
    return _NED_TO_ENU @ rz @ ry @ rx @ _OPT_TO_BODY


@dataclass(frozen=True)
class CameraPose:
    """Camera position in a LocalFrame (metres; height above flat ground) and gimbal angles (degrees)."""

    east_m: float
    north_m: float
    height_m: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float = 0.0

    def __post_init__(self) -> None:
        for name in ("east_m", "north_m", "height_m", "yaw_deg", "pitch_deg", "roll_deg"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        if self.height_m <= 0:
            raise ValueError(f"height_m must be above the ground (> 0), got {self.height_m}")


@dataclass(frozen=True)
class Camera:
    """A pinhole camera (intrinsics in pixels of the decoded image) at a pose over flat ground."""

    intrinsics: Intrinsics
    pose: CameraPose
    _r: np.ndarray = field(init=False, repr=False, compare=False)
    _k: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        i = self.intrinsics
        p = self.pose
        object.__setattr__(self, "_r", rotation_enu_from_optical(p.yaw_deg, p.pitch_deg, p.roll_deg))
        k = np.array([[i.fx_px, 0.0, i.cx_px], [0.0, i.fy_px, i.cy_px], [0.0, 0.0, 1.0]])
        object.__setattr__(self, "_k", k)

    @property
    def size_wh(self) -> tuple[int, int]:
        return self.intrinsics.size_wh

    @property
    def rotation_enu_from_optical(self) -> np.ndarray:
        return self._r.copy()

    @property
    def center_enu(self) -> np.ndarray:
        return np.array([self.pose.east_m, self.pose.north_m, self.pose.height_m])

    def ray_enu(self, u_px: Any, v_px: Any) -> np.ndarray:
        """Unit-less ray directions (..., 3) in east-north-up for pixels (u, v)."""
        i = self.intrinsics
        u = np.asarray(u_px, dtype=float)
        v = np.asarray(v_px, dtype=float)
        d = np.stack([(u - i.cx_px) / i.fx_px, (v - i.cy_px) / i.fy_px, np.ones_like(u)], axis=-1)
        return d @ self._r.T

    def pixel_to_ground(self, u_px: Any, v_px: Any) -> tuple[np.ndarray, np.ndarray]:
        """Ground point (east_m, north_m) of pixel (u, v); NaN where the ray misses the ground."""
        d = self.ray_enu(u_px, v_px)
        dz = d[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(dz < -1e-12, -self.pose.height_m / dz, np.nan)
        e = self.pose.east_m + t * d[..., 0]
        n = self.pose.north_m + t * d[..., 1]
        return np.asarray(e, dtype=float), np.asarray(n, dtype=float)

    def ground_to_pixel(self, east_m: Any, north_m: Any) -> tuple[np.ndarray, np.ndarray]:
        """Pixel (u, v) of ground point (east, north); NaN for points behind the camera."""
        return self.world_to_pixel(east_m, north_m, 0.0)

    def world_to_pixel(self, east_m: Any, north_m: Any, up_m: Any) -> tuple[np.ndarray, np.ndarray]:
        """Pixel (u, v) of a point ``up_m`` above the ground; NaN for points behind the camera."""
        e = np.asarray(east_m, dtype=float) - self.pose.east_m
        n = np.asarray(north_m, dtype=float) - self.pose.north_m
        z = np.broadcast_to(np.asarray(up_m, dtype=float), np.broadcast(e, n).shape) - self.pose.height_m
        e, n = np.broadcast_arrays(e, n)
        pc = np.stack([e, n, z], axis=-1) @ self._r  # rows: world->optical = R^T applied
        zc = pc[..., 2]
        i = self.intrinsics
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = zc > 1e-9
            u = np.where(ok, i.fx_px * pc[..., 0] / zc + i.cx_px, np.nan)
            v = np.where(ok, i.fy_px * pc[..., 1] / zc + i.cy_px, np.nan)
        return np.asarray(u, dtype=float), np.asarray(v, dtype=float)

    def ground_to_image_homography(self, plane_up_m: float = 0.0) -> np.ndarray:
        """3x3 H with [u, v, 1] ~ H @ [east_m, north_m, 1] for points on the ground plane (or on the
        horizontal plane ``plane_up_m`` above it).

        Points behind the camera get a negative homogeneous scale; callers warping an image with it
        must mask the pixels above the horizon (where ``pixel_to_ground`` gives NaN).
        """
        p = self.pose
        t = np.array([[1.0, 0.0, -p.east_m], [0.0, 1.0, -p.north_m], [0.0, 0.0, plane_up_m - p.height_m]])
        h = self._k @ self._r.T @ t
        return h / h[2, 2] if abs(h[2, 2]) > 1e-12 else h

    def gsd_m(self, u_px: float | None = None, v_px: float | None = None) -> float:
        """Ground sample distance (m/px) at a pixel (default the image centre).

        The square root of the ground area of one pixel (geometric mean of the along- and
        across-track sizes; equals H / f for a nadir frame). GeometryError when the pixel's ray misses
        the ground.
        """
        i = self.intrinsics
        u = i.cx_px if u_px is None else float(u_px)
        v = i.cy_px if v_px is None else float(v_px)
        us = np.array([u - 0.5, u + 0.5, u, u])
        vs = np.array([v, v, v - 0.5, v + 0.5])
        e, n = self.pixel_to_ground(us, vs)
        if not np.all(np.isfinite(e)):
            raise GeometryError(f"pixel ({u:.1f}, {v:.1f}) looks above the horizon: no ground sample distance")
        det = (e[1] - e[0]) * (n[3] - n[2]) - (n[1] - n[0]) * (e[3] - e[2])
        return float(math.sqrt(abs(det)))

    @property
    def obliquity_deg(self) -> float:
        """Angle of the optical axis from straight down (0 = nadir, 90 = horizon)."""
        axis = self._r[:, 2]
        return float(math.degrees(math.acos(max(-1.0, min(1.0, -axis[2])))))

    def footprint(self, max_range_m: float) -> Footprint:
        """Ground polygon the frame sees, clipped at ``max_range_m`` horizontal distance from the camera."""
        return footprint_of(self, max_range_m)


def camera_from_frame(meta: FrameMeta, frame: LocalFrame, ground_elevation_m: float | None = None) -> Camera:
    """Camera model of a frame, in ``frame``'s local metres.

    Height above ground is ``rel_alt_m`` (take-off point), or ``abs_alt_m - ground_elevation_m`` when
    a ground elevation is given. Yaw is the gimbal yaw, else the aircraft yaw; a missing gimbal roll is
    taken as 0 (stabilised gimbal). Raises GeometryError naming the missing or unusable field.
    """
    where = meta.path

    def need(name: str) -> float:
        v = getattr(meta, name)
        if v is None or not math.isfinite(v):
            raise GeometryError(f"{where}: cannot place the camera: missing {name}")
        return float(v)

    if meta.intrinsics is None:
        why = f" ({meta.intrinsics_error})" if meta.intrinsics_error else ""
        raise GeometryError(f"{where}: cannot place the camera: missing intrinsics{why}")
    lat = need("lat_deg")
    lon = need("lon_deg")
    if ground_elevation_m is not None:
        height = need("abs_alt_m") - float(ground_elevation_m)
        hname = "abs_alt_m - ground_elevation_m"
    else:
        height = need("rel_alt_m")
        hname = "rel_alt_m"
    if not height > 0:
        raise GeometryError(f"{where}: cannot place the camera: {hname} = {height:.2f} m is not above the ground")
    pitch = need("gimbal_pitch_deg")
    if meta.gimbal_yaw_deg is not None and math.isfinite(meta.gimbal_yaw_deg):
        yaw = float(meta.gimbal_yaw_deg)
    elif meta.flight_yaw_deg is not None and math.isfinite(meta.flight_yaw_deg):
        yaw = float(meta.flight_yaw_deg)
    else:
        raise GeometryError(f"{where}: cannot place the camera: missing gimbal_yaw_deg (and flight_yaw_deg)")
    roll = meta.gimbal_roll_deg if meta.gimbal_roll_deg is not None and math.isfinite(meta.gimbal_roll_deg) else 0.0
    east, north = frame.to_local(lat, lon)
    pose = CameraPose(east_m=east, north_m=north, height_m=height, yaw_deg=yaw, pitch_deg=pitch, roll_deg=float(roll))
    return Camera(intrinsics=meta.intrinsics, pose=pose)
