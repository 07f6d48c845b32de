#!/usr/bin/env python3
"""Benchmark: render 4000x3000 frames of the synthetic city (render + JPEG encode + EXIF/XMP), and the
world raster itself. Usage: .venv/bin/python scripts/bench_render.py [--frames 8] [--size-m 300] [--res-m 0.03]"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime

import cv2

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from patrol.geo.camera import Camera, CameraPose  # noqa: E402
from patrol.sim.exifwrite import PhotoTags, with_metadata  # noqa: E402
from patrol.sim.frames import render_frame, sim_intrinsics  # noqa: E402
from patrol.sim.world import build_world  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size-m", type=float, default=300.0)
    ap.add_argument("--res-m", type=float, default=0.03)
    a = ap.parse_args()
    t = time.perf_counter()
    world = build_world(0, "before", a.size_m, a.res_m)
    t_world = time.perf_counter() - t
    intr = sim_intrinsics((4000, 3000))
    poses = [CameraPose(-40 + 10 * k, -30 + 7 * k, 70 + 5 * (k % 4), 37.0 * k, -90.0 if k % 2 == 0 else -55.0, 0.0) for k in range(a.frames)]
    render, encode, flat = [], [], []
    for p in poses:
        cam = Camera(intr, p)
        tf = time.perf_counter()
        render_frame(world, cam, solids=False)  # interleaved: the cost of drawing vehicles as solids
        flat.append(time.perf_counter() - tf)
        t0 = time.perf_counter()
        img = render_frame(world, cam)
        t1 = time.perf_counter()
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        tags = PhotoTags(37.739, 115.67, 100.0, p.height_m, p.yaw_deg, p.pitch_deg, 0.0, p.yaw_deg, 0.0, 0.0, datetime(2026, 1, 1), (4000, 3000))
        with_metadata(buf.tobytes(), tags)
        t2 = time.perf_counter()
        render.append(t1 - t0)
        encode.append(t2 - t1)
    total = [r + e for r, e in zip(render, encode)]
    print(f"cpus: {os.cpu_count()}  load average: {os.getloadavg()[0]:.1f}")
    print(f"world {a.size_m:.0f} m at {a.res_m} m/px ({world.image.shape[1]}x{world.image.shape[0]} px): {t_world:.1f} s")
    print(f"4000x3000 frame ({a.frames} frames, half nadir, half oblique): render median {statistics.median(render):.2f} s, "
          f"JPEG+EXIF median {statistics.median(encode):.2f} s, total median {statistics.median(total):.2f} s, max {max(total):.2f} s")
    print(f"render with vehicles as solids / flat raster only: {statistics.median(render) / statistics.median(flat):.2f}x "
          f"(median {statistics.median(render):.2f} s vs {statistics.median(flat):.2f} s)")


if __name__ == "__main__":
    main()
