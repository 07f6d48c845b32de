"""The typer app and what every command shares: error handling, exit codes, common options."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from patrol.errors import ConfigError, Interrupted, PatrolError

# Exit codes, documented in the README.
EXIT_OK = 0
EXIT_INPUT_FAILED = 1  # the run finished but some input failed (or a stage failed)
EXIT_USAGE = 2  # bad option, bad config: nothing was done
EXIT_INTERRUPTED = 143  # SIGTERM: stopped at a frame boundary, the next run resumes

app = typer.Typer(
    name="patrol",
    help="Drone aerial-patrol pipeline: geotag frames, detect problems, map them, track cases, verify fixes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Shared options, defined once.
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Settings TOML file (defaults: configs/default.toml values).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]
DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database: SQLite file path or URL (default patrol.db).")
]

T = TypeVar("T")


@app.callback()
def _root() -> None:
    """Drone aerial-patrol pipeline: geotag frames, detect problems, map them, track cases, verify fixes.

    Exit codes: 0 every input was read, 1 some input (or a flight) failed, 2 usage or config error.
    """


def err(message: str) -> None:
    """One line on stderr."""
    typer.echo(message, err=True)


def guarded(fn: Callable[[], T]) -> T:
    """Run ``fn``; turn a PatrolError into one clear stderr line and the right exit code."""
    try:
        return fn()
    except ConfigError as e:
        err(f"error: {e}")
        raise typer.Exit(EXIT_USAGE) from e
    except Interrupted as e:
        err(f"error: {e}")
        raise typer.Exit(EXIT_INTERRUPTED) from e
    except PatrolError as e:
        err(f"error: {e}")
        raise typer.Exit(EXIT_INPUT_FAILED) from e
    except KeyboardInterrupt as e:
        err("interrupted")
        raise typer.Exit(130) from e


def progress_enabled() -> bool:
    """Show progress bars only to a person at a terminal (not in cron logs or pipes)."""
    return sys.stderr.isatty()


def load(config: Path | None, overrides: dict[str, Any] | None = None):
    from patrol.config import load_settings

    return load_settings(config, overrides)


@app.command()
def version() -> None:
    """Print the patrol version."""
    from patrol import __version__

    typer.echo(__version__)
