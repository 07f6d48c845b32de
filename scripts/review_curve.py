#!/usr/bin/env python3
"""How many reviews it takes to cut the false-positive rate: the review-to-training loop on the demo.

1. The demo's before flight (sim seed 7) is processed with the bundled model into OUT/train.db.
2. For each review count N: a copy of that database gets its first N cases reviewed by
   ``patrol.office.simreview`` (a perfect reviewer answering from the simulator's truth), and
   ``patrol train --from-reviews DB --init models/patrol.pt`` fine-tunes the bundled model on them, next to
   a little synthetic data (``--sim-worlds 2``: crops of sim worlds 1000 and 1001, the bundled model's own
   sim train and val cities; 1001 stays the validation that chooses the operating points), for
   ``--time-min`` minutes. N=0 is that fine-tune without reviews (what fine-tuning alone does); the
   bundled model itself is the other baseline.
3. A held-out flight of another city (never trained on nor used to choose anything; ``--heldout-frames``
   evenly spaced photos of it, since a 4000x3000 photo takes a minute on a busy 2-core CPU) is processed
   with every model; its cases are scored against its truth by ``patrol.office.simreview.score_flight``:
   false-positive rate (false-positive cases / cases), overall and per category, and recall (true
   problems found), so that fewer false positives bought with missed problems shows.

Every step is skipped when its output exists (re-running continues). Prints a table and one JSON line;
writes OUT/results.json.

    nice -n 5 .venv/bin/python scripts/review_curve.py --reviews 0,10,25,all --time-min 8
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from patrol.office.simreview import FlightScore  # noqa: E402

CATEGORIES = ("road_damage", "street_vending", "exposed_garbage", "illegal_parking")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ensure_flight(folder: Path, seed: int, frames: int) -> Path:
    """A simulated before flight (the demo's spec) of city ``seed`` in ``folder``, generated once."""
    from patrol.sim.flight import FlightSpec, run_flight

    if not (folder / "truth.json").is_file():
        log(f"generating sim flight seed {seed} ({frames} photos) in {folder}")
        run_flight(folder, FlightSpec(seed=seed, frames=frames, scenario="before"))
    return folder


def process(flight: Path, db: Path, model: Path | None) -> list[Any]:
    """Process ``flight`` into a new database ``db`` with ``model`` (None = bundled), as the demo does
    (demo settings, the flight's zones); return the cases it opened."""
    import dataclasses

    from patrol.config import load_settings
    from patrol.demo import demo_settings
    from patrol.detect import load_detector
    from patrol.pipeline import process_flight
    from patrol.store import open_store
    from patrol.zones import load_zones

    settings = demo_settings(load_settings(None))
    if model is not None:
        settings = dataclasses.replace(settings, detect=dataclasses.replace(settings.detect, model=str(model)))
    done = db.with_name(db.name + ".done")
    if not done.is_file():  # processed whole, or redone from scratch
        t0 = time.monotonic()
        db.parent.mkdir(parents=True, exist_ok=True)
        for p in db.parent.glob(db.name + "*"):
            p.unlink()
        with open_store(db) as store:
            process_flight([flight], settings, store, lambda: load_detector(settings.detect),
                           zones=load_zones(flight / "zones.geojson"))
        done.write_text("", encoding="utf-8")
        log(f"processed {flight.name} with {model or 'the bundled model'} in {(time.monotonic() - t0) / 60:.1f} min -> {db}")
    with open_store(db, create=False) as store:
        return list(store.list_cases())


def copy_db(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def with_confidences(model: Path, like: Path, out: Path) -> Path:
    """A copy of ``model`` carrying the operating points (confidence metadata) of ``like``."""
    import onnx

    from patrol.train.export import add_metadata

    if not out.is_file():
        meta = {p.key: p.value for p in onnx.load(str(like), load_external_data=False).metadata_props}
        shutil.copyfile(model, out)
        add_metadata(out, {k: meta[k] for k in ("patrol_confidence", "patrol_default_confidence") if k in meta})
    return out


def confidences(model: Path) -> dict[str, float]:
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(model), load_external_data=False).metadata_props}
    return json.loads(meta.get("patrol_confidence", "{}"))


