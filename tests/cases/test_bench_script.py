"""scripts/bench_cases.py runs (at a small size) and reports the target."""

from __future__ import annotations

import subprocess
import sys

from tests.cases.helpers import REPO_ROOT


def test_bench_script_small() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "bench_cases.py"), "--cases", "5000", "--findings", "200", "--repeat", "1", "--store"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "target < 1 s: OK" in out.stdout and "cases stage on SQLite" in out.stdout
