"""Faults a run survives: what a frame's failure looks like, and stopping at a frame boundary.

``frame_faults()`` lists the exceptions that mean "this frame cannot be processed" (its file, its
pixels, its pose, the detector on it, memory for it): the pipeline catches them at the frame and
records one line; anything else is a programming error and escapes. ``StopFlag`` is set by a signal
handler (SIGTERM, SIGINT) and checked between frames, so a stopped run leaves whole frames only.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from patrol.errors import InputError, Interrupted, PatrolError


def frame_faults() -> tuple[type[BaseException], ...]:
    """Exceptions caught at the frame: PatrolError, OSError, MemoryError, OpenCV's and ONNX Runtime's
    errors. A programming error (TypeError, KeyError...) is not in the list and escapes."""
    import cv2

    faults: list[type[BaseException]] = [PatrolError, OSError, MemoryError, cv2.error]
    try:  # ONNX Runtime's own errors (a model that fails on this input)
        from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidArgument, RuntimeException

        faults += [Fail, InvalidArgument, RuntimeException]
    except ImportError:
        pass
    return tuple(f for f in faults if f is not Interrupted)


def frame_fault_reason(e: BaseException) -> str:
    """One line for a frame's failure: an InputError's own reason, else the kind of fault and its text."""
    if isinstance(e, InputError):
        return e.reason
    if isinstance(e, MemoryError):
        return "out of memory while processing this frame"
    text = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, PatrolError):
        return text
    return f"{type(e).__name__}: {text[:300]}"


class StopFlag:
    """Set when the run is asked to stop; ``check()`` raises Interrupted at the next frame boundary."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name = ""

    def set(self, name: str = "stop requested") -> None:
        self.signal_name = name
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Interrupted(f"stopped by {self.signal_name} at a frame boundary; the next run resumes here")


@contextmanager
def stop_on_signals(flag: StopFlag, signals: tuple[int, ...] = (signal.SIGTERM,)) -> Iterator[StopFlag]:
    """Within the block, the given signals set ``flag`` instead of killing the process (main thread
    only; elsewhere the block runs without handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        flag.set(signal.Signals(signum).name)

    old = {s: signal.signal(s, handler) for s in signals}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)
