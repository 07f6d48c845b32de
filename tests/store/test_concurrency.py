"""Two writers on one SQLite file: stages serialize, so two flights that see the same objects at the
same time never open the same case twice."""

from __future__ import annotations

import threading

from patrol.cases.service import update_cases
from patrol.store import open_store
from tests.cases.helpers import T0, finding

N = 300


def test_two_concurrent_cases_stages_do_not_duplicate_cases(tmp_path) -> None:
    db = tmp_path / "shared.db"
    per_flight = {
        fid: [finding(f"{fid}-{i}", "exposed_garbage", (i % 20) * 20.0 + k, (i // 20) * 20.0) for i in range(N)]
        for k, fid in enumerate(("A", "B"))
    }
    with open_store(db) as s:
        for fid, fs in per_flight.items():
            s.begin_flight(fid, name=fid, source="-", n_files=1)
            s.save_findings(fid, fs)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(fid: str) -> None:
        try:
            with open_store(db) as s:
                start.wait()
                update_cases(s, fid, per_flight[fid], radius_m=5, at=T0)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(fid,)) for fid in per_flight]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with open_store(db) as s:
        cases = s.list_cases()
        assert len(cases) == N and all(c.observations == 2 for c in cases)
        assert s.stage_done("A", "cases") and s.stage_done("B", "cases")
