from __future__ import annotations

import pytest
from typer.testing import CliRunner

from patrol.cli import app
from patrol.config import Settings
from patrol.demo import run_demo

runner = CliRunner()


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["sim", "flight", "--out", "X", "--scenario", "during"], 2, "scenario"),
        (["sim", "flight", "--out", "X", "--path", "spiral"], 2, "path"),
        (["sim", "flight", "--out", "X", "--pitch", "10"], 2, "pitch"),
        (["sim", "flight", "--out", "X", "--frames", "0"], 2, "frames"),
        (["sim", "flight", "--out", "X", "--size-m", "2000", "--res-m", "0.01"], 2, "px square"),
        (["sim", "world", "--out", "X", "--size-m", "2000", "--res-m", "0.01"], 2, "px square"),
        (["sim", "video", "--out", "X", "--scenario", "now"], 2, "scenario"),
    ],
)
def test_usage_errors(tmp_path, args, code, text) -> None:
    args = [str(tmp_path / a) if a == "X" else a for a in args]
    r = runner.invoke(app, args)
    assert r.exit_code == code, r.output
    assert text in (r.output + (r.stderr if hasattr(r, "stderr") else "")).lower()
    assert "Traceback" not in r.output


def test_unwritable_out_is_one_line_not_a_traceback(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = runner.invoke(app, ["sim", "flight", "--out", str(blocker / "sub"), "--frames", "1", "--size-m", "40", "--res-m", "0.1"])
    assert r.exit_code == 1, r.output
    assert "cannot write" in r.output and "Traceback" not in r.output


def test_sim_flight_and_world(tmp_path) -> None:
    r = runner.invoke(app, ["sim", "flight", "--out", str(tmp_path / "f"), "--frames", "1", "--size-m", "40", "--res-m", "0.1",
                            "--altitude", "60", "--scenario", "after"])
    assert r.exit_code == 0, r.output
    assert "wrote 1 photos" in r.output
    assert (tmp_path / "f" / "DJI_0001.JPG").stat().st_size > 100_000
    r = runner.invoke(app, ["sim", "world", "--out", str(tmp_path / "w"), "--size-m", "40", "--res-m", "0.1"])
    assert r.exit_code == 0, r.output
    assert {p.name for p in (tmp_path / "w").iterdir()} == {"world.jpg", "objects.json", "zones.geojson"}


def test_demo_generates_once_then_reuses(tmp_path) -> None:
    kw = dict(size_m=60.0, res_m=0.1, image_wh=(640, 480))
    logs: list[str] = []
    r1 = run_demo(tmp_path, Settings(), frames=2, seed=1, log=logs.append, detector="truth", **kw)
    assert r1.generated == ["before", "after"] and r1.exit_code == 0
    text = "\n".join(r1.lines())
    assert "before: 2 photos read, 0 failed" in text and "after: 2 photos read" in text
    assert str(tmp_path.resolve()) in text
    r2 = run_demo(tmp_path, Settings(), frames=2, seed=1, detector="truth", **kw)
    assert r2.generated == []
