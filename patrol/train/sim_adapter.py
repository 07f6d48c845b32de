"""The one place that knows how to ask ``patrol.sim`` for a world raster and its objects.

Kept apart from ``sim_source`` so a change in the simulator's API touches one small file.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from patrol.errors import InputError
from patrol.train.sim_source import WorldObject

WORLD_RES_M = 0.04  # raster resolution; crops resample it to 0.03-0.12 m/px


def render_worlds(
    seed: int, res_m: float = WORLD_RES_M, size_m: float = 240.0
) -> list[tuple[str, tuple[np.ndarray, float, Callable[[np.ndarray], np.ndarray], list[WorldObject]]]]:
    """Before and after rasters of the synthetic world ``seed``, each with its labelled objects."""
    try:
        from patrol.sim.canvas import Canvas
        from patrol.sim.layout import generate_layout
        from patrol.sim.render import paint_world
        from patrol.sim.scenario import SUN_AFTER, SUN_BEFORE, after_world, populate
    except ImportError as e:
        raise InputError("patrol.sim", f"the simulator has no world renderer yet: {e}") from e
    lay = generate_layout(seed, size_m=size_m)
    before = populate(lay, seed)
    after = after_world(lay, before, seed)
    out = []
    for name, objs, sun in (("before", before, SUN_BEFORE), ("after", after, SUN_AFTER)):
        raster = paint_world(lay, objs, sun, res_m, seed)
        h = lay.size_m / 2
        canvas = Canvas(raster, -h, h, res_m)
        labelled = [
            WorldObject(o.class_name, tuple(map(tuple, o.outline_en)))
            for o in objs
            if o.present and o.class_name is not None
        ]
        out.append((name, (raster, res_m, canvas.to_px, labelled)))
    return out
