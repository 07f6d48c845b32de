"""FrameMeta: the one record every later stage reads about a frame (photo or sampled video frame)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels of the decoded image.

    ``source`` says where they came from: "xmp-calibrated", "camera-table", "focal35", or "sim".
    """

    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float
    size_wh: tuple[int, int]
    source: str

    def __post_init__(self) -> None:
        w, h = self.size_wh
        if w <= 0 or h <= 0:
            raise ValueError(f"size_wh must be positive, got {self.size_wh}")
        if not (self.fx_px > 0 and self.fy_px > 0):
            raise ValueError(f"focal lengths must be positive, got fx={self.fx_px} fy={self.fy_px}")


@dataclass(frozen=True)
class FrameMeta:
    """Where the camera was and where it looked for one frame.

    Angles are degrees, NED convention, ZYX order; gimbal pitch -90 is nadir; yaw relative to true
    north. ``rel_alt_m`` is the height above the take-off point (DJI RelativeAltitude), used as
    height above ground. Any field may be None when the source does not carry it; ``intrinsics`` is
    None when no focal length / sensor size could be found (``intrinsics_error`` says why).
    """

    path: str
    size_wh: tuple[int, int] | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    abs_alt_m: float | None = None
    rel_alt_m: float | None = None
    gimbal_yaw_deg: float | None = None
    gimbal_pitch_deg: float | None = None
    gimbal_roll_deg: float | None = None
    flight_yaw_deg: float | None = None
    flight_pitch_deg: float | None = None
    flight_roll_deg: float | None = None
    focal_mm: float | None = None
    focal35_mm: float | None = None
    time: datetime | None = None
    make: str | None = None
    model: str | None = None
    orientation: int | None = None
    intrinsics: Intrinsics | None = None
    intrinsics_error: str | None = None
    frame_index: int | None = None  # for frames sampled from a video
    video_time_s: float | None = None
    rtk_flag: int | None = None  # DJI RtkFlag: 0 none, 16 single, 34 float, 50 fixed
    rtk_std_m: tuple[float, float, float] | None = None  # DJI RtkStdLon/Lat/Hgt (metres)

    def __post_init__(self) -> None:
        if self.lat_deg is not None and not (-90.0 <= self.lat_deg <= 90.0):
            raise ValueError(f"lat_deg out of range: {self.lat_deg}")
        if self.lon_deg is not None and not (-180.0 <= self.lon_deg <= 180.0):
            raise ValueError(f"lon_deg out of range: {self.lon_deg}")
        for name in ("lat_deg", "lon_deg", "rel_alt_m", "gimbal_pitch_deg"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{name} must be finite, got {v}")

    @property
    def has_position(self) -> bool:
        return self.lat_deg is not None and self.lon_deg is not None

    @property
    def has_pose(self) -> bool:
        """True when the frame can be projected to the ground."""
        return (
            self.has_position
            and self.rel_alt_m is not None
            and self.gimbal_pitch_deg is not None
            and self.intrinsics is not None
        )
