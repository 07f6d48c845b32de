"""Patrol flights over the simulated world: flight paths, pose noise, frames written as DJI JPEGs,
zones.geojson and truth.json.

    run_flight(out_dir, FlightSpec(...)) -> FlightResult       (what ``patrol sim flight`` calls)
    plan_poses(spec, layout) -> list[CameraPose]               exact poses, pure
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from patrol.geo.camera import Camera, CameraPose
from patrol.sim.exifwrite import PhotoTags, with_metadata
from patrol.sim.frames import render_frame, sim_intrinsics
from patrol.sim.layout import Layout
from patrol.sim.truth import MIN_VISIBLE, Truth, TruthFrame, TruthObject, frame_labels, yolo_lines
from patrol.sim.world import DEFAULT_ORIGIN, World, build_world, check_world_size, zones_geojson

PATHS = ("lawnmower", "oblique", "street", "waypoints")
TAKEOFF_ELEVATION_M = 31.5  # ground height above the ellipsoid/sea level at the take-off point
START_TIME = {"before": datetime(2026, 11, 20, 9, 30, 0), "after": datetime(2026, 11, 21, 14, 10, 0)}


@dataclass(frozen=True)
class FlightSpec:
    """One simulated flight. ``altitude_m`` None = chosen so that the frames cover the world."""

    seed: int = 0
    frames: int = 16
    scenario: str = "before"
    path: str = "lawnmower"
    altitude_m: float | None = None
    pitch_deg: float | None = None  # None: -90 for lawnmower, -60 for oblique, -65 for street
    heading_deg: float | None = None  # flight-line direction from north; None: 0 before, 90 after
    gps_sigma_m: float = 1.5
    yaw_sigma_deg: float = 1.0
    alt_sigma_m: float = 0.3
    size_m: float = 300.0
    res_m: float = 0.03
    image_wh: tuple[int, int] = (4000, 3000)
    jpeg_quality: int = 90
    origin_lat_deg: float = DEFAULT_ORIGIN[0]
    origin_lon_deg: float = DEFAULT_ORIGIN[1]
    # path "waypoints": one photo at each (lat_deg, lon_deg, height_m above take-off, gimbal pitch
    # deg), e.g. a `patrol route` KMZ read back (patrol.route.wpml.read_kmz); ``frames`` is ignored
    waypoints: tuple[tuple[float, float, float, float], ...] = ()

    def __post_init__(self) -> None:
        if (self.path == "waypoints") != bool(self.waypoints):
            raise ValueError("path waypoints needs waypoints (and waypoints need path waypoints)")
        for w in self.waypoints:
            if not (-90 <= w[0] <= 90 and -180 <= w[1] <= 180 and 10.0 <= w[2] <= 500.0 and -90.0 <= w[3] <= -20.0):
                raise ValueError(f"waypoint {w}: expected lat, lon, height 10..500 m, pitch -90..-20")
        if self.scenario not in ("before", "after"):
            raise ValueError(f"scenario must be before or after, got {self.scenario!r}")
        if self.path not in PATHS:
            raise ValueError(f"path must be one of {', '.join(PATHS)}, got {self.path!r}")
        if not (1 <= self.frames <= 5000):
            raise ValueError(f"frames must be within 1..5000, got {self.frames}")
        if self.altitude_m is not None and not (10.0 <= self.altitude_m <= 500.0):
            raise ValueError(f"altitude_m must be within 10..500 m, got {self.altitude_m}")
        if self.pitch_deg is not None and not (-90.0 <= self.pitch_deg <= -20.0):
            raise ValueError(f"pitch_deg must be within -90..-20 (looking down), got {self.pitch_deg}")
        for name in ("gps_sigma_m", "yaw_sigma_deg", "alt_sigma_m"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        check_world_size(self.size_m, self.res_m)


@dataclass(frozen=True)
class FlightResult:
    folder: Path
    files: tuple[Path, ...]
    truth: Truth
    seconds_render: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)


def _nominal_pitch(spec: FlightSpec) -> float:
    if spec.pitch_deg is not None:
        return spec.pitch_deg
    if spec.path == "waypoints":  # each waypoint has its own; the truth records the first
        return spec.waypoints[0][3]
    return {"lawnmower": -90.0, "oblique": -60.0, "street": -65.0}[spec.path]


def plan_poses(spec: FlightSpec, layout: Layout) -> list[CameraPose]:
    """Exact camera poses of the flight (before any jitter), in local metres."""
    intr = sim_intrinsics(spec.image_wh)
    w, h = spec.image_wh
    pitch = _nominal_pitch(spec)
    heading = spec.heading_deg if spec.heading_deg is not None else (0.0 if spec.scenario == "before" else 90.0)
    if spec.path == "street":
        return _street(spec, layout, pitch, intr.fx_px)
    if spec.path == "waypoints":
        return _waypoints(spec)
    area = spec.size_m * 0.78
    n = spec.frames
    rows = max(1, round(math.sqrt(n / 1.6)))
    cols = math.ceil(n / rows)
    across, along = area / rows, area / cols
    if spec.altitude_m is not None:
        alt = spec.altitude_m
    elif spec.path == "oblique":  # oblique frames see far ahead: fly low
        alt = 70.0 if spec.scenario == "before" else 78.0
    else:  # cross-track footprint covers a line spacing with ~30% side overlap, within 60..120 m
        alt = min(120.0, max(60.0, across / 0.7 / (w / intr.fx_px)))
        if spec.scenario == "after":
            alt = min(120.0, alt * 1.08)
    fwd_off = alt / math.tan(math.radians(-pitch)) if pitch > -89.9 else 0.0
    poses = []
    hd = math.radians(heading)
    fx, fy = math.sin(hd), math.cos(hd)  # along-track unit vector (east, north)
    rx, ry = math.cos(hd), -math.sin(hd)  # right of track
    k = 0
    for i in range(rows):
        a = -area / 2 + (i + 0.5) * across
        reverse = i % 2 == 1
        for j in range(cols):
            if k >= n:
                break
            jj = cols - 1 - j if reverse else j
            s = -area / 2 + (jj + 0.5) * along
            dirn = -1.0 if reverse else 1.0
            yaw = (heading + (180.0 if reverse else 0.0)) % 360.0
            # the footprint centre is the target: the camera stands fwd_off behind it
            e = a * rx + s * fx - dirn * fwd_off * fx
            nn = a * ry + s * fy - dirn * fwd_off * fy
            poses.append(CameraPose(e, nn, alt, yaw, pitch, 0.0))
            k += 1
    return poses


def _waypoints(spec: FlightSpec) -> list[CameraPose]:
    """A photo at each waypoint, heading north, the camera standing where the drone hovers."""
    from patrol.geo.crs import LocalFrame

    frame = LocalFrame(spec.origin_lat_deg, spec.origin_lon_deg)
    poses = []
    for lat, lon, height, pitch in spec.waypoints:
        e, n = frame.to_local(lat, lon)
        poses.append(CameraPose(float(e), float(n), float(height), 0.0, float(pitch), 0.0))
    return poses


def _street(spec: FlightSpec, layout: Layout, pitch: float, fx_px: float) -> list[CameraPose]:
    alt = spec.altitude_m or 70.0
    fwd_off = alt / math.tan(math.radians(-pitch)) if pitch > -89.9 else 0.0
    step = max(10.0, alt * spec.image_wh[1] / fx_px * 0.45)
    half = spec.size_m / 2 * 0.85
    poses: list[CameraPose] = []
    roads = sorted(layout.roads, key=lambda r: (r.kind != "main", abs(r.pos_m)))
    for idx, r in enumerate(roads):
        if abs(r.pos_m) > half:
            continue
        sgn = 1.0 if idx % 2 == 0 else -1.0
        s = -sgn * half
        while -half <= s <= half and len(poses) < spec.frames:
            c = layout.to_en(np.array([r.point(0.0, s)]))[0]
            d = layout.to_en(np.array([r.point(0.0, s + sgn)]))[0] - c  # along-road direction
            if abs(c[0]) < half and abs(c[1]) < half:
                yaw = math.degrees(math.atan2(d[0], d[1])) % 360.0
                poses.append(CameraPose(float(c[0] - d[0] * fwd_off), float(c[1] - d[1] * fwd_off), alt, yaw, pitch, 0.0))
            s += sgn * step
        if len(poses) >= spec.frames:
            break
    return poses


def _tags(spec: FlightSpec, world: World, true: CameraPose, rng: np.random.Generator, bias_en: np.ndarray, t: datetime) -> PhotoTags:
    """The noisy metadata a DJI aircraft would record for a true pose."""
    err = bias_en + rng.normal(0, spec.gps_sigma_m / math.sqrt(2) * 0.6, size=2)
    lat, lon = world.frame.to_wgs84(true.east_m + err[0], true.north_m + err[1])
    rel = true.height_m + rng.normal(0, spec.alt_sigma_m)
    yaw = true.yaw_deg + rng.normal(0, spec.yaw_sigma_deg)
    return PhotoTags(
        lat_deg=lat, lon_deg=lon, abs_alt_m=TAKEOFF_ELEVATION_M + rel + rng.normal(0, 0.5), rel_alt_m=rel,
        gimbal_yaw_deg=yaw, gimbal_pitch_deg=max(-90.0, true.pitch_deg + rng.normal(0, 0.2)),
        gimbal_roll_deg=true.roll_deg + rng.normal(0, 0.2), flight_yaw_deg=yaw + rng.normal(0, 2.0),
        flight_pitch_deg=rng.normal(0, 2.0), flight_roll_deg=rng.normal(0, 2.0), time=t, size_wh=spec.image_wh,
    )


def run_flight(out_dir: str | Path, spec: FlightSpec, world: World | None = None,
               progress: Callable[[int, int], None] | None = None) -> FlightResult:
    """Render the flight into ``out_dir``: DJI_0001.JPG..., zones.geojson, truth.json, labels/*.txt.

    ``world`` may be passed in to reuse a raster (it must match spec's seed, scenario and size).
    """
    import time as _time

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(exist_ok=True)
    if world is None:
        world = build_world(spec.seed, spec.scenario, spec.size_m, spec.res_m, spec.origin_lat_deg, spec.origin_lon_deg)
    rng = np.random.default_rng([spec.seed, 505, 0 if spec.scenario == "before" else 1])
    intr = sim_intrinsics(spec.image_wh)
    nominal = plan_poses(spec, world.layout)
    bias = rng.normal(0, spec.gps_sigma_m / math.sqrt(2) * 0.8, size=2)
    t0 = START_TIME[spec.scenario]
    frames: list[TruthFrame] = []
    files: list[Path] = []
    render_s = 0.0
    for k, nom in enumerate(nominal):
        true = CameraPose(nom.east_m + rng.normal(0, 0.5), nom.north_m + rng.normal(0, 0.5), nom.height_m + rng.normal(0, 0.2),
                          (nom.yaw_deg + rng.normal(0, 1.5)) % 360.0, max(-90.0, nom.pitch_deg + rng.normal(0, 0.4)), rng.normal(0, 0.3))
        cam = Camera(intr, true)
        t = t0 + timedelta(seconds=3 * k)
        tags = _tags(spec, world, true, rng, bias, t)
        gain = float(rng.uniform(0.95, 1.05))
        t_r = _time.perf_counter()
        img = render_frame(world, cam, gain=gain)
        ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, spec.jpeg_quality])
        render_s += _time.perf_counter() - t_r
        if not ok:  # pragma: no cover - cv2 failure
            raise RuntimeError("JPEG encoding failed")
        name = f"DJI_{k + 1:04d}.JPG"
        (out / name).write_bytes(with_metadata(enc.tobytes(), tags))
        files.append(out / name)
        labels = frame_labels(cam, world.present_objects)
        (out / "labels" / f"DJI_{k + 1:04d}.txt").write_text("".join(s + "\n" for s in yolo_lines(labels, spec.image_wh)), encoding="utf-8")
        lat, lon = world.frame.to_wgs84(true.east_m, true.north_m)
        q = tags.quantised()
        written = {key: getattr(q, key) for key in ("lat_deg", "lon_deg", "abs_alt_m", "rel_alt_m", "gimbal_yaw_deg", "gimbal_pitch_deg",
                                                     "gimbal_roll_deg", "flight_yaw_deg", "flight_pitch_deg", "flight_roll_deg")}
        frames.append(TruthFrame(name, t.isoformat(), true, lat, lon, written, labels))
        if progress:
            progress(k + 1, len(nominal))
    truth = Truth(spec.scenario, spec.seed, spec.origin_lat_deg, spec.origin_lon_deg, intr, "FC6310",
                  _plain({**{k: v for k, v in asdict(spec).items() if k not in ("image_wh",)}, "image_wh": list(spec.image_wh),
                   "altitude_m": nominal[0].height_m if nominal else None, "pitch_deg": _nominal_pitch(spec),
                   "takeoff_elevation_m": TAKEOFF_ELEVATION_M, "min_visible_for_yolo": MIN_VISIBLE,
                   "sun": asdict(world.sun)}),
                  tuple(_truth_objects(world)), tuple(frames))
    truth.save(out / "truth.json")
    (out / "zones.geojson").write_text(json.dumps(zones_geojson(world)), encoding="utf-8")
    return FlightResult(out, tuple(files), truth, render_s)


def _plain(d: dict) -> dict:
    """JSON-shaped (lists, not tuples), so a truth equals itself after a save and load."""
    return json.loads(json.dumps(d))


def _truth_objects(world: World) -> list[TruthObject]:
    out = []
    for o in world.objects:
        p = np.array(o.outline_en)
        lat, lon = world.frame.to_wgs84(p[:, 0], p[:, 1])
        c = o.polygon.centroid
        clat, clon = world.frame.to_wgs84(c.x, c.y)
        out.append(TruthObject(o.id, o.kind, o.class_name, o.violation, o.status, o.present, o.placement, o.outline_en,
                               tuple((round(float(a), 9), round(float(b), 9)) for a, b in zip(lon, lat)), round(clat, 9), round(clon, 9)))
    return out
