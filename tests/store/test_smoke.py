from __future__ import annotations

from patrol.store import open_store
from patrol.store.schema import MIGRATIONS

ALL = [n for n, _ in MIGRATIONS]


def test_open_memory_store_is_migrated(store) -> None:
    assert store.applied_migrations() == ALL


def test_reopen_file_store_applies_nothing(tmp_path) -> None:
    db = tmp_path / "p.db"
    with open_store(db) as s:
        assert s.applied_migrations() == ALL
    with open_store(f"sqlite:///{db}") as s:
        assert s.migrate() == []
