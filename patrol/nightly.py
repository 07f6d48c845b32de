"""The nightly job: process every flight folder in an inbox that is not processed yet.

- A flight is one sub-folder of the inbox (its photos/videos anywhere below it); oldest first (by its
  newest file, i.e. when it finished arriving); folders still being copied (a file younger than
  ``min_age_s``) wait for the next run.
- "Processed" means the store has the flight as ``done``: first by folder path (no hashing), then by
  content key inside ``process_flight`` (a renamed folder is recognised and skipped).
- One flight's failure is logged with its reason and the others go on.
- A lock file (``fcntl.flock``) makes concurrent runs safe: the second run exits at once with a clear
  message (or waits, with ``wait=True``), so no flight is ever processed twice at the same time.
- Every run appends to a log file. Exit code: 0 when every flight succeeded, 1 when some failed, 143
  when SIGTERM stopped it (at a frame boundary, lock released; the next run resumes).
- A folder whose files change size or time between the scan and its turn waits for the next run; an
  unreadable folder or a symlink loop is one line (and exit 1), never a crash or a silent skip.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from patrol.errors import ConfigError, Interrupted, PatrolError
from patrol.faults import StopFlag, stop_on_signals
from patrol.files import scan_tree
from patrol.pipeline import FLIGHT_SUFFIXES, FlightSummary, Progress, process_flight

LOCK_NAME = ".patrol-nightly.lock"
LOG_NAME = "patrol-nightly.log"
EXIT_INTERRUPTED = 143  # 128 + SIGTERM, the shell's convention: stopped on request, resumable


@dataclass(frozen=True)
class FlightFailure:
    folder: str
    error: str


@dataclass(frozen=True)
class NightlyResult:
    processed: tuple[FlightSummary, ...] = ()  # flights processed by this run (incl. renamed, skipped ones)
    failed: tuple[FlightFailure, ...] = ()
    already_done: tuple[str, ...] = ()  # folders known as processed, not touched
    waiting: tuple[str, ...] = ()  # folders still being copied (too recent)
    locked: bool = False  # another run held the lock: this one did nothing
    lock_holder: str = ""
    lock_path: str = ""
    log_path: str = ""
    interrupted: str = ""  # why the run stopped early (SIGTERM): the next run resumes

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return 1 if self.failed else 0

    def lines(self) -> list[str]:
        if self.locked:
            return [
                f"another patrol nightly is running ({self.lock_holder or 'lock held'}; lock {self.lock_path}): "
                "nothing done by this run"
            ]
        out = [
            f"nightly: {len(self.processed)} flight(s) processed, {len(self.failed)} failed, "
            f"{len(self.already_done)} already done, {len(self.waiting)} still arriving"
        ]
        for s in self.processed:
            out.extend(s.lines())
        for f in self.failed:
            out.append(f"FAILED {f.folder}: {f.error}")
        if self.interrupted:
            out.append(f"INTERRUPTED: {self.interrupted}")
        out.append(f"log: {self.log_path}")
        return out


def _snapshot(files: tuple[Path, ...]) -> dict[str, tuple[int, float]]:
    """(size, mtime) of each file; a file that vanished is left out (the next look sees the change)."""
    out: dict[str, tuple[int, float]] = {}
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        out[str(f)] = (st.st_size, st.st_mtime)
    return out


@dataclass(frozen=True)
class InboxFolder:
    """One flight folder as the scan saw it: its files' sizes and times, and what could not be read."""

    path: Path
    newest_mtime: float
    snapshot: dict[str, tuple[int, float]]
    problems: tuple[tuple[str, str], ...] = ()


def _scan_folder(folder: Path) -> InboxFolder | None:
    """The folder's frames (None when it holds no photo or video and no problem to report)."""
    scan = scan_tree(folder)
    problems = tuple((p.path, p.reason) for p in scan.problems)
    frames = tuple(f for f in scan.files if f.suffix.lower() in FLIGHT_SUFFIXES)
    if not frames and not problems:
        return None
    snap = _snapshot(scan.files) if frames else {}
    newest = max((m for _, m in snap.values()), default=0.0)
    return InboxFolder(folder.resolve(), newest, snap, problems)


