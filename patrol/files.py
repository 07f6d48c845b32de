"""Finding a flight's files on disk, saying what could not be looked at (never a silent skip).

``scan_tree(folder)`` walks a folder without following symlinked folders (so a symlink loop cannot
recurse) and returns the files with every problem met on the way, one line each: an unreadable
folder, a symlink loop or a dangling link. ``flight_files(paths)`` is a flight's image and video
files, with the problems as failures.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".heic", ".heif")
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v")
FLIGHT_SUFFIXES = IMAGE_SUFFIXES + VIDEO_SUFFIXES


@dataclass(frozen=True)
class FrameFailure:
    path: str
    reason: str


@dataclass(frozen=True)
class TreeScan:
    """Files under a folder (sorted, hidden names left out) and what could not be looked at."""

    files: tuple[Path, ...] = ()
    problems: tuple[FrameFailure, ...] = ()
    linked_dirs: tuple[Path, ...] = field(default=())  # symlinked folders, not followed


def _link_problem(p: Path) -> str | None:
    """Why a symlink cannot be used (a loop, dangling), or None when it resolves."""
    try:
        os.stat(p)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "symlink loop (the link leads back to itself): skipped"
        if e.errno == errno.ENOENT:
            return f"dangling symlink to {os.readlink(p)}: skipped"
        return f"cannot follow symlink: {e.strerror or e}"
    return None


def scan_tree(folder: str | Path) -> TreeScan:
    """Every regular file below ``folder`` (not following symlinked folders) and the problems met."""
    root = Path(folder)
    files: list[Path] = []
    problems: list[FrameFailure] = []
    linked: list[Path] = []

    def onerror(e: OSError) -> None:
        problems.append(FrameFailure(str(e.filename or root), f"cannot read folder: {e.strerror or e}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        d = Path(dirpath)
        for name in sorted(dirnames):
            p = d / name
            if p.is_symlink():
                why = _link_problem(p)
                if why is not None:
                    problems.append(FrameFailure(str(p), why))
                elif not name.startswith("."):
                    linked.append(p)
        dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
        for name in filenames:
            p = d / name
            if name.startswith("."):  # includes macOS "._DJI_0001.JPG" resource forks
                continue
            if p.is_symlink():
                why = _link_problem(p)
                if why is not None:
                    problems.append(FrameFailure(str(p), why))
                    continue
            files.append(p)
    return TreeScan(tuple(sorted(files)), tuple(problems), tuple(linked))


def flight_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[FrameFailure]]:
    """Image/video files of a flight: files as given, folders searched recursively (sorted).
    Missing paths, folders without frames, unreadable folders and symlink loops come back as failures."""
    files: list[Path] = []
    bad: list[FrameFailure] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            scan = scan_tree(p)
            bad.extend(scan.problems)
            found = [f for f in scan.files if f.suffix.lower() in FLIGHT_SUFFIXES]
            if not found and not scan.problems:
                bad.append(FrameFailure(str(p), "folder has no photos or videos"))
            files.extend(found)
        elif p.is_file():
            files.append(p)
        elif p.is_symlink():
            bad.append(FrameFailure(str(p), _link_problem(p) or "unusable symlink"))
        else:
            bad.append(FrameFailure(str(p), "no such file or folder"))
    seen: set[Path] = set()
    unique = []
    for f in files:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(r)
    return unique, bad
