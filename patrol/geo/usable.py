"""Whether a frame can serve detection at all, from its pose alone (pure).

A frame looking near or above the horizon sees the ground at grazing angles, where a pixel covers
metres (a DJI Mini 2 at 1 m looking level: 63 m/px at the centre); a frame whose centre GSD is coarser
than any class can use finds nothing real. Such frames stay in the flight's table with the reason and
are skipped by detection and verification (DESIGN.md "Resolution per class").
"""

from __future__ import annotations

from typing import Any

from patrol.errors import GeometryError


def not_usable_reason(camera: Any, min_below_horizon_deg: float, max_frame_gsd_m: float) -> str | None:
    """Why the frame cannot serve detection, or None. ``camera``: a patrol.geo.camera.Camera.

    Near the horizon: the optical axis is less than ``min_below_horizon_deg`` below it. Too coarse:
    the GSD at the image centre exceeds ``max_frame_gsd_m`` (m/px).
    """
    below_deg = 90.0 - float(camera.obliquity_deg)
    if below_deg <= 0.0:
        return f"not usable for detection: looks at or above the horizon ({-below_deg:.0f} deg up)"
    if below_deg < min_below_horizon_deg:
        return (
            f"not usable for detection: looks {below_deg:.0f} deg below the horizon "
            f"(at least {min_below_horizon_deg:g} deg needed, detect.min_below_horizon_deg)"
        )
    try:
        gsd = camera.gsd_m()
    except GeometryError:
        return "not usable for detection: the image centre looks above the horizon"
    if gsd > max_frame_gsd_m:
        return (
            f"not usable for detection: centre GSD {gsd:.2f} m/px is coarser than {max_frame_gsd_m:g} m/px, "
            "the coarsest any class can use (detect.max_frame_gsd_m)"
        )
    return None
