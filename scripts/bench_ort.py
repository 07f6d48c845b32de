"""ONNX Runtime thread spinning on and off, interleaved in one run (ratios, never timed assertions).

    .venv/bin/python scripts/bench_ort.py [--tiles 60] [--rounds 5] [--busy 0] [--json]

ONNX Runtime's intra-op worker threads busy-wait between runs by default. On a machine whose cores are
shared (other jobs, a CI runner, several patrol workers) those spinning threads take the cores from
the thread doing the work. This runs the bundled model on the same random 320 px tiles with spinning
on and off, alternating sessions round by round so that both see the same machine load, and prints
the median seconds per tile of each and the ratio. ``--busy N`` starts N busy-looping processes for
the run (a shared machine on purpose); ``[detect] ort_spinning`` (default false) is the setting.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import time
from dataclasses import replace


def _spin(stop) -> None:  # a CPU hog for --busy
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1_000_003


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiles", type=int, default=60, help="tiles per round and setting")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--busy", type=int, default=0, help="busy processes beside the benchmark")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import numpy as np

    from patrol.config import DetectSettings
    from patrol.detect.registry import load_detector

    base = DetectSettings()
    dets = {"spinning": load_detector(replace(base, ort_spinning=True)),
            "no_spinning": load_detector(replace(base, ort_spinning=False))}
    side = dets["spinning"].input_wh[0]
    rng = np.random.default_rng(0)
    tiles = [rng.integers(0, 255, (side, side, 3), dtype=np.uint8) for _ in range(args.tiles)]
    for d in dets.values():  # warm up
        d.detect(tiles[0])
    stop = mp.Event()
    hogs = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(args.busy)]
    for h in hogs:
        h.start()
    times: dict[str, list[float]] = {k: [] for k in dets}
    try:
        for r in range(args.rounds):
            order = list(dets) if r % 2 == 0 else list(dets)[::-1]
            for k in order:
                t0 = time.perf_counter()
                for t in tiles:
                    dets[k].detect(t)
                times[k].append((time.perf_counter() - t0) / len(tiles))
    finally:
        stop.set()
        for h in hogs:
            h.join(timeout=5)
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {"busy": args.busy, "tiles": args.tiles, "rounds": args.rounds,
           "s_per_tile": {k: round(v, 5) for k, v in med.items()},
           "speedup_no_spinning": round(med["spinning"] / med["no_spinning"], 3)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"busy processes beside: {args.busy}; {args.tiles} tiles x {args.rounds} rounds, interleaved")
        for k, v in med.items():
            print(f"  {k:<12} {1000 * v:7.1f} ms per tile (median of rounds)")
        print(f"  no spinning is {out['speedup_no_spinning']:.2f}x the speed of spinning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
