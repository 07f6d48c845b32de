"""Benchmark: metadata of N photos by `patrol ingest --json` against `exiftool -n -json`.

Makes N symlinks (default 1,000) to the shared DJI photos (../shared/data/aerial-cars/DJI_0*.JPG) in a
temporary folder, times both tools end to end (process start included) on the same files, checks that
both read the same positions, and prints the ratio. exiftool is optional (Debian package
libimage-exiftool-perl): without it only patrol's time is printed.

    .venv/bin/python scripts/bench_ingest.py [--n 1000] [--workers 0] [--photos DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PHOTOS = REPO.parent / "shared" / "data" / "aerial-cars"


def _time(cmd: list[str], runs: int) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        dt = time.perf_counter() - t0
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
        best, out = min(best, dt), proc.stdout
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="number of photos (symlinks to the samples)")
    ap.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="folder with DJI_*.JPG samples")
    ap.add_argument("--workers", type=int, default=0, help="patrol ingest --workers (0 = one per CPU)")
    ap.add_argument("--runs", type=int, default=1, help="repeat each tool and keep the best time")
    args = ap.parse_args()
    sources = sorted(args.photos.glob("DJI_0*.JPG"))
    if not sources:
        print(f"no DJI_0*.JPG photos in {args.photos}: nothing to benchmark", file=sys.stderr)
        return 2
    patrol = shutil.which("patrol", path=str(REPO / ".venv" / "bin")) or shutil.which("patrol")
    if patrol is None:
        print("patrol is not installed (run scripts/setup.sh)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        folder = Path(tmp)
        for i in range(args.n):
            os.symlink(sources[i % len(sources)].resolve(), folder / f"P{i:05d}.JPG")
        files_mb = sum(s.stat().st_size for s in sources) / len(sources) * args.n / 1e6
        print(f"{args.n} photos ({files_mb:.0f} MB of JPEG, symlinks to {len(sources)} DJI samples), "
              f"{os.cpu_count()} CPUs")
        t_patrol, out = _time([patrol, "ingest", "--json", "--workers", str(args.workers), str(folder)], args.runs)
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert len(rows) == args.n, f"patrol printed {len(rows)} rows for {args.n} photos"
        print(f"patrol ingest --json : {t_patrol:7.2f} s  ({t_patrol / args.n * 1000:.2f} ms/photo, "
              "includes GSD + footprint)")
        exiftool = shutil.which("exiftool")
        if exiftool is None:
            print("exiftool not installed (apt-get install libimage-exiftool-perl): no ratio")
            return 0
        t_exif, out = _time([exiftool, "-n", "-json", "-q", "-r", str(folder)], args.runs)
        ref = {Path(r["SourceFile"]).name: r for r in json.loads(out)}
        print(f"exiftool -n -json    : {t_exif:7.2f} s  ({t_exif / args.n * 1000:.2f} ms/photo)")
        bad = [r["path"] for r in rows
               if abs(r["lat_deg"] - ref[Path(r["path"]).name]["GPSLatitude"]) > 1e-7
               or abs(r["lon_deg"] - ref[Path(r["path"]).name]["GPSLongitude"]) > 1e-7]
        print(f"positions equal to exiftool's (1e-7 deg): {args.n - len(bad)}/{args.n}")
        print(f"ratio exiftool / patrol: {t_exif / t_patrol:.2f}x ({'faster' if t_patrol < t_exif else 'SLOWER'})")
        return 0 if not bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
