from __future__ import annotations

import pytest

import patrol.store.repo as repo
from patrol.errors import StoreError
from patrol.store import open_store
from patrol.store.schema import MIGRATIONS


def test_names_are_unique_and_ordered() -> None:
    names = [n for n, _ in MIGRATIONS]
    assert names == sorted(names) and len(set(names)) == len(names)


def test_fresh_database_has_every_table(store) -> None:
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"migrations", "flights", "flight_stages", "frames", "detections", "findings", "cases",
            "case_events", "verification_queue", "verifications"} <= tables


def test_upgrade_applies_only_new_migrations_each_recorded(tmp_path, monkeypatch) -> None:
    db = tmp_path / "old.db"
    with open_store(db) as s:  # a database made by the "old" version
        s.begin_flight("F", name="f", source="/x", n_files=1)
    newer = MIGRATIONS + [("0099_flight_notes", ["ALTER TABLE flights ADD COLUMN notes TEXT"])]
    monkeypatch.setattr(repo, "MIGRATIONS", newer)
    with open_store(db) as s:
        assert s.applied_migrations() == [*(n for n, _ in MIGRATIONS), "0099_flight_notes"]
        assert s.conn.execute("SELECT notes FROM flights WHERE flight_id = 'F'").fetchone()[0] is None
        assert s.migrate() == []  # nothing left to do


def test_failing_migration_rolls_back_and_is_not_recorded(tmp_path, monkeypatch) -> None:
    db = tmp_path / "p.db"
    open_store(db).close()
    broken = MIGRATIONS + [
        ("0099_broken", ["CREATE TABLE half_done (x INTEGER)", "ALTER TABLE no_such_table ADD COLUMN y TEXT"])
    ]
    monkeypatch.setattr(repo, "MIGRATIONS", broken)
    with pytest.raises(StoreError, match="no_such_table"):
        open_store(db)
    monkeypatch.setattr(repo, "MIGRATIONS", MIGRATIONS)
    with open_store(db) as s:
        assert s.applied_migrations() == [n for n, _ in MIGRATIONS]
        assert s.conn.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchone() is None
