"""A simulated DJI video: MP4 frames flown along a street plus a DJI-style .SRT telemetry sidecar.

    run_video(out_dir, VideoSpec(...)) -> Truth     writes DJI_0001.MP4, DJI_0001.SRT, truth.json, zones.geojson

The SRT uses the FrameCnt/DiffTime layout of recent DJI firmware with ``[gb_yaw: .. gb_pitch: ..
gb_roll: ..]`` gimbal angles; latitude/longitude are written with 6 decimals as DJI does. Truth frames
are named ``DJI_0001.MP4#00012`` (frame index). The world is static during the clip.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np

from patrol.geo.camera import Camera, CameraPose
from patrol.ingest.frame import Intrinsics
from patrol.sim.flight import START_TIME, TAKEOFF_ELEVATION_M, _plain, _truth_objects
from patrol.sim.frames import render_frame
from patrol.sim.truth import Truth, TruthFrame, frame_labels
from patrol.sim.world import DEFAULT_ORIGIN, build_world, check_world_size, zones_geojson

FULL_FRAME_DIAG_MM = math.hypot(36.0, 24.0)


@dataclass(frozen=True)
class VideoSpec:
    seed: int = 0
    scenario: str = "before"
    seconds: float = 8.0
    fps: float = 10.0
    size_wh: tuple[int, int] = (1920, 1080)
    altitude_m: float = 70.0
    pitch_deg: float = -70.0
    speed_mps: float = 8.0
    focal35_mm: float = 24.0
    gps_sigma_m: float = 1.5
    yaw_sigma_deg: float = 1.0
    size_m: float = 300.0
    res_m: float = 0.03

    def __post_init__(self) -> None:
        if self.scenario not in ("before", "after"):
            raise ValueError(f"scenario must be before or after, got {self.scenario!r}")
        if not (0 < self.seconds <= 600 and 1 <= self.fps <= 60):
            raise ValueError(f"seconds must be within (0, 600] and fps within 1..60, got {self.seconds}, {self.fps}")
        if not (-90.0 <= self.pitch_deg <= -20.0):
            raise ValueError(f"pitch_deg must be within -90..-20, got {self.pitch_deg}")
        check_world_size(self.size_m, self.res_m)


def video_intrinsics(size_wh: tuple[int, int], focal35_mm: float) -> Intrinsics:
    """As the ingest derives them from the SRT's 35 mm focal length: a 16:9 frame is a crop of 4:3."""
    w, h = size_wh
    diag = math.hypot(w, w * 3 / 4) if w / h > 4 / 3 + 1e-6 else math.hypot(w, h)
    f = focal35_mm * diag / FULL_FRAME_DIAG_MM
    return Intrinsics(f, f, w / 2.0, h / 2.0, (w, h), "focal35")