def subset_flight(src: Path, dst: Path, k: int) -> Path:
    """``k`` evenly spaced photos of the flight ``src`` in ``dst`` (hard links), with its zones and its
    truth cut to those photos (so only problems they show count)."""
    truth = json.loads((src / "truth.json").read_text(encoding="utf-8"))
    frames = truth["frames"]
    if k <= 0 or k >= len(frames):
        return src
    if not (dst / "truth.json").is_file():
        dst.mkdir(parents=True, exist_ok=True)
        keep = [frames[int(i * len(frames) / k)] for i in range(k)]
        for f in keep:
            if not (dst / f["file"]).exists():
                try:
                    os.link(src / f["file"], dst / f["file"])
                except OSError:
                    shutil.copyfile(src / f["file"], dst / f["file"])
        shutil.copyfile(src / "zones.geojson", dst / "zones.geojson")
        (dst / "truth.json").write_text(json.dumps({**truth, "frames": keep}), encoding="utf-8")
    return dst


def train_cmd(args: argparse.Namespace, db: Path, n: int, out: Path) -> list[str]:
    cmd = ["train", "--from-reviews", str(db), "--init", str(REPO / "models" / "patrol.pt"), "--out", str(out),
           "--time-min", f"{args.time_min:g}", "--sim-worlds", str(args.sim_worlds), "--sim-crops", str(args.sim_crops),
           "--val-group", f"simworld:{1000 + args.sim_worlds - 1}"]
    if n > 0 and args.oversample_reviews > 1:
        cmd += ["--oversample", f"reviews={args.oversample_reviews}"]
    return cmd + ["--note", f"scripts/review_curve.py: {n} simulated reviews of the demo's before flight"]


def fine_tune(args: argparse.Namespace, train_db: Path, n: int) -> tuple[Path, dict[str, int], float]:
    """Review the first ``n`` cases of a copy of ``train_db`` and fine-tune on it; (onnx, review counts, minutes)."""
    from patrol.office.simreview import simulate_reviews, truth_problems
    from patrol.sim.truth import load_truth
    from patrol.store import open_store

    folder = args.out / f"n{n}"
    db, model_dir = folder / "reviews.db", folder / "model"
    done = folder / "reviews.json"
    if not done.is_file():
        if db.exists():
            db.unlink()
        copy_db(train_db, db)
        with open_store(db, create=False) as store:
            counts = simulate_reviews(store, truth_problems(load_truth(args.out / f"train-seed{args.train_seed}")), n)
        done.write_text(json.dumps(counts) + "\n", encoding="utf-8")
    counts = json.loads(done.read_text(encoding="utf-8"))
    onnx_path = model_dir / "patrol.onnx"
    wall = folder / "train_wall_min.txt"
    if not onnx_path.is_file():
        cmd = train_cmd(args, db, n, model_dir)
        log("training: patrol " + " ".join(cmd))
        t0 = time.monotonic()
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        with (folder / "train.log").open("w", encoding="utf-8") as f:
            subprocess.run(["nice", "-n", str(args.nice), sys.executable, "-c", "from patrol.cli import main; main()", *cmd],
                           env=env, stdout=f, stderr=subprocess.STDOUT, check=True, cwd=REPO)
        wall.write_text(f"{(time.monotonic() - t0) / 60:.1f}\n", encoding="utf-8")
        log(f"n={n}: trained in {wall.read_text().strip()} min (wall, with dataset, export and evaluation)")
    return onnx_path, counts, float(wall.read_text()) if wall.is_file() else 0.0


def score(flight: Path, cases: list[Any]) -> dict[str, FlightScore]:
    from patrol.office.simreview import score_flight, truth_problems
    from patrol.sim.truth import load_truth

    return score_flight(cases, truth_problems(load_truth(flight)))


def row(label: str, reviews: int | None, s: dict[str, FlightScore], conf: dict[str, float], epochs: int | None) -> dict:
    empty = FlightScore(0, 0, 0, 0, 0, 0)
    return {
        "model": label, "reviews": reviews, "epochs": epochs, "confidence": conf,
        **{k: {"cases": v.cases, "false_positives": v.false_positives, "wrong_category": v.wrong_category,
               "fp_rate": round(v.fp_rate, 3), "problems": v.problems, "found": v.found, "recall": round(v.recall, 3)}
           for k, v in ((k, s.get(k, empty)) for k in ("all", *CATEGORIES))},
    }


def table(rows: list[dict]) -> str:
    def f(r: dict, k: str) -> str:
        v = r[k]
        return f"{v['false_positives']}/{v['cases']} ({v['false_positives'] / v['cases'] if v['cases'] else 0.0:.2f})"

    def rec(v: dict) -> str:
        return f"{v['found'] / v['problems'] if v['problems'] else 1.0:.2f} ({v['found']}/{v['problems']})"

    head = "| model | reviews | epochs | cases | FP rate | road damage FP | vending FP | garbage FP | parking FP | recall (found/problems) | road damage recall |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        a = r["all"]
        lines.append(
            f"| {r['model']} | {'-' if r['reviews'] is None else r['reviews']} | {r['epochs'] if r['epochs'] is not None else '-'} "
            f"| {a['cases']} | {f(r, 'all')} | {f(r, 'road_damage')} | {f(r, 'street_vending')} | {f(r, 'exposed_garbage')} "
            f"| {f(r, 'illegal_parking')} | {rec(a)} | {rec(r['road_damage'])} |")
    return "\n".join(lines)


