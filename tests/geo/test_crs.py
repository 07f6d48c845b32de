from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrol.geo.crs import LocalFrame, utm_crs_for

ORIGIN = LocalFrame(37.739, 115.670)


def test_origin_is_zero() -> None:
    e, n = ORIGIN.to_local(37.739, 115.670)
    assert abs(e) < 1e-6 and abs(n) < 1e-6


@pytest.mark.parametrize(
    "dlat, dlon, expect_e, expect_n",
    [
        # one arc-second of latitude is ~30.8 m here; of longitude ~30.8 * cos(37.739) ~ 24.4 m
        (1 / 3600, 0.0, 0.0, 30.83),
        (0.0, 1 / 3600, 24.45, 0.0),
        (-1 / 3600, -1 / 3600, -24.45, -30.83),
    ],
)
def test_axes_point_east_and_north(dlat: float, dlon: float, expect_e: float, expect_n: float) -> None:
    e, n = ORIGIN.to_local(37.739 + dlat, 115.670 + dlon)
    assert e == pytest.approx(expect_e, abs=0.05)
    assert n == pytest.approx(expect_n, abs=0.05)


def test_arrays_in_arrays_out() -> None:
    lat, lon = ORIGIN.to_wgs84(np.array([0.0, 100.0]), np.array([0.0, -50.0]))
    assert isinstance(lat, np.ndarray) and lat.shape == (2,)
    assert isinstance(ORIGIN.to_local(37.7, 115.6)[0], float)


@settings(max_examples=50, deadline=None)
@given(st.floats(-3000, 3000), st.floats(-3000, 3000))
def test_round_trip(e: float, n: float) -> None:
    lat, lon = ORIGIN.to_wgs84(e, n)
    e2, n2 = ORIGIN.to_local(lat, lon)
    assert e2 == pytest.approx(e, abs=1e-4) and n2 == pytest.approx(n, abs=1e-4)  # 0.1 mm


@pytest.mark.parametrize(
    "lat, lon, epsg, raises",
    [
        (37.739, 115.670, 32650, None),
        (-33.9, 151.2, 32756, None),
        (51.5, -0.1, 32630, None),
        (85.0, 0.0, None, ValueError),
    ],
)
def test_utm_zone(lat: float, lon: float, epsg: int | None, raises: type | None) -> None:
    if raises:
        with pytest.raises(raises):
            utm_crs_for(lat, lon)
    else:
        assert utm_crs_for(lat, lon).to_epsg() == epsg


@pytest.mark.parametrize("lat, lon", [(91.0, 0.0), (float("nan"), 0.0), (0.0, 200.0)])
def test_bad_origin(lat: float, lon: float) -> None:
    with pytest.raises(ValueError):
        LocalFrame(lat, lon)
