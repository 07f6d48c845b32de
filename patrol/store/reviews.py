"""Repository functions for reviews (table ``case_reviews``, migration 0002). Same Store, same
transactions; kept beside repo.py so that file stays the flights/frames/cases core."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from patrol.store import codec

_COLUMNS = "review_id, case_id, event_id, at, verdict, duplicate_of, category, previous_category, reviewer, note"


def save_review(store: Any, review: Any) -> Any:
    """Insert a Review (its review_id is ignored); returns it with the assigned id."""
    r = review.request
    new_id = store._insert(
        "INSERT INTO case_reviews (case_id, event_id, at, verdict, duplicate_of, category, previous_category, "
        "reviewer, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (review.case_id, review.event_id or None, codec.ts(review.at), str(r.verdict), r.duplicate_of, r.category,
         review.previous_category, review.reviewer, review.note),
        "review_id",
    )
    return dataclasses.replace(review, review_id=new_id)


def _review(row: Any) -> Any:
    from patrol.office.review import Review, ReviewRequest

    return Review(
        case_id=row["case_id"],
        at=codec.parse_ts(row["at"]),  # type: ignore[arg-type]
        request=ReviewRequest(row["verdict"], duplicate_of=row["duplicate_of"], category=row["category"]),
        previous_category=row["previous_category"],
        reviewer=row["reviewer"],
        note=row["note"],
        event_id=row["event_id"] or 0,
        review_id=row["review_id"],
    )


def reviews(store: Any, case_id: int | None = None) -> list[Any]:
    """Every review (of one case when given), oldest first."""
    sql = f"SELECT {_COLUMNS} FROM case_reviews"
    params: tuple = ()
    if case_id is not None:
        sql += " WHERE case_id = ?"
        params = (case_id,)
    return [_review(r) for r in store._x(sql + " ORDER BY review_id", params)]


def latest_reviews(store: Any, case_ids: Iterable[int] | None = None) -> dict[int, Any]:
    """case_id -> its latest Review (for the given cases, or every reviewed case)."""
    ids = None if case_ids is None else [int(i) for i in case_ids]
    if ids is not None and not ids:
        return {}
    sql = f"SELECT {_COLUMNS} FROM case_reviews WHERE review_id IN (SELECT max(review_id) FROM case_reviews GROUP BY case_id)"
    params: list[Any] = []
    if ids is not None:
        sql += f" AND case_id IN ({', '.join('?' * len(ids))})"
        params = ids
    return {r.case_id: r for r in (_review(row) for row in store._x(sql, params))}


def all_events(store: Any) -> dict[int, list[Any]]:
    """case_id -> its events in order, for the whole store in one query (statistics)."""
    out: dict[int, list[Any]] = {}
    for r in store._x(f"SELECT {codec.EVENT_COLUMNS} FROM case_events ORDER BY case_id, event_id"):
        e = codec.event_from_row(r)
        out.setdefault(e.case_id, []).append(e)
    return out
