"""A random walk through the lifecycle: the event history always replays to the stored case."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patrol.cases import lifecycle
from patrol.cases.service import set_status, update_cases
from patrol.store import open_store
from tests.cases.helpers import T0, finding


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["review", "flight"]), st.integers(0, 20)), min_size=1, max_size=15))
def test_event_history_replays_to_the_case(steps) -> None:
    with open_store(":memory:") as store:
        store.begin_flight("F0", name="f0", source="-", n_files=1)
        first = [finding("a", "road_damage", 0, 0), finding("b", "road_damage", 30, 0)]
        store.save_findings("F0", first)
        update_cases(store, "F0", first, radius_m=5, at=T0)
        at = T0
        for i, (kind, pick) in enumerate(steps):
            at += timedelta(hours=1)
            case = store.get_case(1)
            if kind == "review":
                targets = lifecycle.allowed_targets(case.status, "reviewer")
                to = targets[pick % len(targets)]
                set_status(store, 1, to, note=f"step {i}", duplicate_of=2 if to == "duplicate" else None, at=at)
            else:
                fid = f"F{i + 1}"
                fs = [finding(f"s{i}", "road_damage", 1.0, 0.5)]
                store.begin_flight(fid, name=fid, source="-", n_files=1)
                store.save_findings(fid, fs)
                s = update_cases(store, fid, fs, radius_m=5, at=at)
                assert s.new + s.reobserved == 1
        case = store.get_case(1)
        events = store.events(1)
        assert events[0].kind == "opened"
        for prev, nxt in zip(events, events[1:]):
            assert nxt.from_status == prev.to_status and nxt.at >= prev.at
        assert events[-1].to_status == case.status
        assert case.observations == 1 + sum(1 for e in events if e.finding_id and e.kind != "opened")
        assert (case.duplicate_of is not None) == (case.status == "duplicate")
        # every finding of every flight is linked to exactly one case
        unlinked = store.conn.execute("SELECT count(*) FROM findings WHERE case_id IS NULL").fetchone()[0]
        assert unlinked == 0
