"""Small, fast simulated worlds and flights shared by the sim tests (module-scoped: built once)."""

from __future__ import annotations

import pytest

from patrol.sim.flight import FlightSpec, run_flight
from patrol.sim.world import build_world

SMALL = dict(size_m=80.0, res_m=0.1)
SMALL_IMAGE = (800, 600)


@pytest.fixture(scope="session")
def small_before():
    return build_world(3, "before", **SMALL)


@pytest.fixture(scope="session")
def small_after():
    return build_world(3, "after", **SMALL)


@pytest.fixture(scope="session")
def small_flight(tmp_path_factory, small_before):
    spec = FlightSpec(seed=3, frames=4, scenario="before", altitude_m=40.0, image_wh=SMALL_IMAGE, **SMALL)
    out = tmp_path_factory.mktemp("flight")
    return run_flight(out, spec, world=small_before)
