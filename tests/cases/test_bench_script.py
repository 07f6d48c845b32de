"""scripts/bench_cases.py runs (at a small size) and prints what it measured, consistently.

No timing is asserted (a machine's speed is not a test result): the script may say the target was
missed, but then it must also exit 1, and its counts must add up and agree between the in-memory
matching and the cases stage on SQLite.
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests.cases.helpers import REPO_ROOT

N_CASES, N_FINDINGS = 5000, 200
NUM = r"(\d+\.\d+)"
BUILT = re.compile(rf"^built (\d+) cases and (\d+) findings in {NUM} s$", re.M)
MATCH = re.compile(
    rf"^match (\d+) findings x (\d+) open cases: median {NUM} s, best {NUM} s "
    r"\((\d+) joined a case, (\d+) new\) — target < 1 s: (OK|MISSED)$",
    re.M,
)
STORE = re.compile(rf"^cases stage on SQLite: {NUM} s  \(new (\d+), re-observed (\d+)\)$", re.M)


def test_bench_script_small() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "bench_cases.py"), "--cases", str(N_CASES),
         "--findings", str(N_FINDINGS), "--repeat", "1", "--store"],
        capture_output=True, text=True, timeout=120,
    )
    report = f"stdout:\n{out.stdout}\nstderr:\n{out.stderr}"
    built, match, store = BUILT.search(out.stdout), MATCH.search(out.stdout), STORE.search(out.stdout)
    assert built and match and store, f"a report line is missing or changed shape\n{report}"
    assert "Traceback" not in out.stderr, report
    # the exit status follows the printed verdict, whatever the verdict is
    assert out.returncode == (0 if match[7] == "OK" else 1), report

    assert (int(built[1]), int(built[2])) == (N_CASES, N_FINDINGS)
    assert (int(match[1]), int(match[2])) == (N_FINDINGS, N_CASES)
    assert float(match[3]) >= float(match[4])  # median of the runs, never below the best
    joined, new = int(match[5]), int(match[6])
    assert joined + new == N_FINDINGS and joined > 0, "every finding joins a case or opens one; some re-observe"
    # the cases stage on SQLite makes the same decisions as the in-memory matching it timed
    assert (int(store[2]), int(store[3])) == (new, joined), report
