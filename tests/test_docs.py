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


def _documented_invocations(readme: str) -> list[list[str]]:
    """The command words of every `patrol ...` the README shows (inline code or a code-block line):
    lower-case words up to the first argument, option or placeholder."""
    spans = re.findall(r"`patrol ([^`]*)`", readme) + re.findall(r"^patrol (.*)$", readme, flags=re.M)
    out = []
    for span in spans:
        words = []
        for tok in span.split():
            if not re.fullmatch(r"[a-z][a-z0-9-]*", tok):
                break
            words.append(tok)
        if words:
            out.append(words)
    return out


def test_every_documented_command_exists() -> None:
    """The other direction: each command the README shows is a real command (a group's subcommand
    included), so COMMANDS is the whole command tree and the README names no removed command."""
    by_name = dict(COMMANDS)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    invocations = _documented_invocations(readme)
    assert len(invocations) >= 20, "the README shows fewer patrol commands than expected: is the parse broken?"
    unknown = set()
    for words in invocations:
        cmd = by_name.get(words[0])
        if cmd is None:
            unknown.add(words[0])
        elif hasattr(cmd, "commands") and len(words) > 1 and f"{words[0]} {words[1]}" not in by_name:
            unknown.add(f"{words[0]} {words[1]}")
    assert unknown == set(), f"README.md shows commands the CLI does not have: {sorted(unknown)}"


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