def still_arriving(folder: InboxFolder) -> bool:
    """True when any file's size or mtime changed since the scan, or a file appeared or vanished:
    a copy is still going on, so the folder waits for the next run."""
    return _snapshot(scan_tree(folder.path).files) != folder.snapshot


def scan_inbox(
    inbox: str | Path, *, now: float | None = None, min_age_s: float = 0.0
) -> tuple[list[InboxFolder], list[Path], list[FlightFailure]]:
    """(flight folders ready, oldest first; folders still being copied; problems, one line each:
    an unreadable folder, a symlink loop). Hidden folders and folders without frames are ignored.
    The inbox path is resolved once, so a relative inbox scans to the same absolute paths that
    ``still_arriving`` looks at again (otherwise every folder would seem to be still arriving)."""
    root = Path(inbox).resolve()
    if not root.is_dir():
        raise ConfigError(f"{root}: inbox folder does not exist")
    now = time.time() if now is None else now
    ready: list[tuple[float, str, InboxFolder]] = []
    waiting: list[Path] = []
    problems: list[FlightFailure] = []
    try:
        entries = sorted(root.iterdir())
    except OSError as e:
        raise ConfigError(f"{root}: cannot read the inbox folder: {e.strerror or e}") from e
    for d in entries:
        if d.name.startswith("."):
            continue
        if d.is_symlink() and not d.exists():
            problems.append(FlightFailure(str(d), "symlink loop or dangling symlink in the inbox: skipped"))
            continue
        if not d.is_dir():
            continue
        found = _scan_folder(d)
        if found is None:
            continue
        problems.extend(FlightFailure(path, reason) for path, reason in found.problems)
        if not found.snapshot:
            continue  # nothing readable in it: its problems are reported, there is nothing to process
        if now - found.newest_mtime < min_age_s:
            waiting.append(found.path)
        else:
            ready.append((found.newest_mtime, d.name, found))
    ready.sort(key=lambda t: (t[0], t[1]))
    return [f for _, _, f in ready], waiting, problems


def inbox_flights(inbox: str | Path, *, now: float | None = None, min_age_s: float = 0.0) -> tuple[list[Path], list[Path]]:
    """(flight folders ready, oldest first; folders whose newest file is younger than ``min_age_s``).
    Hidden folders and folders without photos or videos are ignored."""
    ready, waiting, _ = scan_inbox(inbox, now=now, min_age_s=min_age_s)
    return [f.path for f in ready], waiting


