"""Settings loading: defaults file in sync, overrides, and clear errors for bad keys and types."""

from __future__ import annotations

import pytest

from patrol.config import Settings, load_settings
from patrol.errors import ConfigError
from tests.conftest import REPO


def test_default_toml_equals_code_defaults() -> None:
    assert load_settings(REPO / "configs" / "default.toml") == Settings()


@pytest.mark.parametrize(
    ("toml", "check", "error"),
    [
        ("[detect]\nconfidence = 0.4\n", lambda s: s.detect.confidence == 0.4, None),
        ("[cases]\nmatch_radius_m = 8\n", lambda s: s.cases.match_radius_m == 8.0, None),
        ("[geo]\nground_elevation_m = 12.5\n", lambda s: s.geo.ground_elevation_m == 12.5, None),
        ("[detect]\nconfidence = 'high'\n", None, "detect.confidence"),
        ("[cases]\nmatch_radius = 8\n", None, "unknown key"),
        ("[nonsense]\nx = 1\n", None, "unknown section"),
        ("[cases]\noverdue_days = 1.5\n", None, "expected an integer"),
        ("[detect\n", None, "not valid TOML"),
    ],
)
def test_load_settings(tmp_path, toml, check, error) -> None:
    p = tmp_path / "s.toml"
    p.write_text(toml, encoding="utf-8")
    if error:
        with pytest.raises(ConfigError, match=error):
            load_settings(p)
    else:
        assert check(load_settings(p))


def test_missing_config_file_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml")


def test_overrides_apply_on_top_of_file(tmp_path) -> None:
    p = tmp_path / "s.toml"
    p.write_text("[detect]\nconfidence = 0.4\n", encoding="utf-8")
    s = load_settings(p, {"detect": {"iou": 0.6}})
    assert (s.detect.confidence, s.detect.iou) == (0.4, 0.6)


def test_example_zones_file_loads() -> None:
    from patrol.zones import load_zones

    zones = load_zones(REPO / "configs" / "example-zones.geojson")
    assert {z.kind for z in zones.zones} == {"road", "sidewalk", "no_parking", "no_vending", "grid_cell"}
