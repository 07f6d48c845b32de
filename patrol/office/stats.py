"""The city's numbers over time, pure: cases and their events in, plain series out (no I/O, no plots).

- opened / closed per ISO week (Monday 00:00 UTC) per category ("closed": the first time a case left
  the active statuses: fixed, closed, closed as a false positive or as a duplicate);
- median days from first seen to the first ``fixed`` per unit;
- overdue cases per unit at the end of each week (status replayed from the events);
- per category, how the fixed cases were confirmed: by a later flight (a ``verification`` event) or
  only by a person;
- false-positive rate per category from the latest review of each reviewed case (the category the
  model gave it, ``previous_category``).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from patrol.cases.model import ACTIVE_STATUSES, CaseStatus, EventSource

NO_UNIT = "(no unit)"


def week_start(dt: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week holding ``dt``."""
    d = dt.astimezone(timezone.utc)
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc) - timedelta(days=d.weekday())


@dataclass(frozen=True)
class WeeklySeries:
    """``weeks`` (Monday starts); ``counts[name][i]`` belongs to ``weeks[i]``."""

    weeks: tuple[datetime, ...]
    counts: Mapping[str, tuple[int, ...]]


@dataclass(frozen=True)
class FixShare:
    """Per category: cases fixed and confirmed by a later flight, fixed by a person only, still active,
    closed otherwise (false positive, duplicate, closed)."""

    by_flight: int
    by_person: int
    active: int
    closed_other: int

    @property
    def fixed(self) -> int:
        return self.by_flight + self.by_person


@dataclass(frozen=True)
class FpRate:
    reviewed: int
    false_positives: int

    @property
    def rate(self) -> float:
        return self.false_positives / self.reviewed if self.reviewed else 0.0


@dataclass(frozen=True)
class CityStats:
    since: datetime | None
    now: datetime
    n_cases: int
    opened: WeeklySeries  # per category
    closed: WeeklySeries  # per category
    median_fix_days: Mapping[str, tuple[float, int]]  # unit -> (median days, number of fixed cases)
    overdue: WeeklySeries  # per unit, counted at each week's end (the last one at ``now``)
    fix_share: Mapping[str, FixShare]  # per category
    fp_rate: Mapping[str, FpRate]  # per category the model gave


def _status_at(events: Sequence[Any], t: datetime) -> CaseStatus | None:
    status = None
    for e in events:
        if e.at > t:
            break
        status = e.to_status
    return status


def _first(events: Sequence[Any], pred) -> Any | None:
    return next((e for e in events if pred(e)), None)


def _weeks(start: datetime, end: datetime) -> tuple[datetime, ...]:
    w, out = week_start(start), []
    while w <= end:
        out.append(w)
        w += timedelta(days=7)
    return tuple(out)


def _series(weeks: tuple[datetime, ...], items: Sequence[tuple[str, datetime]]) -> WeeklySeries:
    index = {w: i for i, w in enumerate(weeks)}
    counts: dict[str, list[int]] = {}
    for key, at in items:
        i = index.get(week_start(at))
        if i is not None:
            counts.setdefault(key, [0] * len(weeks))[i] += 1
    return WeeklySeries(weeks, {k: tuple(v) for k, v in sorted(counts.items())})


def city_stats(cases: Sequence[Any], events: Mapping[int, Sequence[Any]], reviews: Mapping[int, Any],
               *, now: datetime, overdue_days: float, since: datetime | None = None) -> CityStats:
    """Every number of the stats page. ``events``: case_id -> events in order; ``reviews``: case_id ->
    latest Review. With ``since`` only cases opened then or later count."""
    chosen = [c for c in cases if since is None or c.opened_at >= since]
    start = since or min((c.opened_at for c in chosen), default=now)
    weeks = _weeks(start, now)
    closed_items, fix_days, share = [], {}, {}
    timeline = {c.case_id: sorted(events.get(c.case_id, ()), key=lambda e: (e.at, e.event_id)) for c in chosen}
    for c in chosen:
        evs = timeline[c.case_id]
        left = _first(evs, lambda e: e.from_status is not None and e.from_status in ACTIVE_STATUSES
                      and e.to_status not in ACTIVE_STATUSES)
        if left is not None:
            closed_items.append((c.category, left.at))
        fixed = _first(evs, lambda e: e.to_status == CaseStatus.FIXED)
        if fixed is not None:
            fix_days.setdefault(c.unit or NO_UNIT, []).append((fixed.at - c.opened_at).total_seconds() / 86400.0)
        by_flight = any(e.to_status == CaseStatus.FIXED and e.source == EventSource.VERIFICATION for e in evs)
        s = share.setdefault(c.category, [0, 0, 0, 0])
        if c.status == CaseStatus.FIXED:
            s[0 if by_flight else 1] += 1
        elif c.is_active:
            s[2] += 1
        else:
            s[3] += 1
    ends = [min(w + timedelta(days=7), now) for w in weeks]
    units = sorted({c.unit or NO_UNIT for c in chosen})
    overdue = {u: [0] * len(weeks) for u in units}
    for c in chosen:
        evs = timeline[c.case_id]
        for i, t in enumerate(ends):
            st = _status_at(evs, t)
            if st in ACTIVE_STATUSES and (t - c.opened_at).total_seconds() > overdue_days * 86400.0:
                overdue[c.unit or NO_UNIT][i] += 1
    fp: dict[str, list[int]] = {}
    ids = {c.case_id for c in chosen}
    for cid, r in reviews.items():
        if cid in ids:
            x = fp.setdefault(r.previous_category, [0, 0])
            x[0] += 1
            x[1] += int(r.is_false_positive)
    return CityStats(
        since=since, now=now, n_cases=len(chosen),
        opened=_series(weeks, [(c.category, c.opened_at) for c in chosen]),
        closed=_series(weeks, closed_items),
        median_fix_days={u: (statistics.median(d), len(d)) for u, d in sorted(fix_days.items())},
        overdue=WeeklySeries(weeks, {u: tuple(v) for u, v in overdue.items()}),
        fix_share={k: FixShare(*v) for k, v in sorted(share.items())},
        fp_rate={k: FpRate(*v) for k, v in sorted(fp.items())},
    )
