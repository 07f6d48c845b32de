"""DJI video: sample frames at an interval with OpenCV and pair each with the SRT telemetry.

Each sampled frame becomes a FrameMeta like a photo's (``path`` = the video, plus ``frame_index`` and
``video_time_s``), with the pose interpolated from the SRT at the frame's timestamp. Intrinsics come
from the SRT's focal_len (DJI writes the 35 mm equivalent) and the decoded frame size.
``plan_samples`` and ``frame_meta_at`` are pure; the functions that open files are the edge.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from patrol.errors import BadImage, BadTelemetry
from patrol.ingest.cameras import frame_intrinsics
from patrol.ingest.frame import FrameMeta
from patrol.ingest.srt import Telemetry, read_srt, telemetry_at

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v"})


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frame_count: int
    size_wh: tuple[int, int]

    def __post_init__(self) -> None:
        if not (self.fps > 0 and self.frame_count >= 0 and self.size_wh[0] > 0 and self.size_wh[1] > 0):
            raise ValueError(f"invalid video properties: {self}")

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps


def find_sidecar_srt(video: str | Path) -> Path | None:
    """The .SRT next to a video with the same stem (any case), or None."""
    v = Path(video)
    for cand in (v.with_suffix(".SRT"), v.with_suffix(".srt")):
        if cand.is_file():
            return cand
    try:
        for p in v.parent.iterdir():
            if p.stem == v.stem and p.suffix.lower() == ".srt":
                return p
    except OSError:
        return None
    return None


def plan_samples(info: VideoInfo, interval_s: float) -> list[tuple[int, float]]:
    """(frame_index, video_time_s) every ``interval_s`` from t=0 (pure)."""
    if interval_s <= 0:
        raise ValueError(f"interval_s must be positive, got {interval_s}")
    out: list[tuple[int, float]] = []
    step = max(1, round(interval_s * info.fps))
    for idx in range(0, info.frame_count, step):
        out.append((idx, idx / info.fps))
    return out


def frame_meta_at(video: str, info: VideoInfo, telemetry: Telemetry, frame_index: int, t_s: float) -> FrameMeta:
    """FrameMeta for one sampled frame with telemetry interpolated at ``t_s`` (pure)."""
    pose = telemetry_at(telemetry.samples, t_s)
    if pose is None:
        intr, why = frame_intrinsics(info.size_wh)
        return FrameMeta(path=video, size_wh=info.size_wh, frame_index=frame_index, video_time_s=t_s,
                         intrinsics=intr, intrinsics_error=why)
    focal35 = pose.get("focal35_mm")
    intr, why = frame_intrinsics(info.size_wh, focal35_mm=focal35)
    return FrameMeta(
        path=video,
        size_wh=info.size_wh,
        lat_deg=pose["lat_deg"],
        lon_deg=pose["lon_deg"],
        abs_alt_m=pose["abs_alt_m"],
        rel_alt_m=pose["rel_alt_m"],
        gimbal_yaw_deg=pose["gimbal_yaw_deg"],
        gimbal_pitch_deg=pose["gimbal_pitch_deg"],
        gimbal_roll_deg=pose["gimbal_roll_deg"],
        flight_yaw_deg=pose["flight_yaw_deg"],
        flight_pitch_deg=pose["flight_pitch_deg"],
        flight_roll_deg=pose["flight_roll_deg"],
        focal35_mm=focal35,
        time=pose.get("time"),
        make="DJI",
        intrinsics=intr,
        intrinsics_error=why,
        frame_index=frame_index,
        video_time_s=t_s,
    )


def _open(path: str):
    import cv2

    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise BadImage(path, "cannot open video (unsupported container or codec)")
    return cap


def video_info(path: str | Path) -> VideoInfo:
    """Frame rate, frame count and frame size from the container (no decoding)."""
    import cv2

    p = str(path)
    cap = _open(p)
    try:
        fps = cap.get(cv2.CAP_PROP_FPS)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    try:
        return VideoInfo(fps, count, (w, h))
    except ValueError as e:
        raise BadImage(p, f"video reports unusable properties (fps={fps}, frames={count}, size={w}x{h})") from e


def _telemetry_for(video: str, srt: str | Path | None) -> Telemetry:
    srt_path = Path(srt) if srt is not None else find_sidecar_srt(video)
    if srt_path is None:
        raise BadTelemetry(video, "no sidecar .SRT telemetry next to the video (same name, .SRT)")
    return read_srt(srt_path)


def video_frames_meta(video: str | Path, srt: str | Path | None = None, interval_s: float = 1.0) -> list[FrameMeta]:
    """FrameMeta for frames sampled every ``interval_s`` (reads the container header only)."""
    v = str(video)
    telemetry = _telemetry_for(v, srt)
    info = video_info(v)
    return [frame_meta_at(v, info, telemetry, i, t) for i, t in plan_samples(info, interval_s)]


def iter_video_frames(video: str | Path, srt: str | Path | None = None,
                      interval_s: float = 1.0) -> Iterator[tuple[FrameMeta, object]]:
    """(FrameMeta, BGR ndarray) for frames sampled every ``interval_s``, decoding sequentially."""
    v = str(video)
    telemetry = _telemetry_for(v, srt)
    info = video_info(v)
    wanted = dict(plan_samples(info, interval_s))
    cap = _open(v)
    try:
        idx = 0
        last = max(wanted) if wanted else -1
        while idx <= last:
            if idx in wanted:
                ok, img = cap.read()
                if not ok:
                    break
                yield frame_meta_at(v, info, telemetry, idx, wanted[idx]), img
            elif not cap.grab():
                break
            idx += 1
    finally:
        cap.release()


def read_video_frame(video: str | Path, frame_index: int):
    """One decoded frame (BGR) by index; BadImage when it cannot be read."""
    import cv2

    v = str(video)
    cap = _open(v)
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
        ok, img = cap.read()
    finally:
        cap.release()
    if not ok or img is None:
        raise BadImage(v, f"cannot decode frame {frame_index}")
    return img
