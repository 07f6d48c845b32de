"""Reviews simulated from a simulated flight's truth (the demo's stand-in for a reviewer).

``simulated_verdict`` is what a perfect reviewer would say of a case, given the true problems: a true
problem of the same category within ``radius_m`` -> ``confirmed``; one of another category there ->
``category:C``; nothing -> ``false_positive``. Pure. ``simulate_reviews`` applies it to the first N
unreviewed active cases of a store (by case id) through ``review_case``. ``score_flight`` judges a
flight's cases the same way: false-positive rate and recall, overall and per category (pure).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from patrol.office.review import ReviewRequest, ReviewVerdict

M_PER_DEG_LAT = 111_320.0


@dataclass(frozen=True)
class TrueProblem:
    category: str
    lat_deg: float
    lon_deg: float


def _dist_m(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    e = (b_lon - a_lon) * M_PER_DEG_LAT * math.cos(math.radians((a_lat + b_lat) / 2))
    return math.hypot(e, (b_lat - a_lat) * M_PER_DEG_LAT)


def simulated_verdict(case: Any, problems: Sequence[TrueProblem], radius_m: float = 3.0) -> ReviewRequest:
    near = sorted((_dist_m(case.lat_deg, case.lon_deg, p.lat_deg, p.lon_deg), p.category) for p in problems)
    near = [(d, c) for d, c in near if d <= radius_m]
    if any(c == case.category for _, c in near):
        return ReviewRequest(ReviewVerdict.CONFIRMED)
    if near:
        return ReviewRequest(ReviewVerdict.CATEGORY, category=near[0][1])
    return ReviewRequest(ReviewVerdict.FALSE_POSITIVE)


def truth_problems(truth: Any) -> list[TrueProblem]:
    """The visible problems of a ``patrol.sim.truth.Truth`` as TrueProblems."""
    return [TrueProblem(o.violation, o.center_lat_deg, o.center_lon_deg) for o in truth.seen_problems() if o.violation]


def simulate_reviews(store: Any, problems: Sequence[TrueProblem], n: int, radius_m: float = 3.0) -> dict[str, int]:
    """Review the first ``n`` unreviewed active cases; returns verdict -> count."""
    from patrol.office.review import review_case
    from patrol.store.reviews import latest_reviews

    done = latest_reviews(store)
    counts: dict[str, int] = {}
    todo = [c for c in store.list_cases() if c.is_active and c.case_id not in done][: max(0, n)]
    for c in todo:
        req = simulated_verdict(c, problems, radius_m)
        review_case(store, c.case_id, req, reviewer="simulated (truth)")
        counts[str(req.verdict)] = counts.get(str(req.verdict), 0) + 1
    return counts


@dataclass(frozen=True)
class FlightScore:
    """A flight's cases judged by ``simulated_verdict`` against the problems its frames showed, overall or
    for one category: how many cases are false positives, and how many true problems a case found."""

    cases: int
    confirmed: int
    wrong_category: int
    false_positives: int
    problems: int
    found: int  # true problems with a case of their category within the radius

    @property
    def fp_rate(self) -> float:
        return self.false_positives / self.cases if self.cases else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.problems if self.problems else 1.0


def score_flight(cases: Sequence[Any], problems: Sequence[TrueProblem], radius_m: float = 3.0) -> dict[str, FlightScore]:
    """Score cases (anything with ``category``, ``lat_deg``, ``lon_deg``) as a perfect reviewer would:
    ``"all"`` and each category seen among cases or problems -> FlightScore. A case's verdict is
    ``simulated_verdict``'s (a duplicate case on a real problem is confirmed, not a false positive); a
    problem is found when a case of its category lies within ``radius_m``. Pure."""
    verdicts = [(c.category, simulated_verdict(c, problems, radius_m).verdict) for c in cases]
    found = [(p.category, any(c.category == p.category and _dist_m(c.lat_deg, c.lon_deg, p.lat_deg, p.lon_deg) <= radius_m
                              for c in cases)) for p in problems]

    def one(cat: str | None) -> FlightScore:
        v = [x for k, x in verdicts if cat is None or k == cat]
        f = [x for k, x in found if cat is None or k == cat]
        return FlightScore(
            cases=len(v),
            confirmed=sum(x == ReviewVerdict.CONFIRMED for x in v),
            wrong_category=sum(x == ReviewVerdict.CATEGORY for x in v),
            false_positives=sum(x == ReviewVerdict.FALSE_POSITIVE for x in v),
            problems=len(f),
            found=sum(f),
        )

    cats = sorted({k for k, _ in verdicts} | {k for k, _ in found})
    return {"all": one(None), **{k: one(k) for k in cats}}
