"""WGS84 <-> local metric frames (pyproj).

The local frame is an east-north tangent plane centred on the flight origin (azimuthal equidistant
projection on WGS84). Its north axis is true north everywhere near the origin, so gimbal yaw (relative
to true north) needs no meridian-convergence correction, unlike UTM grid north.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pyproj import CRS, Transformer


@dataclass(frozen=True)
class LocalFrame:
    """East-north tangent plane in metres at (origin_lat_deg, origin_lon_deg)."""

    origin_lat_deg: float
    origin_lon_deg: float
    _fwd: Any = field(init=False, repr=False, compare=False)
    _inv: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lat, lon = self.origin_lat_deg, self.origin_lon_deg
        if not (math.isfinite(lat) and -90.0 < lat < 90.0):
            raise ValueError(f"origin_lat_deg must be in (-90, 90), got {lat}")
        if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
            raise ValueError(f"origin_lon_deg must be in [-180, 180], got {lon}")
        local = CRS.from_proj4(f"+proj=aeqd +lat_0={lat:.12f} +lon_0={lon:.12f} +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs")
        wgs84 = CRS.from_epsg(4326)
        object.__setattr__(self, "_fwd", Transformer.from_crs(wgs84, local, always_xy=True))
        object.__setattr__(self, "_inv", Transformer.from_crs(local, wgs84, always_xy=True))

    @property
    def crs(self) -> CRS:
        """The local projected CRS (for writers that want to record it)."""
        return self._fwd.target_crs

    def to_local(self, lat_deg: Any, lon_deg: Any) -> tuple[Any, Any]:
        """(lat, lon) in degrees -> (east_m, north_m). Scalars in, floats out; arrays in, arrays out."""
        e, n = self._fwd.transform(lon_deg, lat_deg)
        return _same_kind(e, lat_deg), _same_kind(n, lat_deg)

    def to_wgs84(self, east_m: Any, north_m: Any) -> tuple[Any, Any]:
        """(east_m, north_m) -> (lat_deg, lon_deg)."""
        lon, lat = self._inv.transform(east_m, north_m)
        return _same_kind(lat, east_m), _same_kind(lon, east_m)


def _same_kind(value: Any, like: Any) -> Any:
    if np.ndim(like) == 0 and not isinstance(like, np.ndarray):
        return float(value)
    return np.asarray(value, dtype=float)


def utm_crs_for(lat_deg: float, lon_deg: float) -> CRS:
    """The WGS84 UTM zone CRS containing (lat, lon) (north or south hemisphere)."""
    if not (-80.0 <= lat_deg <= 84.0):
        raise ValueError(f"UTM is undefined at latitude {lat_deg}")
    zone = int((lon_deg + 180.0) // 6.0) % 60 + 1
    epsg = (32600 if lat_deg >= 0 else 32700) + zone
    return CRS.from_epsg(epsg)
