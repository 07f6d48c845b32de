"""Settings: one frozen tree of dataclasses, loaded from a TOML file plus CLI overrides.

Each stage reads only its own section. Defaults live here (so the package works with no file);
``configs/default.toml`` repeats them as documentation and a starting point for edits. Unknown keys
and wrong types are a ConfigError naming the key, never silently ignored.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patrol.errors import ConfigError


@dataclass(frozen=True)
class GeoSettings:
    max_range_m: float = 500.0  # oblique footprints are clipped at this ground distance
    ground_elevation_m: float | None = None  # absolute; None = flat ground at take-off height


@dataclass(frozen=True)
class IngestSettings:
    video_interval_s: float = 1.0  # sample one frame per interval from videos
    workers: int = 0  # 0 = os.cpu_count()
    # an image whose header claims more pixels is refused before decoding (decompression bombs);
    # 200 MP is twice a 100 MP sensor and 600 MB decoded
    max_image_px: int = 200_000_000


@dataclass(frozen=True)
class DetectSettings:
    backend: str = "onnx"
    model: str = ""  # empty = the bundled model in models/
    confidence: float | None = None  # None = the model's operating point (ONNX metadata), else 0.5
    # per-class operating confidence over the model's own (ONNX metadata, or its MODEL.operating.json
    # beside it); a number in `confidence` still wins for every class
    class_confidence: dict[str, float] = field(default_factory=dict)
    # ONNX Runtime's worker threads busy-wait for work between runs by default: on a shared or
    # small CPU that steals the cores from the thread doing the work (see scripts/bench_ort.py)
    ort_spinning: bool = False
    iou: float = 0.5
    tile_px: int = 0  # 0 = the model's input size (native-resolution tiles)
    overlap_px: int = 64
    use_zones_roi: bool = True
    ios: float = 0.7  # drop a box lying more than this fraction inside a higher-scoring one (tile fragments)
    roi_margin_m: float = 3.0  # zones are grown by this much before choosing tiles (objects on the edge)
    class_scales: dict[str, float] = field(default_factory=dict)  # e.g. {vehicle = 0.5}: downscaled pass
    # on geotagged frames finer than this GSD (m/px), find the class on the frame resized to about it:
    # large objects then fit whole in a tile (class_scales, when set for a class, wins)
    class_gsd_m: dict[str, float] = field(default_factory=lambda: {"vehicle": 0.05})
    threads: int = 0  # ONNX Runtime intra-op threads; 0 = its default (one per physical core, pinned)
    # frames that cannot serve detection are kept in the flight's table but never detected on or used
    # as after images: the optical axis less than this far below the horizon...
    min_below_horizon_deg: float = 10.0
    # ...or a centre GSD coarser than this (m/px): a car is then under 15 px long
    max_frame_gsd_m: float = 0.3


@dataclass(frozen=True)
class FindingsSettings:
    merge_radius_m: dict[str, float] = field(
        default_factory=lambda: {
            "vehicle": 2.5,
            "vendor_stall": 3.0,
            "road_damage": 2.0,
            "garbage": 2.0,
        }
    )
    # Typical height of each class above the ground: an upright object leans away from the camera
    # in the image (relief), so its ground contact is nearer the camera than the box centre.
    object_height_m: dict[str, float] = field(
        default_factory=lambda: {
            "vehicle": 1.5,
            "vendor_stall": 2.0,
            "road_damage": 0.0,
            "garbage": 0.3,
        }
    )
    # How far the top of an object is set back from its footprint's edge (a car's roof is ~1 m inside
    # its bumpers): the box's far edge is the footprint's until the top's lean exceeds this.
    object_top_inset_m: dict[str, float] = field(
        default_factory=lambda: {
            "vehicle": 1.0,
            "vendor_stall": 0.0,
            "road_damage": 0.0,
            "garbage": 0.0,
        }
    )
    position_sigma_m: float = 1.0  # GNSS horizontal error of the camera (shared by a flight's frames)
    angle_sigma_deg: float = 1.0  # gimbal yaw/pitch error
    altitude_sigma_m: float = 0.5  # relative-altitude error
    box_sigma_frac: float = 0.1  # box localisation error, fraction of the box size


@dataclass(frozen=True)
class RulesSettings:
    """detector class -> zone kind -> violation category. Two special keys: "*" = anywhere (with or
    without zones); "no_zones" = the category on a flight without zones (no zones file, or one with
    grid cells only). Defaults ("public space", DESIGN.md): stalls on public ground (no-vending zones,
    sidewalks, roads), road damage on roads, garbage anywhere; without zones every stall, road damage
    and garbage is reported and vehicles are only counted. See patrol/zones.py."""

    rules: dict[str, dict[str, str]] = field(
        default_factory=lambda: {
            "vehicle": {"no_parking": "illegal_parking", "sidewalk": "illegal_parking"},
            "vendor_stall": {
                "no_vending": "street_vending",
                "sidewalk": "street_vending",
                "road": "street_vending",
                "no_zones": "street_vending",
            },
            "road_damage": {"road": "road_damage", "no_zones": "road_damage"},
            "garbage": {"*": "exposed_garbage"},
        }
    )


@dataclass(frozen=True)
class CasesSettings:
    match_radius_m: float = 5.0
    overdue_days: int = 2
    auto_dispatch: bool = False  # dispatch each new case to its grid cell's unit at once (no reviewer step)


@dataclass(frozen=True)
class VerifySettings:
    margin_m: float = 10.0  # crop margin on the ground around the object (at least)
    change_threshold: float = 0.25  # share of the spot's pixels that must change for `fixed`
    margin_factor: float = 3.0  # crop margin = at least this many object sizes
    min_margin_px: int = 48
    work_px: int = 400  # crops are compared at this longer side (speed)
    features: str = "sift"  # sift | orb | akaze
    ratio: float = 0.75  # Lowe's ratio test
    min_inliers: int = 12
    ecc: bool = True  # refine feature alignment with ECC when it raises the correlation
    pose_search_m: float = 8.0  # after-crop padding for pose (GPS/compass) error when aligning from poses
    # A detection of the case's class is "on the spot" when it covers at least this share of the
    # smaller of (its box, the case's footprint): intersection over the smaller box, whatever its
    # colour or outline. Chosen on the DJI_0005 real pairs (IoU 0.3 missed 4 of 29 cars still on
    # their spot; intersection over the smaller box >= 0.3 missed none and took no neighbour).
    spot_overlap: float = 0.3
    # The detector is re-run around the spot at this confidence, below the model's operating point
    # (0.6 for vehicles): "fixed" needs it to find nothing there even when it looks this hard.
    detect_confidence: float = 0.3
    # on after frames finer than this (m/px), the window around the spot is resized to it before the
    # detector runs: the same per-class scale as [detect] class_gsd_m (keep the two equal)
    detect_gsd_m: dict[str, float] = field(default_factory=lambda: {"vehicle": 0.05})
    # Ground-resolution gate per detector class: a frame can verify (and is best for) a case when the
    # object spans at least min_object_px pixels there, i.e. GSD <= object_size_m / min_object_px
    # (vehicle 4.5 m / 40 px = 11 cm/px; stall 2 m / 40 px = 5 cm/px; garbage pile 1 m / 20 px =
    # 5 cm/px, as DESIGN.md detects them; road damage 0.5 m / 25 px = 2 cm/px: cracks need the finest frames).
    object_size_m: dict[str, float] = field(
        default_factory=lambda: {"vehicle": 4.5, "vendor_stall": 2.0, "garbage": 1.0, "road_damage": 0.5}
    )
    min_object_px: dict[str, float] = field(
        default_factory=lambda: {"vehicle": 40.0, "vendor_stall": 40.0, "garbage": 20.0, "road_damage": 25.0}
    )
    min_in_frame: float = 0.6  # share of the object that must be inside the after frame
    blur_ratio: float = 0.12  # after sharpness below this share of before's = too blurred to judge
    # an after frame may be at most this much coarser at the spot than the frame that found the
    # object: coarser, a detector that found it then may miss it now (a false "fixed")
    max_after_gsd_ratio: float = 2.0
    max_pose_only_diff: float = 5.0  # pose-only alignment: surroundings' median Lab distance above this = untrustworthy
    texture_weight: float = 0.0  # change also counts this x the change of local contrast (0 = colour only)
    local_ring: bool = False  # light and change reference: a ring one object size around the spot (False = whole crop)
    # also check every re-observed case on its spot: a detection on the footprint makes it
    # still_present, a clear spot (the finding matched nearby belongs to another object) fixed
    verify_reobserved: bool = True

    def max_gsd_m(self, class_name: str) -> float:
        """The coarsest ground resolution (m/px) at which ``class_name``'s objects can be verified:
        ``object_size_m / min_object_px`` (0.05 m/px for a class not in the tables)."""
        size = self.object_size_m.get(class_name)
        px = self.min_object_px.get(class_name)
        if size is None or px is None or px <= 0:
            return 0.05
        return float(size) / float(px)

    def max_gsd_for_object_m(self, class_name: str, object_size_m: float | None = None) -> float:
        """The coarsest GSD (m/px) at which one case's object can be verified: it must span
        ``min_object_px`` pixels there. ``object_size_m`` is the object's own size measured in the
        frame that found it; an object larger than its class's nominal ``object_size_m`` (a 1.5 m
        crack network against the 0.5 m of the class) is verifiable that much coarser, a smaller one
        never finer than the class limit (the detector found it at its own GSD; the after frame is
        held to that by ``max_after_gsd_ratio``)."""
        limit = self.max_gsd_m(class_name)
        px = self.min_object_px.get(class_name)
        if object_size_m is None or px is None or px <= 0 or not (math.isfinite(object_size_m) and object_size_m > 0):
            return limit
        return max(limit, float(object_size_m) / float(px))

    def gsd_limits_m(self) -> dict[str, float]:
        """``max_gsd_m`` of every class in the tables."""
        return {c: self.max_gsd_m(c) for c in self.object_size_m}


@dataclass(frozen=True)
class StoreSettings:
    url: str = "patrol.db"  # SQLite file path, or sqlite:///path, or postgresql://...
    busy_timeout_s: float = 60.0  # wait this long for another process's write lock, then fail with one line


@dataclass(frozen=True)
class Settings:
    geo: GeoSettings = field(default_factory=GeoSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    detect: DetectSettings = field(default_factory=DetectSettings)
    findings: FindingsSettings = field(default_factory=FindingsSettings)
    rules: RulesSettings = field(default_factory=RulesSettings)
    cases: CasesSettings = field(default_factory=CasesSettings)
    verify: VerifySettings = field(default_factory=VerifySettings)
    store: StoreSettings = field(default_factory=StoreSettings)


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {type(value).__name__}")
        return _build(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is dict:
        _, vt = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {type(value).__name__}")
        return {str(k): _coerce(v, vt, f"{where}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; expected one of {', '.join(sorted(names))}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def settings_from_dict(data: dict[str, Any], base: Settings | None = None) -> Settings:
    """Build Settings from a nested dict (TOML layout), on top of ``base`` (defaults if None)."""
    base = base or Settings()
    merged: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        section = dataclasses.asdict(getattr(base, f.name))
        override = data.get(f.name, {})
        if not isinstance(override, dict):
            raise ConfigError(f"{f.name}: expected a table, got {type(override).__name__}")
        section.update(override)
        merged[f.name] = section
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(Settings)})
    if unknown:
        raise ConfigError(f"unknown section(s) {', '.join(unknown)}")
    return _build(Settings, merged, "")


def load_settings(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Load Settings from a TOML file (None = defaults) and apply nested ``overrides``."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise ConfigError(f"{p}: config file not found") from e
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{p}: not valid TOML: {e}") from e
    settings = settings_from_dict(data)
    if overrides:
        settings = settings_from_dict(overrides, base=settings)
    return settings
