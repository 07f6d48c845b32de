"""One error root for everything patrol raises on purpose.

Each subclass carries the context a user needs (the file, the field, the line) so that the CLI can
print one clear line. Always ``raise SomeError(...) from e`` so the cause is kept for debugging.
"""

from __future__ import annotations

from pathlib import Path


class PatrolError(Exception):
    """Root of every error patrol raises for bad input, bad config or a failed stage."""


class InputError(PatrolError):
    """A user-supplied file cannot be used. ``path`` names it; the message says what is wrong."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = str(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}")


class BadImage(InputError):
    """The file is not a readable image (truncated, not a JPEG, no pixels)."""


class MissingGeotag(InputError):
    """The photo has no usable position or pose field."""

    def __init__(self, path: str | Path, field: str, message: str | None = None) -> None:
        self.field = field
        super().__init__(path, message or f"missing or invalid {field}")


class BadMetadata(InputError):
    """EXIF/XMP is present but malformed or hostile (for example an XML entity bomb)."""


class BadTelemetry(InputError):
    """A DJI SRT (or other telemetry) file cannot be parsed."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.line = line
        where = f" (line {line})" if line is not None else ""
        super().__init__(path, f"{message}{where}")


class GeometryError(PatrolError):
    """A geometric operation has no answer (for example a ray above the horizon)."""


class ConfigError(PatrolError):
    """A configuration file, zones file or CLI option is invalid."""


class ModelError(PatrolError):
    """A detector model cannot be loaded or run."""


class StoreError(PatrolError):
    """The database cannot be opened, migrated or written."""


class OutputError(PatrolError):
    """A report, evidence image or export cannot be written (disk full, read-only, no permission)."""


class Interrupted(PatrolError):
    """The run was asked to stop (SIGTERM) and stopped at a frame boundary; a rerun resumes."""


class CaseError(PatrolError):
    """A case operation is not allowed (unknown case, invalid status change)."""


class InvalidTransition(CaseError):
    """A case cannot move from its status to the requested one; the message lists what is allowed."""

    def __init__(self, case_id: int, from_status: str, to_status: str, message: str) -> None:
        self.case_id = case_id
        self.from_status = from_status
        self.to_status = to_status
        super().__init__(message)


class VerifyError(PatrolError):
    """A before/after verification cannot be carried out."""
