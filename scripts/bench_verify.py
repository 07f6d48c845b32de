"""Time per verified case, and verdict accuracy, on the real DJI_0019/DJI_0031 pair and the simulator.

    .venv/bin/python scripts/bench_verify.py                 # real pair (needs ../shared/data)
    .venv/bin/python scripts/bench_verify.py --sim 1,2,3,4   # + simulated before/after cities
    .venv/bin/python scripts/bench_verify.py --threads 1     # OpenCV on one thread (CPU-time view)
    .venv/bin/python scripts/bench_verify.py --pairs score   # + real video pairs: compare and two flights

Real video pairs (patrol.verify.realpairs): labelled frames of one hovering video, a vehicle gone from
its spot = fixed, still on it = still_present. ``--pairs tune`` = the DJI_0005 pairs the thresholds
were chosen on, ``--pairs score`` = the DJI-00760 pairs they are scored on. Needs models/patrol.onnx.

Real pair: every car of DJI_0019 is a case (tests/verify/fixtures/dji_0019_0031_cars.json); the
detections on DJI_0031 are its labelled boxes (the dataset's road labels + our parked-car boxes),
passed as whole-image detections so the timing is the verification itself, not a detector. Cameras
come from the photos' EXIF/XMP (patrol.ingest) when readable. With ``--onnx`` and models/patrol.onnx
present, the bundled detector is re-run on each after crop instead (timing includes it).

Sim: patrol.verify.simcheck (problems and legally parked cars as cases, pose noise, a different sun).
Prints wall and CPU seconds per case (median, p95) and the confusion tables. Target: < 0.5 s a case.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = (REPO / ".." / "shared" / "data" / "aerial-cars").resolve()
FIXTURE = REPO / "tests" / "verify" / "fixtures" / "dji_0019_0031_cars.json"


def _yolo(path: Path, w: int, h: int) -> list[tuple[float, float, float, float]]:
    out = []
    for line in path.read_text().split("\n"):
        if line.strip():
            _, cx, cy, bw, bh = (float(v) for v in line.split())
            out.append(((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h))
    return out


def bench_real(use_onnx: bool, evidence_dir: Path | None, model: str = "") -> dict:
    from patrol.config import Settings
    from patrol.detect.base import Detection
    from patrol.verify.core import verify_images
    from patrol.verify.evidence import evidence_image, write_evidence

    before_p, after_p = DATA / "DJI_0019.JPG", DATA / "DJI_0031.JPG"
    if not before_p.is_file():
        return {"skipped": f"{before_p} not found"}
    cars = json.loads(FIXTURE.read_text())["cars"]
    before, after = cv2.imread(str(before_p)), cv2.imread(str(after_p))
    h, w = after.shape[:2]
    boxes = _yolo(DATA / "DJI_0031.txt", w, h) + [c["after_bbox_xyxy_px"] for c in cars if c["where"] != "road" and c["after_bbox_xyxy_px"]]
    dets = [Detection(tuple(b), "vehicle", 0.9) for b in boxes]
    settings = Settings()
    if model:
        import dataclasses

        settings = dataclasses.replace(settings, detect=dataclasses.replace(settings.detect, model=model))
    cam_b = cam_a = None
    try:
        from patrol.geo.camera import camera_from_frame
        from patrol.geo.crs import LocalFrame
        from patrol.ingest import read_frame

        mb, ma = read_frame(before_p), read_frame(after_p)
        local = LocalFrame(mb.lat_deg, mb.lon_deg)
        cam_b, cam_a = camera_from_frame(mb, local), camera_from_frame(ma, local)
    except Exception as e:  # noqa: BLE001 - the bench runs without poses too (whole-image features)
        print(f"no camera poses ({e}); using whole-image registration", file=sys.stderr)
    detector = None
    if use_onnx:
        from patrol.detect import load_detector

        detector = load_detector(settings.detect)
    rows, wall, cpu = [], [], []
    for c in cars:
        t, tc = time.perf_counter(), time.process_time()
        r = verify_images(
            before, after, c["before_bbox_xyxy_px"], "vehicle", detector, settings.verify,
            before_camera=cam_b, after_camera=cam_a, after_detections=None if detector is not None else dets,
        )
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - tc)
        v = r.verification
        rows.append((c["id"], c["expected"], str(v.verdict), v.inconclusive_reason, v.registration, v.confidence))
        if evidence_dir is not None and r.crops is not None:
            write_evidence(evidence_dir / f"real-{c['id']}.jpg", evidence_image(r.crops, v, title=f"{c['id']} expected {c['expected']}"))
    conf = Counter((e, g) for _, e, g, *_ in rows if e is not None)
    return {
        "cases": len(rows),
        "scored": sum(conf.values()),
        "correct": sum(n for (e, g), n in conf.items() if e == g),
        "confusion": {f"{e} -> {g}": n for (e, g), n in sorted(conf.items())},
        "wall_s_median": float(np.median(wall)),
        "wall_s_p95": float(np.percentile(wall, 95)),
        "cpu_s_median": float(np.median(cpu)),
        "poses": cam_b is not None,
        "detector": f"ONNX {settings.detect.model or 'models/patrol.onnx'}" if detector is not None else "labelled boxes of DJI_0031",
        "rows": rows,
    }


def bench_sim(seeds: list[int], detector: str, evidence_dir: Path | None) -> dict:
    from patrol.verify.simcheck import SimReport, run_seed

    rep = SimReport()
    t = time.perf_counter()
    for s in seeds:
        run_seed(s, detector=detector, report=rep, evidence_dir=str(evidence_dir) if evidence_dir else None)
    out: dict = {"seeds": seeds, "detector": detector, "seconds_total": round(time.perf_counter() - t, 1)}
    for kind in ("problem", "legal_car"):
        conf = rep.confusion(kind)
        out[kind] = {
            "cases": sum(conf.values()),
            "accuracy": round(rep.accuracy(kind), 3),
            "false_fixed": rep.false_fixed(kind),
            "confusion": {f"{e} -> {g}": n for (e, g), n in sorted(conf.items())},
        }
    secs = [c.seconds for c in rep.cases]
    out["wall_s_median"] = float(np.median(secs)) if secs else None
    out["registration"] = dict(Counter(c.registration for c in rep.cases))
    return out


def bench_pairs(split: str, work: Path) -> dict:
    """``patrol compare`` on every scored spot, then two ``process_flight`` runs (before, after)."""
    import dataclasses
    import shutil

    from patrol.config import Settings
    from patrol.detect import load_detector
    from patrol.pipeline import process_flight
    from patrol.store import open_store
    from patrol.verify import realpairs as rp
    from patrol.zones import load_zones

    if not DATA.is_dir():
        return {"skipped": f"{DATA} not found"}
    chosen = rp.TUNE_PAIRS if split == "tune" else rp.SCORE_PAIRS
    pairs = [rp.build_pair(DATA, *x) for x in chosen]
    settings = Settings()
    sensitive = load_detector(dataclasses.replace(settings.detect, confidence=settings.verify.detect_confidence))
    out = work / f"pairs-{split}"
    shutil.rmtree(out, ignore_errors=True)
    photos, zpath = rp.write_flights(pairs, out)
    t = time.perf_counter()
    cmp = rp.score_compare(pairs, photos, settings, sensitive)
    per_case = (time.perf_counter() - t) / max(1, len(cmp.rows))
    with open_store(out / "patrol.db") as store:
        zones = load_zones(zpath)
        det = load_detector(settings.detect)
        process_flight([out / "before"], settings, store, det, None, zones=zones)
        first = store.list_cases()
        process_flight([out / "after"], settings, store, det, None, zones=zones)
        two = rp.score_two_flights(pairs, photos, first, {c.case_id: str(c.status) for c in store.list_cases()})
    return {
        "split": split, "pairs": [p.name for p in pairs], "truth": rp.summary(pairs),
        "compare": cmp.line(), "compare_s_per_case": round(per_case, 3), "two_flights": two.line(),
        "wrong": [(r.pair, r.index, r.expected, r.got, r.reason) for r in cmp.rows if r.expected != r.got],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default="", help="comma-separated simulator seeds (empty = skip)")
    ap.add_argument("--sim-detector", default="truth,missing,none", help="truth | missing (30%% misses) | none, comma-separated")
    ap.add_argument("--onnx", action="store_true", help="re-run the bundled detector on the real pair's after crops")
    ap.add_argument("--model", default="", help="with --onnx: this model file instead of models/patrol.onnx")
    ap.add_argument("--threads", type=int, default=0, help="OpenCV threads (0 = its default)")
    ap.add_argument("--evidence", type=Path, default=None, help="write evidence images here")
    ap.add_argument("--pairs", default="", help="tune | score: real video pairs (compare + two flights)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/patrol-bench-verify"), help="folder for the pairs' photos")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.threads:
        cv2.setNumThreads(a.threads)
    res = {"real": bench_real(a.onnx, a.evidence, a.model)}
    if a.pairs:
        res["pairs"] = bench_pairs(a.pairs, a.work)
    if a.sim:
        seeds = [int(s) for s in a.sim.split(",") if s]
        res["sim"] = [bench_sim(seeds, d, a.evidence) for d in a.sim_detector.split(",") if d]
    if a.json:
        print(json.dumps(res, indent=1, default=str))
        return 0
    r = res["real"]
    if "skipped" in r:
        print("real pair:", r["skipped"])
    else:
        print(f"real pair DJI_0019 -> DJI_0031: {r['correct']}/{r['scored']} correct ({r['cases']} cases, poses={r['poses']}, detections: {r['detector']})")
        print(f"  time per case: wall median {r['wall_s_median']:.3f} s, p95 {r['wall_s_p95']:.3f} s; CPU median {r['cpu_s_median']:.3f} s")
        for k, n in r["confusion"].items():
            print(f"  {k}: {n}")
    if "pairs" in res:
        pr = res["pairs"]
        if "skipped" in pr:
            print("real video pairs:", pr["skipped"])
        else:
            print(f"real video pairs ({pr['split']}: {', '.join(pr['pairs'])}; truth {pr['truth']})")
            print(f"  patrol compare: {pr['compare']} ({pr['compare_s_per_case']:.2f} s a case, detector included)")
            print(f"  two flights: {pr['two_flights']}")
            for w in pr["wrong"]:
                print(f"  wrong: {w}")
    for s in res.get("sim", []):
        print(f"sim seeds {s['seeds']} detector={s['detector']}: wall median {s['wall_s_median']:.3f} s/case, registration {s['registration']}")
        for kind in ("problem", "legal_car"):
            k = s[kind]
            print(f"  {kind}: {k['cases']} cases, accuracy {k['accuracy']:.3f}, false fixed {k['false_fixed']}: {k['confusion']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
