"""Synthetic city and patrol flights with exact ground truth (demo, tests, training data).

    build_world(seed, scenario, size_m, res_m)  -> World (ortho raster + exact object outlines)
    run_flight(out_dir, FlightSpec(...))        -> FlightResult (DJI JPEGs, zones.geojson, truth.json)
    load_truth(path) -> Truth;  TruthDetector(flight_dir) / TruthDetector.for_paths(paths)
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "build_world": "patrol.sim.world", "World": "patrol.sim.world", "zones_geojson": "patrol.sim.world",
    "run_flight": "patrol.sim.flight", "FlightSpec": "patrol.sim.flight", "FlightResult": "patrol.sim.flight",
    "load_truth": "patrol.sim.truth", "Truth": "patrol.sim.truth", "TruthDetector": "patrol.sim.truth",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:  # lazy: importing patrol.sim does not load cv2/shapely
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'patrol.sim' has no attribute {name!r}")
