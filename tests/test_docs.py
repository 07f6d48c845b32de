"""Docs can't drift: every CLI command has help text and a section in the README."""

from __future__ import annotations

import re

import typer.main

from patrol.cli import app
from tests.conftest import REPO


def _commands(group, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        full = f"{prefix}{name}"
        out.append((full, cmd))
        if hasattr(cmd, "commands"):
            out.extend(_commands(cmd, full + " "))
    return out


COMMANDS = _commands(typer.main.get_command(app))


def test_there_are_commands() -> None:
    assert len(COMMANDS) >= 1


def test_every_command_has_help() -> None:
    missing = [name for name, cmd in COMMANDS if not (cmd.help or "").strip()]
    assert missing == [], f"commands without help text: {missing}"


def test_every_command_is_in_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [name for name, _ in COMMANDS if not re.search(rf"`patrol {re.escape(name)}\b", readme)]
    assert missing == [], f"commands missing from README.md: {missing}"


def test_bad_input_table_rows_name_real_tests() -> None:
    """Each row of "What happens with bad input and faults" is backed by tests that exist."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What happens with bad input and faults", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("| ") and not ln.startswith("| case") and "---" not in ln]
    assert len(rows) >= 18
    for row in rows:
        refs = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`|`::(\w+)`", row)
        assert refs, f"row without a test: {row}"
        current = None
        for path, name, more in refs:
            if path:
                current = path
            text = (REPO / current).read_text(encoding="utf-8")
            fn = name or more
            if fn:
                assert re.search(rf"^def {fn}\(", text, re.M), f"{current}::{fn} named in README does not exist"
