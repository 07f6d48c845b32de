"""Faults made to really happen, through the real CLI in a subprocess: a database locked by another
process, a corrupt database, a read-only disk, a full disk, SIGTERM mid-flight, a file still being
copied, a symlink loop, an unreadable folder. Each: one clear line, the documented exit code, nothing
committed half-way, and a rerun finishes the job."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from patrol.nightly import InboxLock
from patrol.store import open_store
from tests.ingest.jpeggen import ASCII, RATIONAL, SHORT, build_tiff, dji_xmp, gps_entries, make_jpeg

REPO = Path(__file__).resolve().parents[1]
RUNNER = REPO / "tests" / "fault_cli.py"


def make_frames(folder: Path, n: int = 3, start: int = 0, lat: float = 38.0, lon: float = 114.5) -> Path:
    """``n`` real DJI Mini 2 JPEGs (EXIF GPS + drone-dji XMP, nadir from 10 m, 640x480)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        tiff = build_tiff(
            [(0x010F, ASCII, "DJI"), (0x0110, ASCII, "FC7303")],
            [(0x9003, ASCII, f"2026:05:06 07:{i // 60:02d}:{i % 60:02d}"), (0x920A, RATIONAL, [(449, 100)]), (0xA405, SHORT, [24])],
            gps_entries(lat + i * 1e-5, lon, 110.0),
        )
        xmp = dji_xmp({"RelativeAltitude": "+10.00", "GimbalYawDegree": "0.0", "GimbalPitchDegree": "-90.0",
                       "GimbalRollDegree": "0.0", "FlightYawDegree": "0.0"})
        (folder / f"DJI_{i:04d}.JPG").write_bytes(make_jpeg(tiff, xmp, w=640, h=480))
    return folder


def patrol(*args: str, env: dict | None = None, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    e = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, str(RUNNER), *args], capture_output=True, text=True, env=e, timeout=timeout, **kw)


def one_error_line(r: subprocess.CompletedProcess, *needles: str) -> str:
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    hits = [ln for ln in lines if all(n in ln for n in needles)]
    assert len(hits) == 1, (needles, r.stderr)
    return hits[0]


def config(tmp: Path, text: str) -> Path:
    p = tmp / "patrol.toml"
    p.write_text(text)
    return p


def flights_in(db: Path) -> list[tuple[str, str]]:
    c = sqlite3.connect(db)
    try:
        return [(r[0], r[1]) for r in c.execute("SELECT name, status FROM flights ORDER BY name")]
    finally:
        c.close()


# --- a tmpfs of a given size (a real small disk) ----------------------------------------------------


@pytest.fixture
def small_disk(tmp_path) -> Iterator[callable]:
    mounted: list[Path] = []

    def mount(name: str, size: str) -> Path:
        p = tmp_path / name
        p.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(p)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a size-limited tmpfs here ({r.stderr.strip() or 'mount failed'}): needs root with CAP_SYS_ADMIN")
        mounted.append(p)
        return p

    yield mount
    for p in reversed(mounted):
        subprocess.run(["umount", "-l", str(p)], capture_output=True)


def remount(p: Path, opts: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{opts}", str(p)], check=True, capture_output=True)


def fill(disk: Path) -> Path:
    """Fill the disk to the last byte with one file; returns it (delete it to free the space)."""
    filler = disk / "filler.bin"
    with open(filler, "wb", buffering=0) as fh:
        for chunk in (65536, 4096, 512, 1):
            try:
                while True:
                    fh.write(b"\0" * chunk)
            except OSError:
                continue
    return filler


# --- the database ----------------------------------------------------------------------------------


def test_database_locked_by_another_process(tmp_path):
    flight = make_frames(tmp_path / "f1")
    db = tmp_path / "p.db"
    open_store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], isolation_level=None); "
         "c.execute('BEGIN IMMEDIATE'); c.execute('CREATE TABLE held(x)'); print('held', flush=True); sys.stdin.read()", str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        cfg = config(tmp_path, "[store]\nbusy_timeout_s = 0.5\n")
        t = time.monotonic()
        r = patrol("process", str(flight), "--db", str(db), "--config", str(cfg))
        assert r.returncode == 1
        line = one_error_line(r, str(db), "database is locked", "busy timeout (0.5 s, store.busy_timeout_s)")
        assert line.startswith("error: ")
        assert time.monotonic() - t < 60
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert flights_in(db) == []  # nothing committed half-way
    r = patrol("process", str(flight), "--db", str(db), "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert flights_in(db) == [("f1", "done")]


def test_corrupt_database_files(tmp_path):
    flight = make_frames(tmp_path / "f1")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 500)
    r = patrol("process", str(flight), "--db", str(junk))
    assert r.returncode == 1
    one_error_line(r, str(junk), "the database file is corrupt")
    # a real database with damaged pages: found at open, before any stage reads half of it
    db = tmp_path / "p.db"
    assert patrol("process", str(flight), "--db", str(db)).returncode == 0
    data = bytearray(db.read_bytes())
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    page = 4096
    for k in range(2 * page, len(data), 3 * page):
        data[k + 8 : k + page] = os.urandom(page - 8)
    db.write_bytes(bytes(data))
    r = patrol("process", str(make_frames(tmp_path / "f2")), "--db", str(db))
    assert r.returncode == 1
    one_error_line(r, str(db), "corrupt")
    # the rerun, on a new database once the damaged one is moved away, finishes the job
    db.rename(tmp_path / "p.db.damaged")
    assert patrol("process", str(tmp_path / "f2"), "--db", str(db)).returncode == 0
    assert flights_in(db) == [("f2", "done")]


