"""Thumbnails: small JPEG crops written next to the HTML, so a report never links to full frames.

``crop_window`` is pure; ``write_thumbnails`` is the edge: it decodes each source image once (a
20 MP JPEG takes a good part of a second), cuts every crop asked of it, and writes JPEGs. A source
that is missing or unreadable gives no thumbnail and a reason, never an exception: the report shows
a placeholder instead.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from patrol.report.model import ImageRef

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".m4v"}


@dataclass(frozen=True)
class ThumbJob:
    ref: ImageRef
    rel_path: str  # where to write it, relative to the report folder (posix separators)
    max_px: int = 320
    draw_box: bool = True


def safe_name(prefix: str, key: str) -> str:
    """A file name that is safe in a URL and on every filesystem, unique per ``key``."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", key)[:40].strip("_") or "x"
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
    return f"{prefix}-{stem}-{digest}.jpg"


def crop_window(
    bbox_xyxy_px: tuple[float, float, float, float] | None,
    image_wh: tuple[int, int],
    context: float = 1.0,
    min_px: int = 128,
) -> tuple[int, int, int, int]:
    """Integer crop (x1, y1, x2, y2) around a box with ``context`` x its size of margin each side,
    at least ``min_px`` square where the image allows, clipped to the image. None = whole image."""
    w, h = image_wh
    if bbox_xyxy_px is None:
        return 0, 0, w, h
    x1, y1, x2, y2 = bbox_xyxy_px
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    side = max((x2 - x1) * (1 + 2 * context), (y2 - y1) * (1 + 2 * context), float(min_px))
    half = side / 2.0
    a, b = int(max(0, round(cx - half))), int(max(0, round(cy - half)))
    c, d = int(min(w, round(cx + half))), int(min(h, round(cy + half)))
    if c <= a or d <= b:  # box entirely outside the image: show the whole image
        return 0, 0, w, h
    return a, b, c, d


def _read(ref: ImageRef):
    import cv2

    p = Path(ref.path)
    if not p.is_file():
        return None, "source image not found"
    if p.suffix.lower() in VIDEO_SUFFIXES or ref.frame_index is not None:
        cap = cv2.VideoCapture(str(p))
        try:
            if ref.frame_index:
                cap.set(cv2.CAP_PROP_POS_FRAMES, float(ref.frame_index))
            ok, img = cap.read()
        finally:
            cap.release()
        return (img, None) if ok and img is not None else (None, "video frame cannot be decoded")
    # Same whole-image decoding as detection (no EXIF rotation, so boxes line up with the pixels; a
    # truncated or corrupt photo is never shown as if good).
    from patrol.errors import BadImage
    from patrol.ingest.pixels import decode_image

    try:
        return decode_image(p), None
    except BadImage as e:
        return None, f"source image unusable: {e.reason}"


def _thumb(img, job: ThumbJob):
    import cv2

    h, w = img.shape[:2]
    x1, y1, x2, y2 = crop_window(job.ref.bbox_xyxy_px, (w, h))
    crop = img[y1:y2, x1:x2]
    scale = min(1.0, job.max_px / max(crop.shape[0], crop.shape[1]))
    if scale < 1.0:
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    else:
        crop = crop.copy()
    if job.draw_box and job.ref.bbox_xyxy_px is not None:
        bx1, by1, bx2, by2 = job.ref.bbox_xyxy_px
        pts = [round((v - o) * scale) for v, o in ((bx1, x1), (by1, y1), (bx2, x1), (by2, y1))]
        cv2.rectangle(crop, (pts[0], pts[1]), (pts[2], pts[3]), (0, 215, 255), 2)
    return crop


def write_thumbnails(jobs: list[ThumbJob], out_dir: str | Path, quality: int = 80) -> dict[str, str | None]:
    """Write every job's JPEG under ``out_dir``; returns rel_path -> None (written) or the reason."""
    import cv2

    out = Path(out_dir)
    by_source: dict[tuple[str, int | None], list[ThumbJob]] = defaultdict(list)
    for job in jobs:
        by_source[(job.ref.path, job.ref.frame_index)].append(job)
    result: dict[str, str | None] = {}
    for (_, _), group in by_source.items():
        img, why = _read(group[0].ref)
        for job in group:
            if img is None:
                result[job.rel_path] = why
                continue
            target = out / job.rel_path
            target.parent.mkdir(parents=True, exist_ok=True)
            ok, buf = cv2.imencode(".jpg", _thumb(img, job), [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                result[job.rel_path] = "JPEG encoding failed"
                continue
            target.write_bytes(buf.tobytes())
            result[job.rel_path] = None
    return result
