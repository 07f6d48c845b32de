"""Reviews: a person's judgement of a case (confirmed, false positive, duplicate of N, wrong category).

A review is recorded twice, in one transaction: as a typed ``Review`` row (what training and the
statistics read) and as a case event from the reviewer (the history). What it does to the case:

| verdict | case |
|---|---|
| ``confirmed`` | status unchanged (a closed false positive / duplicate is reopened) |
| ``false_positive`` | -> ``closed_false_positive`` |
| ``duplicate:M`` | -> ``duplicate`` of case M |
| ``category:C`` | category (and detector class) corrected to C, status unchanged |

Reviewing a case again with the verdict its latest review already has changes nothing (idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from patrol.cases import lifecycle
from patrol.cases.model import CATEGORIES, Case, CaseEvent, CaseStatus, EventSource, now_utc, utc
from patrol.errors import CaseError, ConfigError

#: Violation category -> the detector class that finds it (for a corrected category).
CLASS_OF_CATEGORY: dict[str, str] = {
    "illegal_parking": "vehicle",
    "street_vending": "vendor_stall",
    "road_damage": "road_damage",
    "exposed_garbage": "garbage",
}
NOTE_MAX_CHARS = 2000
REVIEWER_MAX_CHARS = 100


class ReviewVerdict(StrEnum):
    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"
    DUPLICATE = "duplicate"
    CATEGORY = "category"


@dataclass(frozen=True)
class ReviewRequest:
    """What a reviewer asked for: a verdict, with the case it duplicates or the right category."""

    verdict: ReviewVerdict
    duplicate_of: int | None = None
    category: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", ReviewVerdict(self.verdict))
        if (self.verdict == ReviewVerdict.DUPLICATE) != (self.duplicate_of is not None):
            raise ValueError("duplicate_of is set exactly for the duplicate verdict")
        if (self.verdict == ReviewVerdict.CATEGORY) != (self.category is not None):
            raise ValueError("category is set exactly for the category verdict")
        if self.duplicate_of is not None and self.duplicate_of <= 0:
            raise ValueError(f"duplicate_of must be a case number, got {self.duplicate_of}")
        if self.category is not None and self.category not in CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES)}, got {self.category!r}")

    @property
    def label(self) -> str:
        """The CLI form: ``confirmed``, ``false_positive``, ``duplicate:M``, ``category:C``."""
        if self.verdict == ReviewVerdict.DUPLICATE:
            return f"duplicate:{self.duplicate_of}"
        if self.verdict == ReviewVerdict.CATEGORY:
            return f"category:{self.category}"
        return str(self.verdict)


@dataclass(frozen=True)
class Review:
    """A stored review of one case. ``previous_category`` is the case's category when reviewed (what
    the model said), ``event_id`` the history event written with it; ids are 0 until saved."""

    case_id: int
    at: datetime
    request: ReviewRequest
    previous_category: str
    reviewer: str = ""
    note: str = ""
    event_id: int = 0
    review_id: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", utc(self.at))
        if self.case_id <= 0:
            raise ValueError(f"case_id must be > 0, got {self.case_id}")

    @property
    def verdict(self) -> ReviewVerdict:
        return self.request.verdict

    @property
    def is_false_positive(self) -> bool:
        return self.request.verdict == ReviewVerdict.FALSE_POSITIVE

    def describe(self) -> str:
        """Short human text: "confirmed", "false positive", "duplicate of case 4", "category road damage (was ...)"."""
        r = self.request
        if r.verdict == ReviewVerdict.DUPLICATE:
            return f"duplicate of case {r.duplicate_of}"
        if r.verdict == ReviewVerdict.CATEGORY:
            return f"category {r.category} (was {self.previous_category})"
        return str(r.verdict).replace("_", " ")


_ALIASES = {"fp": "false_positive", "false-positive": "false_positive", "confirm": "confirmed", "dup": "duplicate"}


def parse_review(text: str) -> ReviewRequest:
    """``confirmed | false_positive | duplicate:M | category:C`` -> ReviewRequest.

    Raises ConfigError (one line saying what was expected) for anything else."""
    raw = (text or "").strip().lower()
    head, sep, arg = raw.partition(":")
    head = _ALIASES.get(head, head)
    expected = "expected confirmed, false_positive, duplicate:N or category:" + "|".join(CATEGORIES)
    try:
        verdict = ReviewVerdict(head)
    except ValueError as e:
        raise ConfigError(f"--as {text!r}: unknown review; {expected}") from e
    try:
        if verdict == ReviewVerdict.DUPLICATE:
            if not arg.strip().isdigit():
                raise ConfigError(f"--as {text!r}: duplicate needs the case number, e.g. duplicate:12")
            return ReviewRequest(verdict, duplicate_of=int(arg))
        if verdict == ReviewVerdict.CATEGORY:
            return ReviewRequest(verdict, category=arg.strip().replace("-", "_") or None)
        if sep:
            raise ConfigError(f"--as {text!r}: {verdict} takes no ':' argument; {expected}")
        return ReviewRequest(verdict)
    except ValueError as e:
        raise ConfigError(f"--as {text!r}: {e}") from e


def _apply(case: Case, req: ReviewRequest, *, at: datetime, note: str) -> tuple[Case, CaseEvent]:
    """Pure: the case after the review and the reviewer event that records it."""
    R = EventSource.REVIEWER
    label = f"review: {req.label}" + (f" — {note}" if note else "")
    if req.verdict == ReviewVerdict.FALSE_POSITIVE:
        return lifecycle.transition(case, CaseStatus.CLOSED_FALSE_POSITIVE, at=at, source=R, note=label)
    if req.verdict == ReviewVerdict.DUPLICATE:
        return lifecycle.transition(case, CaseStatus.DUPLICATE, at=at, source=R, note=label, duplicate_of=req.duplicate_of)
    if req.verdict == ReviewVerdict.CONFIRMED and case.status in (CaseStatus.CLOSED_FALSE_POSITIVE, CaseStatus.DUPLICATE):
        return lifecycle.transition(case, CaseStatus.REOPENED, at=at, source=R, note=label)
    new = case
    if req.verdict == ReviewVerdict.CATEGORY:
        new = replace(case, category=req.category, class_name=CLASS_OF_CATEGORY[req.category or ""], updated_at=at)
    else:
        new = replace(case, updated_at=at)
    event = CaseEvent(case_id=case.case_id, at=at, from_status=case.status, to_status=case.status, source=R, note=label)
    return new, event


def _check_text(note: str, reviewer: str) -> None:
    if len(note) > NOTE_MAX_CHARS:
        raise ConfigError(f"--note: at most {NOTE_MAX_CHARS} characters, got {len(note)}")
    if len(reviewer) > REVIEWER_MAX_CHARS:
        raise ConfigError(f"reviewer: at most {REVIEWER_MAX_CHARS} characters, got {len(reviewer)}")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in note + reviewer):
        raise ConfigError("--note: control characters are not allowed")


def review_case(
    store: Any, case_id: int, request: ReviewRequest, *, note: str = "", reviewer: str = "", at: datetime | None = None
) -> tuple[Review, bool]:
    """Record a review of case ``case_id`` (and move the case as the table above says), in one
    transaction. Returns (the review, True) or, when the case's latest review already says the same,
    (that review, False) without writing anything.

    Raises CaseError for an unknown case or duplicate target, InvalidTransition when the lifecycle does
    not allow it (e.g. a duplicate of a case that is itself a duplicate), ConfigError for a bad note.
    """
    from patrol.store import reviews as review_store

    _check_text(note, reviewer)
    at = utc(at) if at is not None else now_utc()
    with store.transaction():
        case = store.get_case(case_id)
        if case is None:
            raise CaseError(f"no case {case_id}")
        last = review_store.latest_reviews(store, [case_id]).get(case_id)
        if last is not None and last.request == request and (
            request.verdict != ReviewVerdict.CATEGORY or case.category == request.category
        ):
            return last, False
        if request.duplicate_of is not None:
            target = store.get_case(request.duplicate_of)
            if target is None:
                raise CaseError(f"case {case_id}: cannot mark as duplicate of case {request.duplicate_of}: no such case")
            if target.status == CaseStatus.DUPLICATE:
                raise CaseError(f"case {case_id}: case {request.duplicate_of} is itself a duplicate of case {target.duplicate_of}")
        if request.category is not None and request.category == case.category:
            raise CaseError(f"case {case_id} already has category {case.category}; use confirmed")
        new, event = _apply(case, request, at=at, note=note)
        store.update_case(new)
        saved_event = store.add_event(event)
        review = Review(case_id=case_id, at=at, request=request, previous_category=case.category,
                        reviewer=reviewer, note=note, event_id=saved_event.event_id)
        return review_store.save_review(store, review), True
