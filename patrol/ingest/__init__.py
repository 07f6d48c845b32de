"""Reading where every frame was taken and where it looked: photos (EXIF/XMP) and DJI video (SRT).

Public API:
  read_frame(path) -> FrameMeta            one photo (JPEG or HEIC); raises InputError subclasses
  iter_inputs(paths, ...) -> FrameMeta | InputError, for files and folders (recursive): photos, and
                                           videos with a sidecar .SRT (frames sampled at an interval)
  require_position(meta) -> meta           MissingGeotag when the frame has no GPS position
  load_image(meta) -> BGR ndarray          pixels of a photo or of a sampled video frame, proven whole
  decode_image(path) -> BGR ndarray        the one whole-image decoder (EOI, corrupt-data warnings, pixel limit)
  read_srt(path) / parse_srt(text)         DJI telemetry -> Telemetry(samples, warnings)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from patrol.errors import BadImage, BadTelemetry, InputError
from patrol.ingest.frame import FrameMeta, Intrinsics
from patrol.ingest.pixels import DEFAULT_MAX_IMAGE_PX, decode_image
from patrol.ingest.photo import PHOTO_SUFFIXES, load_image, read_frame, require_position
from patrol.ingest.srt import Telemetry, TelemetrySample, parse_srt, read_srt
from patrol.ingest.video import VIDEO_SUFFIXES

__all__ = [
    "FrameMeta",
    "Intrinsics",
    "Telemetry",
    "TelemetrySample",
    "collect_files",
    "decode_image",
    "iter_inputs",
    "load_image",
    "parse_srt",
    "read_frame",
    "read_srt",
    "require_position",
]

PARALLEL_MIN_FILES = 256  # below this a process pool costs more than it saves


def collect_files(paths: Iterable[str | Path]) -> list[Path | InputError]:
    """Photos and videos under ``paths`` (folders recursively, sorted); InputError for bad paths.

    Files named explicitly must be photos or videos; inside folders other files (labels, .SRT
    sidecars, notes) are skipped.
    """
    out: list[Path | InputError] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                # hidden files include macOS "._DJI_0001.JPG" resource forks: never photos
                if f.is_file() and f.suffix.lower() in PHOTO_SUFFIXES | VIDEO_SUFFIXES and not f.name.startswith(".")
            )
            out.extend(found)
        elif p.is_file():
            if p.suffix.lower() in PHOTO_SUFFIXES | VIDEO_SUFFIXES:
                out.append(p)
            elif p.suffix.lower() == ".srt":
                out.append(InputError(p, "an .SRT is read with its video (same name); use `patrol telemetry` for the SRT alone"))
            else:
                # Unknown extension: try it as a photo (some tools write .JPG without the suffix).
                out.append(p)
        else:
            out.append(InputError(p, "no such file or folder"))
    return out


def _read_photo(path: str, max_image_px: int = DEFAULT_MAX_IMAGE_PX) -> FrameMeta | InputError:
    try:
        return read_frame(path, max_image_px)
    except InputError as e:
        return e


def _read_photo_portable(path: str, max_image_px: int = DEFAULT_MAX_IMAGE_PX) -> FrameMeta | tuple[type, str, str]:
    """Worker side: InputError subclasses do not unpickle (their __init__ takes extra arguments),
    so errors cross the process boundary as (class, path, reason)."""
    item = _read_photo(path, max_image_px)
    return (type(item), item.path, item.reason) if isinstance(item, InputError) else item


def _rebuild(item: FrameMeta | tuple[type, str, str]) -> FrameMeta | InputError:
    if isinstance(item, tuple):
        cls, path, reason = item
        err = cls.__new__(cls)
        InputError.__init__(err, path, reason)
        return err
    return item


def _video_items(path: Path, interval_s: float) -> Iterator[FrameMeta | InputError]:
    from patrol.ingest.video import find_sidecar_srt, frame_meta_at, plan_samples, video_info

    srt = find_sidecar_srt(path)
    if srt is None:
        yield BadTelemetry(path, "no sidecar .SRT telemetry next to the video (same name, .SRT)")
        return
    try:
        telemetry = read_srt(srt)
        info = video_info(path)
    except InputError as e:
        yield e
        return
    for w in telemetry.warnings:
        yield BadTelemetry(srt, w)
    for idx, t in plan_samples(info, interval_s):
        yield frame_meta_at(str(path), info, telemetry, idx, t)


def iter_inputs(
    paths: Iterable[str | Path],
    *,
    video_interval_s: float = 1.0,
    workers: int = 1,
    require_gps: bool = True,
    max_image_px: int = DEFAULT_MAX_IMAGE_PX,
) -> Iterator[FrameMeta | InputError]:
    """FrameMeta (or the InputError that stopped it) for every photo and sampled video frame.

    ``workers`` > 1 reads photos in a process pool when there are many (0 = one per CPU).
    With ``require_gps`` a frame without a position is yielded as MissingGeotag instead; a photo whose
    header claims more than ``max_image_px`` pixels, or that is truncated, as BadImage.
    """
    items = collect_files(paths)
    photos = [str(p) for p in items if isinstance(p, Path) and p.suffix.lower() not in VIDEO_SUFFIXES]
    n_workers = (os.cpu_count() or 1) if workers == 0 else workers
    results: Iterator[FrameMeta | InputError]
    if n_workers > 1 and len(photos) >= PARALLEL_MIN_FILES:
        pool = ProcessPoolExecutor(max_workers=n_workers)
        results = map(_rebuild, pool.map(partial(_read_photo_portable, max_image_px=max_image_px), photos, chunksize=64))
    else:
        pool = None
        results = map(partial(_read_photo, max_image_px=max_image_px), photos)
    try:
        for item in items:
            if isinstance(item, InputError):
                yield item
            elif item.suffix.lower() in VIDEO_SUFFIXES:
                for v in _video_items(item, video_interval_s):
                    yield _check(v, require_gps)
            else:
                yield _check(next(results), require_gps)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _check(item: FrameMeta | InputError, require_gps: bool) -> FrameMeta | InputError:
    if isinstance(item, FrameMeta) and require_gps and not item.has_position:
        try:
            require_position(item)
        except InputError as e:
            return e
    return item


# Keep BadImage importable from here for callers that catch it around load_image.
_ = BadImage
