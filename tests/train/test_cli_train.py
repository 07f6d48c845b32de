"""`patrol train` exit codes for user errors (no training is started)."""

from __future__ import annotations

from typer.testing import CliRunner

from patrol.cli import app
from patrol.cli.app import EXIT_INPUT_FAILED, EXIT_USAGE

runner = CliRunner()


def test_no_data_is_a_usage_error(tmp_path) -> None:
    r = runner.invoke(app, ["train", "--out", str(tmp_path / "o")])
    assert r.exit_code == EXIT_USAGE
    assert "nothing to train on" in r.output


def test_missing_folder_is_one_line_naming_it(tmp_path) -> None:
    r = runner.invoke(app, ["train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert r.exit_code == EXIT_INPUT_FAILED
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "nope" in lines[0] and "not a folder" in lines[0]
    assert "Traceback" not in r.output


def test_bad_time_limit_is_a_usage_error(tmp_path) -> None:
    r = runner.invoke(app, ["train", "--data", str(tmp_path), "--time-min", "0", "--out", str(tmp_path / "o")])
    assert r.exit_code == EXIT_USAGE


def test_folder_without_labels(tmp_path) -> None:
    (tmp_path / "x.jpg").write_bytes(b"")
    r = runner.invoke(app, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert r.exit_code == EXIT_INPUT_FAILED
    assert "no labels found" in r.output


def test_bad_oversample_is_a_usage_error(tmp_path) -> None:
    r = runner.invoke(app, ["train", "--data", str(tmp_path), "--oversample", "aerial-cars", "--out", str(tmp_path / "o")])
    assert r.exit_code == EXIT_USAGE
    assert "expected SOURCE=N" in r.output and "Traceback" not in r.output