def test_database_on_a_read_only_disk(tmp_path, small_disk):
    disk = small_disk("ro", "8m")
    db = disk / "p.db"
    assert patrol("process", str(make_frames(tmp_path / "f1")), "--db", str(db)).returncode == 0
    remount(disk, "ro")
    f2 = make_frames(tmp_path / "f2", start=10)
    r = patrol("process", str(f2), "--db", str(db))
    assert r.returncode == 1
    one_error_line(r, str(db), "not writable (read-only disk or permissions)")
    remount(disk, "rw")
    assert flights_in(db) == [("f1", "done")]
    r = patrol("process", str(f2), "--db", str(db))
    assert r.returncode == 0, r.stderr
    assert flights_in(db) == [("f1", "done"), ("f2", "done")]


def test_database_on_a_full_disk(tmp_path, small_disk):
    disk = small_disk("full", "1m")
    db = disk / "p.db"
    open_store(db).close()
    filler = fill(disk)
    # leave room to open the database (its 32 KB -shm) but not for the flight's writes
    os.truncate(filler, max(0, filler.stat().st_size - 80 * 1024))
    flight = make_frames(tmp_path / "f1", n=30)
    r = patrol("process", str(flight), "--db", str(db))
    assert r.returncode == 1, r.stderr
    line = one_error_line(r, str(db))
    assert "disk is full" in line or "the disk failed to read or write (full" in line, line
    filler.unlink()
    assert flights_in(db) in ([], [("f1", "processing")])  # no stage committed half-way
    r = patrol("process", str(flight), "--db", str(db))
    assert r.returncode == 0, r.stderr
    assert flights_in(db) == [("f1", "done")]


def test_reports_on_a_full_disk(tmp_path, small_disk):
    out = small_disk("out", "256k")
    filler = fill(out)
    flight = make_frames(tmp_path / "f1")
    db = tmp_path / "p.db"
    r = patrol("process", str(flight), "--db", str(db), "--out", str(out / "f1"))
    assert r.returncode == 1
    one_error_line(r, "cannot write the flight's reports", "No space left on device")
    assert not (out / "f1" / "index.html").exists()  # never half a page
    assert flights_in(db) == [("f1", "failed")]
    filler.unlink()
    r = patrol("process", str(flight), "--db", str(db), "--out", str(out / "f1"))
    assert r.returncode == 0, r.stderr
    html = (out / "f1" / "index.html").read_text()
    assert html.rstrip().endswith("</html>")
    assert flights_in(db) == [("f1", "done")]


# --- the nightly job -------------------------------------------------------------------------------


def _markers(db: Path) -> int:
    try:
        c = sqlite3.connect(db, timeout=5)
        try:
            return c.execute("SELECT count(*) FROM flight_stages WHERE stage LIKE 'detect:%'").fetchone()[0]
        finally:
            c.close()
    except sqlite3.Error:
        return 0


