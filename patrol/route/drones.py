"""The aircraft a revisit route can be written for: WPML enum values and the wide camera's geometry.

Enum values (droneEnumValue / droneSubEnumValue / payloadEnumValue) are DJI's WPML common-element
table (../shared/reference/wpml-and-open311.md, section 1.7); the Matrice 4 rows are NOT in a stored
DJI page (``enums_confirmed`` False: consensus of independent codebases, corroborated in part by the
Payload SDK). Camera geometry is the wide camera at its 24 mm (35 mm equivalent) focal length and the
photo size of DJI's spec pages; it decides how much ground one photo covers and at what GSD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from patrol.errors import ConfigError

FULL_FRAME_DIAG_MM = math.hypot(36.0, 24.0)


@dataclass(frozen=True)
class DroneModel:
    key: str  # the --drone value
    name: str
    drone_enum: int
    drone_sub_enum: int
    payload_enum: int
    image_wh: tuple[int, int]  # wide camera photo size, px
    focal35_mm: float  # wide camera, 35 mm equivalent
    max_speed_m_s: float  # WPML speeds must be in (0, max]
    enums_confirmed: bool = True

    def __post_init__(self) -> None:
        if not (self.image_wh[0] > 0 and self.image_wh[1] > 0 and self.focal35_mm > 0 and self.max_speed_m_s > 0):
            raise ValueError(f"bad drone model entry {self.key}")

    @property
    def focal_px(self) -> float:
        """Wide camera focal length in pixels of the photo (square pixels)."""
        w, h = self.image_wh
        return self.focal35_mm * math.hypot(w, h) / FULL_FRAME_DIAG_MM


DRONES: tuple[DroneModel, ...] = (
    DroneModel("m30", "DJI Matrice 30", 67, 0, 52, (8000, 6000), 24.0, 15.0),
    DroneModel("m30t", "DJI Matrice 30T", 67, 1, 53, (8000, 6000), 24.0, 15.0),
    DroneModel("m3e", "DJI Mavic 3 Enterprise", 77, 0, 66, (5280, 3956), 24.0, 15.0),
    DroneModel("m3t", "DJI Mavic 3 Thermal", 77, 1, 67, (8000, 6000), 24.0, 15.0),
    DroneModel("m3m", "DJI Mavic 3 Multispectral", 77, 2, 68, (5280, 3956), 24.0, 15.0),
    DroneModel("m3d", "DJI Matrice 3D", 91, 0, 80, (5280, 3956), 24.0, 15.0),
    DroneModel("m3td", "DJI Matrice 3TD", 91, 1, 81, (8000, 6000), 24.0, 15.0),
    DroneModel("m4e", "DJI Matrice 4E", 99, 0, 88, (5280, 3956), 24.0, 15.0, enums_confirmed=False),
    DroneModel("m4t", "DJI Matrice 4T", 99, 1, 89, (8064, 6048), 24.0, 15.0, enums_confirmed=False),
)

_BY_KEY = {d.key: d for d in DRONES}


def drone_model(key: str) -> DroneModel:
    """The model for a --drone value (case ignored). ConfigError naming the known keys otherwise."""
    d = _BY_KEY.get(key.strip().lower())
    if d is None:
        raise ConfigError(f"--drone: unknown drone {key!r}; expected one of {', '.join(_BY_KEY)}")
    return d
