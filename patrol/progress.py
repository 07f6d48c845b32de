"""Progress on stderr for a person at a terminal: one bar per stage, shared by every command."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class StderrProgress:
    """A one-line progress bar per stage on stderr (use only when stderr is a terminal)."""

    def __init__(self, stream: Any = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self._stage: str | None = None
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != self._stage:
            if self._stage is not None:
                self.stream.write("\n")
            self._stage = stage
        elif done < total and now - self._last < 0.1:
            return
        self._last = now
        frac = done / total if total else 1.0
        filled = int(frac * self.width)
        self.stream.write(f"\r{stage:<9} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}")
        if done >= total:
            self.stream.write("\n")
            self._stage = None
        self.stream.flush()


def iter_progress(items: Iterable[T], label: str, show: bool = True) -> Iterator[T]:
    """Yield ``items``, drawing a bar labelled ``label`` when ``show`` and there is more than one item.

    Callers pass ``show=progress_enabled()`` so cron logs and pipes get no bar.
    """
    items = list(items)
    if not (show and len(items) > 1):
        yield from items
        return
    bar = StderrProgress()
    for i, item in enumerate(items):
        yield item
        bar(label, i + 1, len(items))
