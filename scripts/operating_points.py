"""Choose the per-class operating confidences of a model from real negatives, check them on held-out data.

    .venv/bin/python scripts/operating_points.py [--model M.onnx] [--out work-data/op] [--json]

What it does (bundled model unless --model; production tiling, no zones, as `patrol eval`):

1. Runs the detector once at a low score floor over
   - real street frames known to hold no vendor stall, garbage or road damage (../shared/data/aerial-cars),
     split by source: TUNE = the DJI_0005 video, the Munich (MOS) images and the DJI_0010/0012/0022
     photos; HELD OUT = the DJI-00760 video and the DJI_0019/0031 photos (never used to choose anything);
   - a simulated before flight of a city the demo does not use (--sim-seed, default 3) with its truth;
   - the UAV-PDD2023 road-damage samples (real damage: the cost of a higher road-damage threshold).
2. For each class learnt without real negatives to calibrate it (vendor_stall, garbage, road_damage)
   raises the model's own operating point (0.05 steps) until its false alarms on the TUNE frames are
   at most --max-per-100 per 100 frames (``patrol.train.operating.raise_for_false_alarms``); vehicles
   keep the model's point (chosen on real labelled val).
3. Prints, per class, the model's point and the chosen one with: false alarms per 100 frames on TUNE
   and HELD OUT, recall and precision on the simulated city, recall on UAV-PDD (road damage), and the
   `[detect] class_confidence` line to put in a config. ``--write`` stores the chosen points beside the
   model as MODEL.operating.json (bound to the model file by its SHA-256), which the detector then
   uses over the ONNX metadata (``patrol.detect.onnx.operating_sidecar``).

Nothing here is a test: it is a measurement, reported in README "Operating points".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
RAISED = ("vendor_stall", "garbage", "road_damage")


def is_tune(name: str) -> bool:
    """The split of the real negatives: tune on these, report the rest as held out."""
    return name.startswith(("DJI_0005", "MOS", "DJI_0010", "DJI_0012", "DJI_0022"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="", help="ONNX model (default: the bundled one)")
    ap.add_argument("--out", default=str(REPO / "work-data" / "operating-points"), help="work folder (sim flight)")
    ap.add_argument("--sim-seed", type=int, default=3)
    ap.add_argument("--sim-frames", type=int, default=8)
    ap.add_argument("--max-per-100", type=float, default=2.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--write", action="store_true", help="write MODEL.operating.json beside the model (the detector then uses it)")
    args = ap.parse_args()

    from patrol.config import Settings
    from patrol.detect.engine import frame_gsd_m, plan_from_settings, read_image, run_tiles
    from patrol.detect.base import Detection
    from patrol.detect.evaluate import DEFAULT_CLASS_MAP, load_labelled, to_gt
    from patrol.detect.onnx import class_thresholds
    from patrol.detect.registry import load_detector, model_path
    from patrol.train.operating import count_false_alarms, raise_for_false_alarms

    if not (SHARED / "aerial-cars").is_dir():
        print(f"{SHARED}: the shared data is not there", file=sys.stderr)
        return 2
    settings = Settings()
    s = replace(settings.detect, model=args.model or settings.detect.model, class_confidence={})
    det = load_detector(replace(s, confidence=0.05))
    names = tuple(det.class_names)
    from patrol.detect.onnx import parse_operating_confidence

    meta = det.session.get_modelmeta().custom_metadata_map  # the model's own points, not a sidecar's
    model_point = class_thresholds(names, None, parse_operating_confidence(meta, names))
    plan = plan_from_settings(s, det)

    def detect_image(image, path: Path):
        gsd = frame_gsd_m(path, settings) if s.class_gsd_m else None
        p = plan if gsd is None else plan_from_settings(s, det, gsd)
        return run_tiles(image, det, p).detections

    def detect(path: Path):
        return detect_image(read_image(path), path)

    t0 = time.monotonic()
    cmap = dict(DEFAULT_CLASS_MAP)
    cache_path = Path(args.out) / "detections-cache.json"
    model_file = model_path(s)
    key = f"{model_file.resolve()}:{model_file.stat().st_mtime_ns}:{s}"
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    if cache.get("key") != key:
        cache = {"key": key, "images": {}}

    def cached(path: Path, image=None):
        k = str(path.resolve())
        if k not in cache["images"]:
            dets = detect(path) if image is None else detect_image(image, path)
            cache["images"][k] = [[d.class_name, d.score, list(d.bbox_xyxy_px)] for d in dets]
        return [Detection(tuple(b), c, float(sc)) for c, sc, b in cache["images"][k]]

    negatives = {"tune": [], "held_out": []}
    for img in sorted(p for p in (SHARED / "aerial-cars").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        negatives["tune" if is_tune(img.name) else "held_out"].append((cached(img), ()))
    labelled = {}
    sim_dir = Path(args.out) / f"sim-seed{args.sim_seed}"
    if not (sim_dir / "truth.json").is_file():
        from patrol.sim.flight import FlightSpec, run_flight

        run_flight(sim_dir, FlightSpec(seed=args.sim_seed, frames=args.sim_frames, scenario="before"))
    for name, folder in (("sim", sim_dir), ("uavpdd", SHARED / "road-damage-uavpdd")):
        found, _, _ = load_labelled(folder)
        pairs = []
        for img, reader in found:
            image = read_image(img)
            from collections import Counter

            gt = to_gt(reader((image.shape[1], image.shape[0])), cmap, Counter())
            pairs.append((cached(img, image), gt))
        labelled[name] = pairs
    Path(args.out).mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps(cache))
    seconds = time.monotonic() - t0

    def recall_precision(pairs, c: str, conf: float) -> tuple[float | None, float | None]:
        from patrol.detect.evaluate import score

        m = score([(gt, [d for d in dets if d.score >= conf]) for dets, gt in pairs], [c], {c: conf})[0]
        return m.recall, m.precision

    def per100(pairs, c, conf) -> float:
        return round(100.0 * count_false_alarms(pairs, c, conf) / max(1, len(pairs)), 1)

    rows = []
    chosen: dict[str, float] = {}
    for c in names:
        start = model_point[c]
        new = raise_for_false_alarms(negatives["tune"], c, start, args.max_per_100) if c in RAISED else start
        chosen[c] = new
        for label, conf in (("model", start), ("chosen", new)):
            r_sim, p_sim = recall_precision(labelled["sim"], c, conf)
            r_pdd, _ = recall_precision(labelled["uavpdd"], c, conf) if c == "road_damage" else (None, None)
            rows.append({
                "class": c, "which": label, "confidence": conf,
                "tune_fa_per_100": per100(negatives["tune"], c, conf) if c in RAISED else None,
                "held_out_fa_per_100": per100(negatives["held_out"], c, conf) if c in RAISED else None,
                "sim_recall": r_sim, "sim_precision": p_sim, "uavpdd_recall": r_pdd,
            })
    out = {
        "frames": {"tune": len(negatives["tune"]), "held_out": len(negatives["held_out"]),
                   "sim": len(labelled["sim"]), "uavpdd": len(labelled["uavpdd"])},
        "seconds": round(seconds, 1), "rows": rows,
        "class_confidence": {c: chosen[c] for c in RAISED if c in chosen},
    }
    if args.write:
        from patrol.detect.onnx import file_sha256

        side = model_file.with_name(model_file.stem + ".operating.json")
        held = {r["class"]: r["held_out_fa_per_100"] for r in rows if r["which"] == "chosen" and r["class"] in RAISED}
        side.write_text(json.dumps({
            "model": model_file.name,
            "model_sha256": file_sha256(model_file),
            "confidence": out["class_confidence"],
            "chosen_by": (f"raised until false alarms on {out['frames']['tune']} real street frames were at most "
                          f"{args.max_per_100:g} per 100 (scripts/operating_points.py); held out "
                          f"{out['frames']['held_out']} frames: " + ", ".join(f"{c} {v}/100" for c, v in held.items())),
            "rows": rows,
        }, indent=1) + "\n")
        print(f"wrote {side}", file=sys.stderr)
    if args.json:
        print(json.dumps(out))
        return 0
    f = lambda v: "-" if v is None else (f"{v:.2f}" if isinstance(v, float) and v <= 1.0 else f"{v}")  # noqa: E731
    print(f"real negatives: {out['frames']['tune']} tune, {out['frames']['held_out']} held out; sim seed "
          f"{args.sim_seed}: {out['frames']['sim']} frames; UAV-PDD: {out['frames']['uavpdd']}; {seconds:.0f} s")
    print(f"{'class':<13} {'which':<7} {'conf':>5} {'FA/100 tune':>11} {'FA/100 held':>11} {'sim R':>6} {'sim P':>6} {'PDD R':>6}")
    for r in rows:
        print(f"{r['class']:<13} {r['which']:<7} {r['confidence']:>5.2f} {f(r['tune_fa_per_100']):>11} "
              f"{f(r['held_out_fa_per_100']):>11} {f(r['sim_recall']):>6} {f(r['sim_precision']):>6} {f(r['uavpdd_recall']):>6}")
    print("[detect] class_confidence = { " + ", ".join(f'"{c}" = {v}' for c, v in out["class_confidence"].items()) + " }")
    return 0


if __name__ == "__main__":
    sys.exit(main())
