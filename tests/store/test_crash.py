"""kill -9 in the middle of the cases stage: the rerun finishes with nothing lost and nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from patrol.cases.service import update_cases
from patrol.store import open_store
from tests.cases.helpers import REPO_ROOT, T0, finding

N = 3000

CHILD = textwrap.dedent(
    f"""
    import sys
    sys.path.insert(0, {str(REPO_ROOT)!r})
    from patrol.cases.service import update_cases
    from patrol.store import open_store
    from tests.cases.helpers import T0, finding
    fs = [finding(f"f{{i}}", "exposed_garbage", (i % 60) * 20.0, (i // 60) * 20.0) for i in range({N})]
    s = open_store(sys.argv[1])
    print("start", flush=True)
    update_cases(s, "F1", fs, radius_m=5, at=T0)
    print("done", flush=True)
    """
)


@pytest.mark.parametrize("delay_s", [0.05, 0.3])
def test_kill_9_mid_stage_then_rerun(tmp_path, delay_s) -> None:
    db = tmp_path / "crash.db"
    fs = [finding(f"f{i}", "exposed_garbage", (i % 60) * 20.0, (i // 60) * 20.0) for i in range(N)]
    with open_store(db) as s:
        s.begin_flight("F1", name="f", source="/x", n_files=1)
        s.save_findings("F1", fs)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "start"
    time.sleep(delay_s)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with open_store(db) as s:
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        done_before = s.stage_done("F1", "cases")
        n_before = len(s.list_cases())
        assert n_before in (0, N)  # all or nothing
        assert done_before == (n_before == N)
        update_cases(s, "F1", fs, radius_m=5, at=T0)  # the rerun
        assert len(s.list_cases()) == N
        linked = s.conn.execute("SELECT count(DISTINCT case_id), count(*) FROM findings WHERE case_id IS NOT NULL").fetchone()
        assert tuple(linked) == (N, N)
        assert s.conn.execute("SELECT count(*) FROM case_events").fetchone()[0] == N
