"""Shared fixtures: the real sample data folder (skipped with a reason when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


def shared_path(*parts: str) -> Path:
    """Path under ../shared/data; the calling test is skipped when it is missing."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real sample data not available: {p} (see ../shared/data/README.md)")
    return p


@pytest.fixture
def shared_data() -> Path:
    return shared_path()
