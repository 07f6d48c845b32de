"""Nightly job: inbox scan, per-flight isolation, log, lock (also across two real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from patrol import nightly
from patrol.config import Settings
from patrol.errors import BadImage, ConfigError
from patrol.nightly import InboxLock, inbox_flights, run_nightly
from patrol.pipeline import FlightSummary
from patrol.store import open_store

REPO = Path(__file__).resolve().parents[1]


def make_inbox(root: Path, names_ages: list[tuple[str, float]], now: float) -> Path:
    inbox = root / "inbox"
    inbox.mkdir()
    for name, age_s in names_ages:
        d = inbox / name
        d.mkdir()
        f = d / "DJI_0001.JPG"
        f.write_bytes(b"\xff\xd8 fake " + name.encode())
        os.utime(f, (now - age_s, now - age_s))
    return inbox


def fake_summary(folder: Path) -> FlightSummary:
    return FlightSummary(
        flight_id=f"key-{folder.name}", name=folder.name, source=str(folder), frames_read=1, frames_failed=0,
        detections=0, findings=0, findings_by_category={}, cases_new=0, cases_reobserved=0, cases_queued=0,
    )


def test_inbox_order_oldest_first_and_arriving(tmp_path):
    now = time.time()
    inbox = make_inbox(tmp_path, [("b-flight", 3000), ("a-flight", 1000), ("c-flight", 5000), ("d-new", 5)], now)
    (inbox / ".hidden").mkdir()
    (inbox / ".hidden" / "x.jpg").write_bytes(b"x")
    (inbox / "notes").mkdir()
    (inbox / "notes" / "readme.txt").write_text("no frames here")
    (inbox / "loose.jpg").write_bytes(b"x")
    ready, waiting = inbox_flights(inbox, now=now, min_age_s=60)
    assert [p.name for p in ready] == ["c-flight", "b-flight", "a-flight"]
    assert [p.name for p in waiting] == ["d-new"]
    ready, waiting = inbox_flights(inbox, now=now, min_age_s=0)
    assert [p.name for p in ready][-1] == "d-new" and waiting == []
    with pytest.raises(ConfigError, match="inbox folder does not exist"):
        inbox_flights(tmp_path / "nope")


def test_one_failure_does_not_stop_the_others(tmp_path, monkeypatch):
    now = time.time()
    inbox = make_inbox(tmp_path, [("f1", 400), ("f2-bad", 300), ("f3-crash", 200), ("f4", 100)], now)
    calls = []

    def fake_process(paths, settings, store, detector, out_dir, **kw):
        folder = Path(paths[0])
        calls.append(folder.name)
        if folder.name == "f2-bad":
            raise BadImage(folder / "DJI_0001.JPG", "not a decodable image")
        if folder.name == "f3-crash":
            raise RuntimeError("boom")
        return fake_summary(folder)

    monkeypatch.setattr(nightly, "process_flight", fake_process)
    log = tmp_path / "logs" / "nightly.log"
    with open_store(":memory:") as store:
        res = run_nightly(inbox, Settings(), store, object(), log_path=log)
    assert calls == ["f1", "f2-bad", "f3-crash", "f4"]
    assert [s.name for s in res.processed] == ["f1", "f4"]
    assert [Path(f.folder).name for f in res.failed] == ["f2-bad", "f3-crash"]
    assert "not a decodable image" in res.failed[0].error and "RuntimeError: boom" in res.failed[1].error
    assert res.exit_code == 1
    text = log.read_text()
    assert "f2-bad: FAILED: " in text and "not a decodable image" in text
    assert "Traceback" in text and "boom" in text  # unexpected errors keep their traceback in the log
    assert "end: 2 processed, 2 failed" in text


def test_all_ok_exit_0_and_done_flights_skipped_without_processing(tmp_path, monkeypatch):
    now = time.time()
    inbox = make_inbox(tmp_path, [("old", 400), ("new", 100)], now)
    calls = []
    monkeypatch.setattr(nightly, "process_flight", lambda paths, *a, **k: calls.append(Path(paths[0]).name) or fake_summary(Path(paths[0])))
    with open_store(":memory:") as store:
        store.begin_flight("k-old", name="old", source=str((inbox / "old").resolve()), n_files=1)
        store.finish_flight("k-old", status="done", summary={})
        res = run_nightly(inbox, Settings(), store, object())
    assert calls == ["new"]
    assert res.exit_code == 0 and [Path(p).name for p in res.already_done] == ["old"]
    assert (inbox / "patrol-nightly.log").exists()


def test_lock_held_exits_without_work_or_waits(tmp_path, monkeypatch):
    inbox = make_inbox(tmp_path, [("f1", 100)], time.time())
    calls = []
    monkeypatch.setattr(nightly, "process_flight", lambda paths, *a, **k: calls.append(1) or fake_summary(Path(paths[0])))
    holder = InboxLock(inbox / nightly.LOCK_NAME)
    assert holder.acquire(wait=False)
    try:
        with open_store(":memory:") as store:
            res = run_nightly(inbox, Settings(), store, object())
        assert res.locked and calls == [] and res.exit_code == 0
        assert f"pid {os.getpid()}" in res.lines()[0] and "another patrol nightly is running" in res.lines()[0]
        timer = threading.Timer(0.3, holder.release)
        timer.start()
        t0 = time.monotonic()
        with open_store(":memory:") as store:
            res = run_nightly(inbox, Settings(), store, object(), wait=True)
        assert time.monotonic() - t0 >= 0.25
        assert not res.locked and calls == [1]
    finally:
        holder.release()


# Two real processes started together: each flight processed exactly once.
RUNNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from patrol import nightly
    from patrol.config import Settings
    from patrol.store import open_store

    inbox, db, record, wait = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "wait"

    def fake_process(paths, settings, store, detector, out_dir, **kw):
        folder = Path(paths[0]).resolve()
        with open(record, "a") as fh:
            fh.write(folder.name + "\\n")
        time.sleep(0.4)
        with store.transaction():
            store.begin_flight("k-" + folder.name, name=folder.name, source=str(folder), n_files=1)
            store.finish_flight("k-" + folder.name, status="done", summary={})
        from patrol.pipeline import FlightSummary
        return FlightSummary("k-" + folder.name, folder.name, str(folder), 1, 0, 0, 0, {}, 0, 0, 0)

    nightly.process_flight = fake_process
    with open_store(db) as store:
        res = nightly.run_nightly(inbox, Settings(), store, object(), wait=wait)
    print("LOCKED" if res.locked else f"PROCESSED {len(res.processed)}")
    """
)


