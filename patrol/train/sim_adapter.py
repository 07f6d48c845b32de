"""The one place that knows how to ask ``patrol.sim`` for a world raster and its objects.

Kept apart from ``sim_source`` so a change in the simulator's API touches one small file.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from patrol.errors import InputError
from patrol.train.sim_source import WorldObject

WORLD_RES_M = 0.04  # raster resolution; crops resample it to 0.02-0.10 m/px
WORLD_SIZE_M = 240.0


def render_worlds(
    seed: int, res_m: float = WORLD_RES_M, size_m: float = WORLD_SIZE_M
) -> list[tuple[str, tuple[np.ndarray, float, Callable[[np.ndarray], np.ndarray], list[WorldObject]]]]:
    """Before and after rasters of the synthetic world ``seed``, each with its labelled objects."""
    try:
        from patrol.sim.world import SCENARIOS, build_world
    except ImportError as e:
        raise InputError("patrol.sim", f"the simulator has no world builder: {e}") from e
    out = []
    for scenario in SCENARIOS:
        world = build_world(seed, scenario, size_m=size_m, res_m=res_m)

        def to_px(en: np.ndarray, world=world) -> np.ndarray:
            en = np.asarray(en, float).reshape(-1, 2)
            return np.column_stack(world.en_to_px(en[:, 0], en[:, 1]))

        labelled = [
            WorldObject(o.class_name, tuple(map(tuple, o.outline_en)))
            for o in world.present_objects
            if o.class_name is not None
        ]
        out.append((scenario, (world.image, res_m, to_px, labelled)))
    return out
