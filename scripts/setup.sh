#!/usr/bin/env bash
# Create .venv at the repository root and install patrol into it, from scratch.
#   bash scripts/setup.sh           runtime only (what `patrol demo` needs)
#   bash scripts/setup.sh --test    plus pytest and hypothesis
#   bash scripts/setup.sh --train   plus torch + ultralytics (training and export only)
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0; want_train=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    --train) want_train=1 ;;
    *) echo "setup.sh: unknown option $a (expected --test or --train)" >&2; exit 2 ;;
  esac
done
py=${PYTHON:-python3.11}
command -v "$py" >/dev/null 2>&1 || py=python3
[ -x .venv/bin/python ] || "$py" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>/dev/null || true
extras=""
[ $want_test = 1 ] && extras="test"
if [ $want_train = 1 ]; then
  # torch from this machine's local wheels; a bare `torch` would pull a huge CUDA build.
  .venv/bin/pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
  extras="${extras:+$extras,}train"
fi
if [ -n "$extras" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e ".[$extras]"
else
  .venv/bin/pip install -q --disable-pip-version-check -e .
fi
echo "patrol installed in .venv ($(.venv/bin/patrol version))" >&2