class InboxLock:
    """An exclusive ``flock`` on a lock file; released on close or when the process dies."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self, wait: bool) -> bool:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise ConfigError(f"{self.path}: cannot create the lock file: {e.strerror or e}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} since {datetime.now(timezone.utc).isoformat(timespec='seconds')}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _logger(log_path: Path) -> tuple[logging.Logger, logging.Handler]:
    log = logging.getLogger(f"patrol.nightly.{id(log_path)}")
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{log_path}: cannot open the log file: {e.strerror or e}") from e
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [pid %(process)d] %(message)s"))
    log.addHandler(handler)
    return log, handler


def run_nightly(
    inbox: str | Path,
    settings: Any,
    store: Any,
    detector: Any,
    *,
    out_dir: str | Path | None = None,
    zones: Any = None,
    log_path: str | Path | None = None,
    lock_path: str | Path | None = None,
    wait: bool = False,
    min_age_s: float = 0.0,
    progress: Progress | None = None,
    on_flight: Callable[[str, FlightSummary | None, str | None], None] | None = None,
    stop: StopFlag | None = None,
) -> NightlyResult:
    """Process the inbox's unprocessed flight folders, oldest first, each on its own.

    ``detector``: a Detector or a zero-argument factory (loaded once, only if a flight needs it).
    ``out_dir``: reports go to ``out_dir/<folder name>``. ``log_path`` default ``inbox/patrol-nightly.log``,
    ``lock_path`` default ``inbox/.patrol-nightly.lock``. ``on_flight(folder, summary, error)`` is
    called after each flight (the CLI prints a line). SIGTERM (in the main thread) or ``stop`` makes
    the run stop at the next frame boundary, release its lock and return ``interrupted``; the next
    run resumes the flight. ConfigError for a missing inbox or an unwritable lock/log file.
    """
    root = Path(inbox)
    if not root.is_dir():
        raise ConfigError(f"{root}: inbox folder does not exist")
    lock = InboxLock(lock_path or root / LOCK_NAME)
    log_file = Path(log_path or root / LOG_NAME)
    flag = stop or StopFlag()
    with stop_on_signals(flag):
        if not lock.acquire(wait):
            return NightlyResult(locked=True, lock_holder=lock.holder(), lock_path=str(lock.path), log_path=str(log_file))
        try:
            log, handler = _logger(log_file)
            try:
                return _run_locked(root, settings, store, detector, out_dir, zones, log, lock, log_file, min_age_s, progress, on_flight, flag)
            finally:
                log.removeHandler(handler)
                handler.close()
        finally:
            lock.release()


def _run_locked(root, settings, store, detector, out_dir, zones, log, lock, log_file, min_age_s, progress, on_flight, flag) -> NightlyResult:
    cache: dict[str, Any] = {}

    def get_detector() -> Any:
        if "d" not in cache:
            cache["d"] = detector() if callable(detector) and not hasattr(detector, "detect") else detector
        return cache["d"]

    ready, waiting, problems = scan_inbox(root, min_age_s=min_age_s)
    done_sources = {f.source for f in store.list_flights() if f.status == "done"}
    log.info("start: inbox %s, %d flight folder(s) ready, %d still arriving", root, len(ready), len(waiting))
    for w in waiting:
        log.info("waiting: %s (files still arriving)", w)
    failed: list[FlightFailure] = []
    for p in problems:  # unreadable folders, symlink loops: one line each, the rest goes on
        log.error("input %s: %s", p.folder, p.error)
        failed.append(p)
        if on_flight:
            on_flight(p.folder, None, p.error)
    processed: list[FlightSummary] = []
    already: list[str] = []
    interrupted = ""
    for found in ready:
        folder = found.path
        if str(folder) in done_sources:
            already.append(str(folder))
            continue
        if flag.is_set:
            interrupted = f"stopped by {flag.signal_name} before {folder}; the next run goes on"
            break
        if still_arriving(found):  # a size or time changed since the scan: a copy is going on
            log.info("waiting: %s (a file changed while the inbox was scanned)", folder)
            waiting.append(folder)
            continue
        log.info("flight %s: start", folder)
        t0 = time.monotonic()
        try:
            dest = Path(out_dir) / folder.name if out_dir is not None else None
            summary = process_flight([folder], settings, store, get_detector, dest, zones=zones, progress=progress, stop=flag)
        except Interrupted as e:
            interrupted = f"flight {folder}: {e}"
            log.warning("%s", interrupted)
            break
        except Exception as e:  # one flight's failure must not stop the others
            msg = str(e) if isinstance(e, PatrolError) else f"{type(e).__name__}: {e}"
            if isinstance(e, PatrolError):
                log.error("flight %s: FAILED: %s", folder, msg)
            else:
                log.error("flight %s: FAILED (unexpected): %s\n%s", folder, msg, traceback.format_exc())
            failed.append(FlightFailure(str(folder), msg))
            if on_flight:
                on_flight(str(folder), None, msg)
            continue
        if summary.skipped:
            log.info("flight %s: already processed as %s (same content)", folder, summary.flight_id)
            already.append(str(folder))
        else:
            for line in summary.lines():
                log.info("%s", line)
            log.info("flight %s: done in %.1f s", folder, time.monotonic() - t0)
            processed.append(summary)
        if on_flight:
            on_flight(str(folder), summary, None)
    if out_dir is not None and processed and not interrupted:
        # the reviewers' board of every case, refreshed after the night's flights
        try:
            from patrol.report import write_case_board

            board = write_case_board(store, Path(out_dir) / "cases", settings)
            log.info("case board: %s", board[0])
        except (PatrolError, OSError) as e:
            log.error("case board: FAILED: %s", e)
            failed.append(FlightFailure(str(Path(out_dir) / "cases"), f"case board not written: {e}"))
    log.info("end: %d processed, %d failed, %d already done%s", len(processed), len(failed), len(already),
             f"; {interrupted}" if interrupted else "")
    return NightlyResult(
        processed=tuple(processed),
        failed=tuple(failed),
        already_done=tuple(already),
        waiting=tuple(str(w) for w in waiting),
        lock_path=str(lock.path),
        log_path=str(log_file),
        interrupted=interrupted,
    )
