"""Storage: schema, named migrations and repository functions (SQLite default).

``open_store(url)`` -> ``Store`` (a path, ``sqlite:///path`` or ``:memory:``; PostgreSQL URLs raise
StoreError until that dialect is installed). ``flight_content_key(paths)`` identifies a flight by its
files' content. See patrol/store/repo.py for the repository functions.
"""

from patrol.store.repo import (
    FlightRecord,
    QueuedVerification,
    Store,
    StoredFrame,
    VerificationRecord,
    flight_content_key,
    open_store,
)

__all__ = [
    "FlightRecord",
    "QueuedVerification",
    "Store",
    "StoredFrame",
    "VerificationRecord",
    "flight_content_key",
    "open_store",
]