@pytest.mark.parametrize("mode", ["wait", "nowait"])
def test_two_runs_at_once_process_each_flight_once(tmp_path, mode):
    inbox = make_inbox(tmp_path, [("f1", 300), ("f2", 200), ("f3", 100)], time.time())
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    db, record = tmp_path / "p.db", tmp_path / "record.txt"
    open_store(db).close()  # create the schema once, so both start on an existing database
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, str(script), str(inbox), str(db), str(record), mode], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(record.read_text().split()) == ["f1", "f2", "f3"]
    if mode == "wait":
        assert sorted(outs) == ["PROCESSED 0", "PROCESSED 3"]
    else:
        assert sorted(outs) in (["LOCKED", "PROCESSED 3"], ["PROCESSED 0", "PROCESSED 3"])


def test_cli_nightly_errors_and_lock_message(tmp_path):
    from typer.testing import CliRunner

    from patrol.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["nightly", "--inbox", str(tmp_path / "missing"), "--db", str(tmp_path / "p.db")])
    assert r.exit_code == 2
    assert "inbox folder does not exist" in r.output
    inbox = make_inbox(tmp_path, [("f1", 100)], time.time())
    holder = InboxLock(inbox / nightly.LOCK_NAME)
    assert holder.acquire(wait=False)
    try:
        r = runner.invoke(app, ["nightly", "--inbox", str(inbox), "--db", str(tmp_path / "p.db")])
    finally:
        holder.release()
    assert r.exit_code == 0
    assert "another patrol nightly is running" in r.output


