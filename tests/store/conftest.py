"""In-memory database fixture (a fresh, migrated store per test)."""

from __future__ import annotations

import pytest

from patrol.store import open_store


@pytest.fixture
def store():
    s = open_store(":memory:")
    yield s
    s.close()
