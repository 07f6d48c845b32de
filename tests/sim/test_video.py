from __future__ import annotations

import pytest

from patrol.ingest import iter_inputs
from patrol.sim.truth import load_truth
from patrol.sim.video import VideoSpec, run_video


def test_video_and_srt_read_back_by_ingest(tmp_path) -> None:
    spec = VideoSpec(seed=2, seconds=2.0, fps=4.0, size_wh=(640, 360), size_m=60.0, res_m=0.1, altitude_m=40.0)
    truth = run_video(tmp_path, spec)
    assert len(truth.frames) == 8
    assert (tmp_path / "DJI_0001.SRT").read_text().count("FrameCnt") == 8
    assert load_truth(tmp_path) == truth
    metas = [m for m in iter_inputs([tmp_path], video_interval_s=0.5) if hasattr(m, "frame_index")]
    assert [m.frame_index for m in metas] == [0, 2, 4, 6]
    for m in metas:
        w = truth.frames[m.frame_index].written
        assert (m.lat_deg, m.lon_deg) == pytest.approx((w["lat_deg"], w["lon_deg"]), abs=1e-9)
        assert m.rel_alt_m == pytest.approx(w["rel_alt_m"]) and m.gimbal_pitch_deg == pytest.approx(w["gimbal_pitch_deg"])
        assert m.gimbal_yaw_deg == pytest.approx(w["gimbal_yaw_deg"], abs=1e-6)
        assert m.intrinsics is not None and m.intrinsics.fx_px == pytest.approx(truth.intrinsics.fx_px)
        assert m.size_wh == (640, 360)


def test_bad_video_spec() -> None:
    with pytest.raises(ValueError):
        VideoSpec(fps=0.0)
    with pytest.raises(ValueError):
        VideoSpec(pitch_deg=0.0)