def _srt_time(t: float) -> str:
    ms = int(round(t * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def run_video(out_dir: str | Path, spec: VideoSpec) -> Truth:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    world = build_world(spec.seed, spec.scenario, spec.size_m, spec.res_m, *DEFAULT_ORIGIN)
    lay = world.layout
    rng = np.random.default_rng([spec.seed, 909, 0 if spec.scenario == "before" else 1])
    road = min(lay.roads, key=lambda r: (r.kind != "main", abs(r.pos_m)))
    n = int(round(spec.seconds * spec.fps))
    length = spec.speed_mps * spec.seconds
    fwd = spec.altitude_m / math.tan(math.radians(-spec.pitch_deg)) if spec.pitch_deg > -89.9 else 0.0
    intr = video_intrinsics(spec.size_wh, spec.focal35_mm)
    w, h = spec.size_wh
    writer = cv2.VideoWriter(str(out / "DJI_0001.MP4"), cv2.VideoWriter_fourcc(*"mp4v"), spec.fps, (w, h))
    if not writer.isOpened():  # pragma: no cover - depends on the OpenCV build
        raise RuntimeError("OpenCV cannot write MP4 here")
    bias = rng.normal(0, spec.gps_sigma_m / math.sqrt(2) * 0.8, size=2)
    t0 = START_TIME[spec.scenario]
    blocks, frames = [], []
    for k in range(n):
        s = -length / 2 + spec.speed_mps * k / spec.fps
        c = lay.to_en(np.array([road.point(-1.0, s)]))[0]
        d = lay.to_en(np.array([road.point(-1.0, s + 1.0)]))[0] - c
        yaw = math.degrees(math.atan2(d[0], d[1])) % 360.0
        true = CameraPose(float(c[0] - d[0] * fwd), float(c[1] - d[1] * fwd), spec.altitude_m + 0.3 * math.sin(k / 7),
                          (yaw + 0.8 * math.sin(k / 11)) % 360.0, spec.pitch_deg, 0.2 * math.sin(k / 5))
        cam = Camera(intr, true)
        writer.write(render_frame(world, cam))
        err = bias + rng.normal(0, spec.gps_sigma_m / math.sqrt(2) * 0.3, size=2)
        lat, lon = world.frame.to_wgs84(true.east_m + err[0], true.north_m + err[1])
        rel = true.height_m + rng.normal(0, 0.2)
        gy = (true.yaw_deg + rng.normal(0, spec.yaw_sigma_deg) + 180) % 360 - 180
        written = {"lat_deg": float(f"{lat:.6f}"), "lon_deg": float(f"{lon:.6f}"), "rel_alt_m": float(f"{rel:.3f}"),
                   "abs_alt_m": float(f"{rel + TAKEOFF_ELEVATION_M:.3f}"), "gimbal_yaw_deg": float(f"{gy:.1f}"),
                   "gimbal_pitch_deg": float(f"{true.pitch_deg:.1f}"), "gimbal_roll_deg": float(f"{true.roll_deg:.1f}")}
        t = t0 + timedelta(seconds=k / spec.fps)
        a, b = k / spec.fps, (k + 1) / spec.fps
        blocks.append(
            f"{k + 1}\n{_srt_time(a)} --> {_srt_time(b)}\n"
            f'<font size="28">FrameCnt: {k + 1}, DiffTime: {int(round(1000 / spec.fps))}ms\n'
            f"{t.strftime('%Y-%m-%d %H:%M:%S')}.{t.microsecond // 1000:03d}\n"
            f"[iso: 100] [shutter: 1/1000.0] [fnum: 2.8] [ev: 0] [color_md: default] [focal_len: {spec.focal35_mm:.2f}] "
            f"[dzoom_ratio: 1.00], [latitude: {written['lat_deg']:.6f}] [longitude: {written['lon_deg']:.6f}] "
            f"[rel_alt: {written['rel_alt_m']:.3f} abs_alt: {written['abs_alt_m']:.3f}] "
            f"[gb_yaw: {written['gimbal_yaw_deg']:.1f} gb_pitch: {written['gimbal_pitch_deg']:.1f} gb_roll: {written['gimbal_roll_deg']:.1f}] </font>\n"
        )
        tlat, tlon = world.frame.to_wgs84(true.east_m, true.north_m)
        frames.append(TruthFrame(f"DJI_0001.MP4#{k:05d}", t.isoformat(), true, tlat, tlon, written, frame_labels(cam, world.present_objects)))
    writer.release()
    (out / "DJI_0001.SRT").write_text("\n".join(blocks), encoding="utf-8")
    truth = Truth(spec.scenario, spec.seed, DEFAULT_ORIGIN[0], DEFAULT_ORIGIN[1], intr, "video",
                  _plain({"path": "street-video", "seconds": spec.seconds, "fps": spec.fps, "altitude_m": spec.altitude_m,
                          "pitch_deg": spec.pitch_deg, "gps_sigma_m": spec.gps_sigma_m, "yaw_sigma_deg": spec.yaw_sigma_deg}),
                  tuple(_truth_objects(world)), tuple(frames))
    truth.save(out / "truth.json")
    (out / "zones.geojson").write_text(json.dumps(zones_geojson(world)), encoding="utf-8")
    return truth