def test_nightly_end_to_end_on_generated_flights(tmp_path, monkeypatch):
    from tests.pipeline_world import BoxDetector, install, make_flight, write_zones
    from patrol.zones import load_zones

    inbox = tmp_path / "inbox"
    a = make_flight(inbox / "2026-05-04-a", seed=1)
    b = make_flight(inbox / "2026-05-05-a", seed=2)
    c = inbox / "2026-05-06-broken"
    c.mkdir()
    (c / "DJI_0001.JPG").write_bytes(b"not a jpeg")
    now = time.time()
    for age, d in ((300, a.folder), (200, b.folder), (100, c)):
        for f in d.iterdir():
            os.utime(f, (now - age, now - age))
    install([a, b], monkeypatch)
    zones = load_zones(write_zones(tmp_path / "zones.geojson"))
    det = BoxDetector([a, b])
    db = tmp_path / "p.db"
    with open_store(db) as store:
        res = run_nightly(inbox, Settings(), store, lambda: det, zones=zones, out_dir=tmp_path / "out")
    assert [s.name for s in res.processed] == ["2026-05-04-a", "2026-05-05-a"]
    assert (tmp_path / "out" / "cases" / "index.html").is_file()  # the case board, refreshed after the flights
    assert (tmp_path / "out" / "2026-05-04-a" / "index.html").is_file()
    assert [Path(f.folder).name for f in res.failed] == ["2026-05-06-broken"]
    assert "no frame could be read" in res.failed[0].error or "no photos" in res.failed[0].error
    assert res.exit_code == 1
    assert res.processed[0].cases_new == 5 and res.processed[1].cases_reobserved == 5
    calls = det.calls
    with open_store(db) as store:
        dump = store.dump()
        res2 = run_nightly(inbox, Settings(), store, lambda: det, zones=zones)
        assert store.dump() == dump
    assert res2.processed == () and len(res2.already_done) == 2 and det.calls == calls
    assert [Path(f.folder).name for f in res2.failed] == ["2026-05-06-broken"]  # retried, still broken


# The same with the real pipeline in both processes, on one SQLite database.
REAL_RUNNER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[5])
    from tests.pipeline_world import BoxDetector, install, make_flight
    from patrol import nightly
    from patrol.config import Settings
    from patrol.store import open_store

    inbox, db, record, wait = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "wait"
    flights = [make_flight(inbox / name, seed=i + 1, write=False) for i, name in enumerate(["f1", "f2", "f3"])]
    install(flights)

    class Recording(BoxDetector):
        def detect_path(self, path, image):
            with open(record, "a") as fh:
                fh.write(Path(path).parent.name + " " + Path(path).name + "\\n")
            return super().detect_path(path, image)

    with open_store(db) as store:
        res = nightly.run_nightly(inbox, Settings(), store, Recording(flights, delay_s=0.02), wait=wait)
    print("LOCKED" if res.locked else f"PROCESSED {len(res.processed)} FAILED {len(res.failed)}")
    """
)


def test_two_real_runs_at_once_process_each_frame_once(tmp_path):
    from tests.pipeline_world import make_flight

    inbox = tmp_path / "inbox"
    for i, name in enumerate(["f1", "f2", "f3"]):
        make_flight(inbox / name, seed=i + 1)
    script = tmp_path / "runner.py"
    script.write_text(REAL_RUNNER)
    db, record = tmp_path / "p.db", tmp_path / "record.txt"
    open_store(db).close()
    procs = [
        subprocess.Popen([sys.executable, str(script), str(inbox), str(db), str(record), "wait", str(REPO)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = sorted(p.communicate(timeout=120)[0].strip() for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert outs == ["PROCESSED 0 FAILED 0", "PROCESSED 3 FAILED 0"]
    lines = record.read_text().splitlines()
    assert len(lines) == len(set(lines)) == 30  # every frame of every flight detected exactly once
    with open_store(db) as store:
        assert sorted(f.status for f in store.list_flights()) == ["done"] * 3
        # no zones: vendor stall, garbage and pothole are cases (vehicles only counted); opened once
        assert sorted(c.observations for c in store.list_cases()) == [3, 3, 3]


def test_a_relative_inbox_path_is_processed_like_an_absolute_one(tmp_path, monkeypatch):
    """`patrol nightly --inbox inbox` (relative) once left every folder "still arriving": the scan
    kept relative file paths and the re-check before each flight used the resolved ones."""
    now = time.time()
    make_inbox(tmp_path, [("f1", 400), ("f2", 100)], now)
    calls = []
    monkeypatch.setattr(nightly, "process_flight", lambda paths, *a, **k: calls.append(Path(paths[0]).name) or fake_summary(Path(paths[0])))
    monkeypatch.chdir(tmp_path)
    with open_store(":memory:") as store:
        res = run_nightly(Path("inbox"), Settings(), store, object())
    assert calls == ["f1", "f2"]
    assert [s.name for s in res.processed] == ["f1", "f2"]
    assert res.waiting == ()
    assert res.exit_code == 0
