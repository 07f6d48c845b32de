"""Camera table and the intrinsics priority (calibrated XMP > table > 35 mm equivalent)."""

from __future__ import annotations

import pytest

from patrol.ingest.cameras import CAMERAS, find_camera, frame_intrinsics

REQUIRED = ["FC220", "FC6310", "FC6310R", "FC6310S", "FC7303", "FC6360", "L1D-20c", "L2D-20c", "M3E", "M3T", "M3M",
            "M30", "M30T", "ZH20", "ZH20T"]


@pytest.mark.parametrize("model", REQUIRED)
def test_required_cameras_with_source(model):
    spec = find_camera(f" {model.lower()}  ")
    assert spec is not None
    assert spec.source and len(spec.source) > 20
    for lens in spec.lenses:
        assert 3 < lens.sensor_w_mm < 40 and 2 < lens.sensor_h_mm < 30


def test_models_unique():
    assert len({c.model.upper() for c in CAMERAS}) == len(CAMERAS)


@pytest.mark.parametrize(
    "kwargs, source, fx",
    [
        # calibrated wins over everything
        (dict(model="FC6310R", focal_mm=8.8, focal35_mm=24, calibrated_focal_px=3666.67), "xmp-calibrated", 3666.67),
        # table: focal / sensor width * decoded width (P4 Pro: 8.8 mm on 13.2 mm, 5472 px)
        (dict(model="FC6310", focal_mm=8.8, focal35_mm=24), "camera-table", 8.8 / 13.2 * 5472),
        # unknown camera: 35 mm equivalent on the diagonal of the 3:2 frame
        (dict(model="Nope", focal_mm=8.8, focal35_mm=24), "focal35", 24 * (5472**2 + 3648**2) ** 0.5 / (36**2 + 24**2) ** 0.5),
    ],
)
def test_priority(kwargs, source, fx):
    intr, why = frame_intrinsics((5472, 3648), **kwargs)
    assert why is None and intr.source == source
    assert intr.fx_px == pytest.approx(fx, rel=1e-6) and intr.fx_px == intr.fy_px


def test_nothing_known_gives_reason():
    intr, why = frame_intrinsics((4000, 3000), model="Canon PowerShot", focal_mm=4.3)
    assert intr is None and "Canon PowerShot" in why and "FocalLengthIn35mmFilm" in why


def test_decoded_size_after_resize():
    """A 4000 px capture resized to 1000 px: the table gives a focal length 4x smaller in pixels."""
    full, _ = frame_intrinsics((4000, 2250), model="FC220", focal_mm=4.73)
    small, _ = frame_intrinsics((1000, 562), model="FC220", focal_mm=4.73)
    assert small.fx_px == pytest.approx(full.fx_px / 4) and small.size_wh == (1000, 562)
    cal, _ = frame_intrinsics((1000, 562), calibrated_focal_px=3000.0, calibrated_cx_px=2010.0,
                              calibrated_cy_px=1120.0, capture_wh=(4000, 2250))
    assert cal.fx_px == pytest.approx(750.0) and cal.cx_px == pytest.approx(502.5)


def test_zoom_lens_picked_by_focal_length():
    wide, _ = frame_intrinsics((4056, 3040), model="ZH20", focal_mm=4.5)
    zoom, _ = frame_intrinsics((5184, 3888), model="ZH20", focal_mm=31.7)
    assert wide.fx_px == pytest.approx(4.5 / 6.17 * 4056)
    assert zoom.fx_px == pytest.approx(31.7 / 7.6 * 5184)


def test_mavic_pro_table_agrees_with_35mm_equivalent():
    """FC220: 4.73 mm on the 1/2.3in sensor and DJI's 26 mm equivalent agree within 3 %."""
    t, _ = frame_intrinsics((4000, 2250), model="FC220", focal_mm=4.73)
    e, _ = frame_intrinsics((4000, 2250), focal35_mm=26)
    assert t.fx_px == pytest.approx(e.fx_px, rel=0.03)


def test_nadir_gsd_formula_on_real_dji_photo():
    """GSD = sensor_width x height / (focal x image_width), through the geometry module."""
    from patrol.geo import camera as geo
    from patrol.geo.crs import LocalFrame
    from patrol.ingest import read_frame
    from tests.conftest import shared_path

    meta = read_frame(shared_path("aerial-cars", "DJI_0012.JPG"))  # gimbal pitch -90.0
    cam = geo.camera_from_frame(meta, LocalFrame(meta.lat_deg, meta.lon_deg))
    expected = 6.17 * meta.rel_alt_m / (4.73 * 4000)
    assert cam.gsd_m() == pytest.approx(expected, rel=1e-3)
