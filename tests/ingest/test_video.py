"""Video frames sampled with OpenCV and paired with SRT telemetry (a generated video + SRT)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from patrol.errors import BadTelemetry, InputError
from patrol.ingest import FrameMeta, iter_inputs, load_image
from patrol.ingest.video import iter_video_frames, video_frames_meta

FPS = 10
N_FRAMES = 30  # 3 s


def _tc(x: float) -> str:
    ms = round(x * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def make_video(folder: Path, name: str = "DJI_0001.MP4", srt: bool = True, truncated: bool = False) -> Path:
    cv2 = pytest.importorskip("cv2")
    path = folder / name
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (64, 48))
    if not writer.isOpened():
        pytest.skip("OpenCV has no mp4v encoder here")
    for i in range(N_FRAMES):
        img = np.zeros((48, 64, 3), np.uint8)
        img[:, :, 1] = i * 8  # frame number encoded in the green level
        writer.write(img)
    writer.release()
    if srt:
        blocks = []
        for i in range(31):  # one telemetry block per 0.1 s
            t = i / FPS
            blocks.append(
                f"{i + 1}\n{_tc(t)} --> {_tc(t + 0.1)}\n<font size=\"28\">FrameCnt: {i + 1}, DiffTime: 100ms\n"
                f"2024-03-01 10:00:{t:06.3f}\n[iso: 100] [focal_len: 24.00] [latitude: {30 + i * 1e-4:.6f}] "
                f"[longitude: {120 + i * 2e-4:.6f}] [rel_alt: {50 + i:.3f} abs_alt: {150 + i:.3f}] "
                f"[gb_yaw: 10.0 gb_pitch: -90.0 gb_roll: 0.0]</font>\n\n"
            )
        text = "".join(blocks)
        if truncated:
            text += "32\n00:00:03,100 --> 00:00:03,200\n<font size=\"28\">FrameCnt: 32, DiffTime: 100ms\n2024-03-01 10:00:03.100\n[iso: 1"
        path.with_suffix(".SRT").write_text(text, encoding="utf-8")
    return path


def test_sampled_frames_pair_with_telemetry(tmp_path):
    video = make_video(tmp_path)
    metas = video_frames_meta(video, interval_s=1.0)
    assert [m.frame_index for m in metas] == [0, 10, 20]
    assert [m.video_time_s for m in metas] == [0.0, 1.0, 2.0]
    m = metas[1]
    assert m.lat_deg == pytest.approx(30.001) and m.lon_deg == pytest.approx(120.002)
    assert m.rel_alt_m == pytest.approx(60.0) and m.gimbal_pitch_deg == -90.0
    assert m.size_wh == (64, 48) and m.intrinsics is not None and m.intrinsics.source == "focal35"
    assert m.has_pose


def test_interpolated_between_blocks(tmp_path):
    from patrol.ingest.srt import read_srt
    from patrol.ingest.video import frame_meta_at, video_info

    video = make_video(tmp_path)
    info = video_info(video)
    m = frame_meta_at(str(video), info, read_srt(video.with_suffix(".SRT")), 1, 0.15)  # between blocks 2 and 3
    assert m.rel_alt_m == pytest.approx(51.5) and m.lat_deg == pytest.approx(30.00015)


def test_decoded_frames_are_the_right_ones(tmp_path):
    video = make_video(tmp_path)
    got = [(meta.frame_index, float(img[:, :, 1].mean())) for meta, img in iter_video_frames(video, interval_s=1.0)]
    assert [g[0] for g in got] == [0, 10, 20]
    for idx, green in got:
        assert abs(green - idx * 8) < 6  # lossy codec
    meta = video_frames_meta(video, interval_s=1.0)[2]
    assert abs(float(load_image(meta)[:, :, 1].mean()) - 160) < 6


def test_iter_inputs_folder_with_video_and_missing_srt(tmp_path):
    make_video(tmp_path, "A.MP4")
    make_video(tmp_path, "B.MP4", srt=False)
    items = list(iter_inputs([tmp_path], video_interval_s=1.0))
    frames = [i for i in items if isinstance(i, FrameMeta)]
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(frames) == 3 and all(f.path.endswith("A.MP4") for f in frames)
    assert len(errors) == 1 and isinstance(errors[0], BadTelemetry) and "no sidecar .SRT" in errors[0].reason


def test_truncated_srt_reported_and_frames_kept(tmp_path):
    make_video(tmp_path, truncated=True)
    items = list(iter_inputs([tmp_path]))
    assert sum(isinstance(i, FrameMeta) for i in items) == 3
    errs = [i for i in items if isinstance(i, InputError)]
    assert len(errs) == 1 and "truncated last block 32" in errs[0].reason
