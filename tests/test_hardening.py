"""Bad input and faults through the whole pipeline: every bad frame is one clear line, the flight goes
on, and nothing half-read is ever detected on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patrol.config import Settings
from patrol.errors import ModelError
from patrol.pipeline import process_flight
from patrol.store import open_store
from tests.conftest import shared_path
from tests.test_pipeline import YoloLabelDetector


class RecordingDetector(YoloLabelDetector):
    """The photos' hand labels as detections; remembers which frames it saw; ``fail_on`` names a frame
    on which it raises the error a broken model run would (ModelError)."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.seen: list[str] = []
        self.fail_on = fail_on

    def detect_path(self, path, image):
        self.seen.append(Path(path).name)
        if self.fail_on and Path(path).name == self.fail_on:
            raise ModelError(f"{path}: the model failed on this frame (ONNX Runtime: invalid input)")
        return super().detect_path(path, image)


def _real_flight(tmp_path: Path, names=("DJI_0019", "DJI_0031")) -> Path:
    d = tmp_path / "flight"
    d.mkdir()
    for n in names:
        src = shared_path("aerial-cars", f"{n}.JPG")
        shutil.copyfile(src, d / src.name)
        shutil.copyfile(src.with_suffix(".txt"), d / f"{n}.txt")
    return d


