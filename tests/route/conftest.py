from __future__ import annotations

from tests.store.conftest import store  # noqa: F401  (in-memory store fixture)