def epochs_of(model_dir: Path) -> int | None:
    m = model_dir / "metrics.json"
    return json.loads(m.read_text(encoding="utf-8")).get("epochs") if m.is_file() else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "work-data" / "review-curve", help="working folder (default work-data/review-curve)")
    ap.add_argument("--reviews", default="0,10,25,all", help="review counts to fine-tune with, comma separated; 'all' = every case (default 0,10,25,all)")
    ap.add_argument("--train-seed", type=int, default=7, help="sim city of the reviewed flight (the demo's, default 7)")
    ap.add_argument("--heldout-seed", type=int, default=11, help="sim city of the held-out flight every model is scored on (default 11)")
    ap.add_argument("--frames", type=int, default=16, help="photos per simulated flight (the demo's 16)")
    ap.add_argument("--heldout-frames", type=int, default=6, help="evenly spaced photos of the held-out flight processed (0 = all; default 6)")
    ap.add_argument("--sim-worlds", type=int, default=2, help="patrol train --sim-worlds: worlds 1000.. cut into crops next to the reviews; the last is val (default 2)")
    ap.add_argument("--sim-crops", type=int, default=40, help="patrol train --sim-crops: crops per world and scenario (default 40)")
    ap.add_argument("--time-min", type=float, default=8.0, help="training minutes per fine-tune (default 8)")
    ap.add_argument("--oversample-reviews", type=int, default=3, help="list the review tiles this many times per epoch (default 3)")
    ap.add_argument("--bundled-confidence", action="store_true",
                    help="also score each fine-tuned model at the bundled model's operating points (separates the network from its thresholds)")
    ap.add_argument("--nice", type=int, default=5, help="niceness of the training processes (default 5)")
    args = ap.parse_args(argv)
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)

    train_flight = ensure_flight(args.out / f"train-seed{args.train_seed}", args.train_seed, args.frames)
    held = ensure_flight(args.out / f"heldout-seed{args.heldout_seed}", args.heldout_seed, args.frames)
    held = subset_flight(held, args.out / f"heldout-seed{args.heldout_seed}-{args.heldout_frames}photos", args.heldout_frames)
    tag = held.name
    train_db = args.out / "train.db"
    train_cases = process(train_flight, train_db, None)
    n_all = sum(c.is_active for c in train_cases)
    train_score = score(train_flight, train_cases)["all"]
    log(f"train flight: {train_score.cases} cases, {train_score.false_positives} false positives ({train_score.fp_rate:.2f})")

    bundled = REPO / "models" / "patrol.onnx"
    rows = [row("bundled", 0, score(held, process(held, args.out / f"eval-{tag}" / "bundled.db", None)), confidences(bundled), None)]
    minutes: dict[str, float] = {}
    for item in args.reviews.split(","):
        n = n_all if item.strip() == "all" else int(item)
        onnx_path, counts, mins = fine_tune(args, train_db, n)
        if mins:
            minutes[f"n{n}"] = round(mins, 1)
        ep = epochs_of(onnx_path.parent)
        cases = process(held, args.out / f"eval-{tag}" / f"n{n}.db", onnx_path)
        rows.append(row(f"fine-tuned, {n} reviews", n, score(held, cases), confidences(onnx_path), ep))
        rows[-1]["review_verdicts"] = counts
        if args.bundled_confidence:
            alt = with_confidences(onnx_path, bundled, onnx_path.with_name("patrol-bundled-confidence.onnx"))
            cases = process(held, args.out / f"eval-{tag}" / f"n{n}-bundled-confidence.db", alt)
            rows.append(row(f"fine-tuned, {n} reviews, bundled confidences", n, score(held, cases), confidences(alt), ep))
    rows[1:] = sorted(rows[1:], key=lambda r: r["reviews"])  # stable: each model before its bundled-confidence row
    result = {"train_flight": {"seed": args.train_seed, "cases": train_score.cases, "false_positives": train_score.false_positives},
              "heldout": {"seed": args.heldout_seed, "photos": len(json.loads((held / "truth.json").read_text())["frames"])},
              "sim_worlds": args.sim_worlds, "sim_crops": args.sim_crops, "time_min": args.time_min,
              "train_wall_min": minutes, "rows": rows}
    (args.out / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(table(rows))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