def test_truncated_real_photo_is_one_failure_never_detected_on(tmp_path):
    d = _real_flight(tmp_path)
    data = (d / "DJI_0031.JPG").read_bytes()
    (d / "DJI_0031.JPG").write_bytes(data[: len(data) // 2])
    det = RecordingDetector()
    with open_store(tmp_path / "p.db") as store:
        s = process_flight([d], Settings(), store, det, tmp_path / "out")
    assert (s.frames_read, s.frames_failed) == (1, 1)
    assert [Path(f.path).name for f in s.failures] == ["DJI_0031.JPG"]
    assert "truncated" in s.failures[0].reason and "no end-of-image marker" in s.failures[0].reason
    assert det.seen == ["DJI_0019.JPG"]
    assert s.detections > 0


def test_corrupt_pixels_fail_at_the_frame_and_the_flight_goes_on(tmp_path):
    """Metadata fine, end marker present, scan data damaged: found when decoding for detection."""
    d = _real_flight(tmp_path)
    data = bytearray((d / "DJI_0031.JPG").read_bytes())
    mid = len(data) // 3
    data[mid : mid + 2] = b"\xff\xd3"
    (d / "DJI_0031.JPG").write_bytes(bytes(data))
    det = RecordingDetector()
    with open_store(tmp_path / "p.db") as store:
        s = process_flight([d], Settings(), store, det, tmp_path / "out")
        frames = {Path(f.path).name: f for f in store.load_frames(s.flight_id)}
        findings = store.load_findings(s.flight_id)
    assert (s.frames_read, s.frames_failed) == (1, 1)
    assert "damaged JPEG data: Corrupt JPEG data" in s.failures[0].reason
    assert det.seen == ["DJI_0019.JPG"]
    assert frames["DJI_0031.JPG"].meta is not None  # its metadata is kept and listed
    assert all(all("DJI_0031" not in p for p in f.frames) for f in findings)
    html = (tmp_path / "out" / "index.html").read_text()
    assert "DJI_0031.JPG" in html and "Corrupt JPEG data" in html  # listed as failed in the report


def test_detector_failure_on_one_frame_is_recorded_and_the_flight_goes_on(tmp_path):
    d = _real_flight(tmp_path)
    det = RecordingDetector(fail_on="DJI_0019.JPG")
    with open_store(tmp_path / "p.db") as store:
        s = process_flight([d], Settings(), store, det)
    assert det.seen == ["DJI_0019.JPG", "DJI_0031.JPG"]
    assert (s.frames_read, s.frames_failed) == (1, 1)
    assert "the model failed on this frame" in s.failures[0].reason
    assert s.detections > 0


def test_a_programming_error_is_not_swallowed(tmp_path):
    d = _real_flight(tmp_path, names=("DJI_0019",))

    class Broken(RecordingDetector):
        def detect_path(self, path, image):
            raise TypeError("a bug")

    with open_store(tmp_path / "p.db") as store, pytest.raises(TypeError):
        process_flight([d], Settings(), store, Broken())


def test_cli_process_truncated_photo_exit_1_one_line(tmp_path):
    from typer.testing import CliRunner

    from patrol.cli import app

    d = _real_flight(tmp_path, names=("DJI_0019",))
    bomb = d / "DJI_0100.JPG"
    from tests.ingest.test_pixels import bomb_jpeg

    bomb.write_bytes(bomb_jpeg())
    trunc = d / "DJI_0101.JPG"
    src = (d / "DJI_0019.JPG").read_bytes()
    trunc.write_bytes(src[: len(src) // 2])
    r = CliRunner().invoke(app, ["process", str(d), "--db", str(tmp_path / "p.db"), "--detector", "truth"])
    # --detector truth has no truth.json here: the frame's ModelError is one more per-frame failure
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    err_lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert any("DJI_0100.JPG" in ln and "65000x65000" in ln for ln in err_lines)
    assert any("DJI_0101.JPG" in ln and "truncated" in ln for ln in err_lines)


# --- frames that cannot serve detection -------------------------------------------------------------


def _mini2(folder: Path, name: str, rel_alt_m: float, pitch_deg: float) -> Path:
    from tests.ingest.jpeggen import ASCII, RATIONAL, SHORT, build_tiff, dji_xmp, gps_entries, make_jpeg

    tiff = build_tiff(
        [(0x010F, ASCII, "DJI"), (0x0110, ASCII, "FC7303")],
        [(0x9003, ASCII, "2026:05:06 07:08:09"), (0x920A, RATIONAL, [(449, 100)]), (0xA405, SHORT, [24])],
        gps_entries(38.0, 114.5, 100.0 + rel_alt_m),
    )
    xmp = dji_xmp({"RelativeAltitude": f"{rel_alt_m:+.2f}", "GimbalYawDegree": "0.0", "GimbalPitchDegree": f"{pitch_deg:.1f}",
                   "GimbalRollDegree": "0.0", "FlightYawDegree": "0.0"})
    p = folder / name
    p.write_bytes(make_jpeg(tiff, xmp, w=4000, h=3000))
    return p


def test_frames_at_the_horizon_or_too_coarse_are_not_detected_on(tmp_path):
    d = tmp_path / "mini2"
    d.mkdir()
    _mini2(d, "DJI_0001.JPG", 50.0, -90.0)  # nadir, ~1.7 cm/px: usable
    _mini2(d, "DJI_0002.JPG", 1.0, 0.0)  # 1 m, level: the horizon through the middle of the frame
    _mini2(d, "DJI_0003.JPG", 1.0, -5.0)  # 5 deg down: centre GSD tens of metres
    _mini2(d, "DJI_0004.JPG", 1000.0, -90.0)  # 1 km up: 0.34 m/px at the centre

    class Nothing(RecordingDetector):
        def detect_path(self, path, image):
            self.seen.append(Path(path).name)
            return []

    det = Nothing()
    with open_store(tmp_path / "p.db") as store:
        s = process_flight([d], Settings(), store, det)
        frames = {Path(f.path).name: f for f in store.load_frames(s.flight_id)}
        from patrol.pipeline import frames_without_detection

        skipped = {Path(k).name: v for k, v in frames_without_detection(store, s.flight_id).items()}
    assert det.seen == ["DJI_0001.JPG"]
    assert (s.frames_read, s.frames_failed, s.frames_not_usable) == (4, 0, 3)
    assert set(frames) == {"DJI_0001.JPG", "DJI_0002.JPG", "DJI_0003.JPG", "DJI_0004.JPG"}  # all stay listed
    assert "looks at or above the horizon" in skipped["DJI_0002.JPG"]
    assert "5 deg below the horizon (at least 10 deg needed" in skipped["DJI_0003.JPG"]
    assert "centre GSD 0.34 m/px is coarser than 0.3 m/px" in skipped["DJI_0004.JPG"]
    assert any("3 not usable for detection" in ln for ln in s.lines())


def test_ingest_table_says_not_usable(tmp_path):
    from typer.testing import CliRunner

    from patrol.cli import app

    p = _mini2(tmp_path, "DJI_0003.JPG", 1.0, -5.0)
    r = CliRunner().invoke(app, ["ingest", str(p), "--json"])
    assert r.exit_code == 0, r.output
    import json

    row = json.loads(r.stdout.strip().splitlines()[0])
    assert row["error"].startswith("not usable for detection: looks 5 deg below the horizon")