def test_sigterm_mid_flight_stops_at_a_frame_boundary_and_resumes(tmp_path):
    inbox = tmp_path / "inbox"
    make_frames(inbox / "f1", n=8)
    db, record = tmp_path / "p.db", tmp_path / "record.txt"
    open_store(db).close()
    e = {**os.environ, "PYTHONPATH": str(REPO), "PATROL_TEST_DELAY_S": "0.4", "PATROL_TEST_RECORD": str(record)}
    proc = subprocess.Popen([sys.executable, str(RUNNER), "nightly", "--inbox", str(inbox), "--db", str(db), "--min-age", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    deadline = time.monotonic() + 90
    while _markers(db) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    t = time.monotonic()
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - t < 5  # the next frame boundary, not the end of the flight
    assert proc.returncode == 143, (out, err)
    assert "Traceback" not in out + err
    assert "stopped by SIGTERM at a frame boundary" in out
    done_first = _markers(db)
    assert 2 <= done_first < 8
    assert flights_in(db) == [("f1", "processing")]
    lock = InboxLock(inbox / ".patrol-nightly.lock")
    assert lock.acquire(wait=False)  # released
    lock.release()
    assert "INTERRUPTED" in out or "stopped by SIGTERM" in (inbox / "patrol-nightly.log").read_text()
    r = patrol("nightly", "--inbox", str(inbox), "--db", str(db), "--min-age", "0", env={"PATROL_TEST_RECORD": str(record)})
    assert r.returncode == 0, r.stderr
    assert flights_in(db) == [("f1", "done")]
    lines = record.read_text().splitlines()
    assert sorted(lines) == sorted(set(lines)) and len(lines) == 8  # every frame detected exactly once


def test_a_file_still_being_copied_waits_for_the_next_night(tmp_path):
    inbox = tmp_path / "inbox"
    make_frames(inbox / "a-first", n=4)
    small = make_frames(tmp_path / "src", n=1, start=20) / "DJI_0020.JPG"
    # a big photo (noise pixels, ~1.5 MB) with the same metadata, copied slowly in chunks
    import cv2
    import numpy as np

    ok, buf = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (1200, 1600, 3), dtype=np.uint8))
    meta_segments = small.read_bytes()
    sos = meta_segments.find(b"\xff\xdb")  # the generated file's own tables start here
    src = tmp_path / "big.jpg"
    src.write_bytes(meta_segments[:sos] + buf.tobytes()[2:])
    data = src.read_bytes()
    target = inbox / "b-arriving" / "DJI_0000.JPG"
    target.parent.mkdir()
    target.write_bytes(data[:1000])
    done_flag = tmp_path / "copy-may-finish"
    # the copy goes on, 4 KB every 0.2 s, for as long as the nightly run is working; then it completes
    writer = subprocess.Popen(
        [sys.executable, "-c",
         "import os,sys,time; src=open(sys.argv[1],'rb').read(); f=open(sys.argv[2],'ab'); i=1000\n"
         "while i < len(src) and not os.path.exists(sys.argv[3]):\n"
         "    f.write(src[i:i+4096]); f.flush(); i += 4096; time.sleep(0.2)\n"
         "f.write(src[i:]); f.close()\n",
         str(src), str(target), str(done_flag)])
    db = tmp_path / "p.db"
    try:
        r = patrol("nightly", "--inbox", str(inbox), "--db", str(db), "--min-age", "0", env={"PATROL_TEST_DELAY_S": "0.5"})
    finally:
        done_flag.touch()
        writer.wait(120)
    assert r.returncode == 0, r.stderr
    assert "1 still arriving" in r.stdout
    assert [n for n, _ in flights_in(db)] == ["a-first"]  # the half-written folder was not touched
    r = patrol("nightly", "--inbox", str(inbox), "--db", str(db), "--min-age", "0")
    assert r.returncode == 0, r.stderr
    assert flights_in(db) == [("a-first", "done"), ("b-arriving", "done")]
    assert target.read_bytes() == data


def test_symlink_loops_in_the_inbox_are_one_line_each(tmp_path):
    inbox = tmp_path / "inbox"
    f1 = make_frames(inbox / "f1")
    os.symlink("loop", f1 / "loop")  # a link to itself
    os.symlink("loop2", inbox / "loop2")
    os.symlink("..", f1 / "up")  # a link back to a parent: not followed, so no endless walk
    db = tmp_path / "p.db"
    r = patrol("nightly", "--inbox", str(inbox), "--db", str(db), "--min-age", "0")
    assert r.returncode == 1
    one_error_line(r, str(f1 / "loop"), "symlink loop")
    one_error_line(r, str(inbox / "loop2"), "symlink")
    assert flights_in(db) == [("f1", "done")]  # the rest of the run completed


def _without_root_override() -> list[str]:
    """A command prefix under which permission bits hold: root keeps its uid but loses the
    capabilities that let it read any folder (setpriv, util-linux). Skips when neither applies."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): a mode-000 folder stays readable to root")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def test_an_unreadable_folder_in_the_inbox_is_one_line(tmp_path):
    """Root reads any folder, so the run drops root's DAC override capabilities (a folder with mode
    000 is then truly unreadable to it); without root the test user itself is refused."""
    prefix = _without_root_override()
    inbox = tmp_path / "inbox"
    make_frames(inbox / "good")
    make_frames(inbox / "locked", start=10)
    os.chmod(inbox / "locked", 0o000)
    db = tmp_path / "p.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [*prefix, sys.executable, str(RUNNER), "nightly", "--inbox", str(inbox), "--db", str(db), "--min-age", "0"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 1, r.stderr
        one_error_line(r, str(inbox / "locked"), "cannot read folder: Permission denied")
        assert flights_in(db) == [("good", "done")]
    finally:
        os.chmod(inbox / "locked", 0o755)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert flights_in(db) == [("good", "done"), ("locked", "done")]
