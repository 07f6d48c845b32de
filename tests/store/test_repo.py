from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patrol.cases.model import Case, CaseEvent, CaseStatus
from patrol.detect.base import Detection
from patrol.errors import StoreError
from patrol.ingest.frame import FrameMeta, Intrinsics
from patrol.store import flight_content_key, open_store
from tests.cases.helpers import T0, finding, square

times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
)
opt_text = st.none() | st.text(min_size=1, max_size=20)
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=0, max_value=1e6)


@st.composite
def cases(draw) -> Case:
    status = draw(st.sampled_from(list(CaseStatus)))
    x1, y1 = draw(st.floats(0, 5000)), draw(st.floats(0, 5000))
    return Case(
        case_id=0,
        category=draw(st.sampled_from(["illegal_parking", "street_vending", "road_damage", "exposed_garbage"])),
        class_name=draw(st.sampled_from(["vehicle", "vendor_stall", "road_damage", "garbage"])),
        lat_deg=draw(st.floats(-90, 90)),
        lon_deg=draw(st.floats(-180, 180)),
        status=status,
        opened_at=draw(times),
        updated_at=draw(times),
        first_flight_id="F1",
        last_flight_id=draw(st.sampled_from(["F1", "F2"])),
        grid_cell=draw(opt_text),
        unit=draw(opt_text),
        zone_name=draw(opt_text),
        evidence_frame=draw(opt_text),
        evidence_bbox_xyxy_px=draw(st.none() | st.just((x1, y1, x1 + draw(st.floats(0.5, 100)), y1 + 1.5))),
        duplicate_of=1 if status == CaseStatus.DUPLICATE else None,
        last_seen_at=draw(st.none() | times),
        observations=draw(st.integers(0, 10_000)),
        score=draw(st.floats(0, 1)),
        uncertainty_m=draw(finite),
    )


def _two_flights(store) -> None:
    store.begin_flight("F1", name="one", source="/a", n_files=1)
    store.begin_flight("F2", name="two", source="/b", n_files=1)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases())
def test_case_round_trip(store, c) -> None:
    if not store.get_flight("F1"):
        _two_flights(store)
        store.insert_case(replace(c, status="open", duplicate_of=None))  # case 1 exists for duplicate_of
    saved = store.insert_case(c)
    assert saved.case_id > 1
    assert store.get_case(saved.case_id) == saved
    changed = replace(saved, observations=saved.observations + 1, unit="X")
    store.update_case(changed)
    assert store.get_case(saved.case_id) == changed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(times, st.sampled_from(list(CaseStatus)), st.sampled_from(["flight", "verification", "reviewer"]), st.text(max_size=50), opt_text)
def test_event_round_trip(store, at, to, source, note, evidence) -> None:
    if not store.get_flight("F1"):
        _two_flights(store)
        store.insert_case(Case(0, "road_damage", "road_damage", 1, 2, "open", T0, T0, "F1", "F1"))
    ev = store.add_event(CaseEvent(1, at, CaseStatus.OPEN, to, source, flight_id="F1", finding_id="x", evidence=evidence, note=note))
    assert ev.event_id > 0 and store.events(1)[-1] == ev


def test_frames_detections_findings_round_trip(store) -> None:
    _two_flights(store)
    meta = FrameMeta(
        path="/in/DJI_0001.JPG",
        size_wh=(4000, 3000),
        lat_deg=38.04,
        lon_deg=114.51,
        rel_alt_m=80.0,
        gimbal_pitch_deg=-90.0,
        time=datetime(2026, 5, 1, 9, 30, tzinfo=timezone.utc),
        intrinsics=Intrinsics(2900.0, 2900.0, 2000.0, 1500.0, (4000, 3000), "xmp-calibrated"),
    )
    fp = square(0, 0, 50, 40)
    store.save_frame("F1", meta.path, meta, gsd_m=0.021, footprint_wgs84=fp)
    store.save_frame("F1", "/in/bad.JPG", None, error="not a JPEG")
    store.save_frame("F1", meta.path, meta, gsd_m=0.021, footprint_wgs84=fp)  # idempotent
    frames = store.load_frames("F1")
    assert [f.path for f in frames] == ["/in/DJI_0001.JPG", "/in/bad.JPG"]
    assert frames[0].meta == meta and frames[0].gsd_m == 0.021 and frames[1].error == "not a JPEG"
    import shapely

    assert shapely.from_wkt(frames[0].footprint_wkt).equals_exact(fp, 1e-12)
    assert store.get_frame("F1", meta.path) == frames[0] and store.get_frame("F2", meta.path) is None

    dets = [Detection((1, 2, 30, 40), "vehicle", 0.9), Detection((5, 5, 9, 9), "garbage", 0.4)]
    store.save_detections("F1", meta.path, dets)
    store.save_detections("F1", meta.path, dets)  # replaces, does not add
    assert store.load_detections("F1") == {meta.path: dets} and store.count_detections("F1") == 2

    fs = [finding("a", "road_damage", 0, 0), finding("b", None, 3, 3)]
    store.save_findings("F1", fs)
    store.save_findings("F1", fs)
    assert store.load_findings("F1") == fs


def test_flights_and_stage_markers(store) -> None:
    rec = store.begin_flight("K", name="2026-05-01 flight", source="/inbox/x", n_files=12, started_at=T0)
    assert rec.status == "processing" and rec.started_at == T0
    assert store.begin_flight("K", name="other", source="/y", n_files=1) == rec  # known: unchanged
    assert not store.stage_done("K", "ingest")
    with store.transaction():
        store.mark_stage("K", "ingest", {"frames": 12})
    assert store.stage_done("K", "ingest") and store.stages("K") == {"ingest": {"frames": 12}}
    store.finish_flight("K", summary={"cases": 3})
    got = store.get_flight("K")
    assert got.status == "done" and got.summary == {"cases": 3} and got.finished_at is not None
    with pytest.raises(StoreError, match="unknown flight"):
        store.finish_flight("nope")
    with pytest.raises(StoreError, match="status must be"):
        store.finish_flight("K", status="weird")


def test_transaction_rolls_back_and_nests(store) -> None:
    store.begin_flight("A", name="a", source="/a", n_files=1)
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.mark_stage("A", "ingest")
            raise RuntimeError("boom")
    assert not store.stage_done("A", "ingest")
    with store.transaction():
        store.mark_stage("A", "detect")
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.mark_stage("A", "findings")
                raise RuntimeError("inner")
    assert store.stages("A").keys() == {"detect"}


def test_foreign_keys_are_enforced(store) -> None:
    with pytest.raises(StoreError, match="FOREIGN KEY"):
        store.insert_case(Case(0, "road_damage", "road_damage", 1, 2, "open", T0, T0, "no-flight", "no-flight"))


def test_list_cases_filters(store) -> None:
    _two_flights(store)
    mk = lambda **kw: Case(**{**dict(case_id=0, category="road_damage", class_name="road_damage", lat_deg=38.0,
                               lon_deg=114.0, status="open", opened_at=T0, updated_at=T0, first_flight_id="F1",
                               last_flight_id="F1"), **kw})
    store.insert_case(mk(unit="U1"))
    store.insert_case(mk(status="fixed", unit="U2"))
    store.insert_case(mk(category="exposed_garbage", lat_deg=39.0, last_flight_id="F2"))
    ids = lambda cs: [c.case_id for c in cs]
    assert ids(store.list_cases()) == [1, 2, 3]
    assert ids(store.list_cases(statuses=["open"])) == [1, 3]
    assert ids(store.list_cases(statuses=[])) == []
    assert ids(store.list_cases(categories=["exposed_garbage"])) == [3]
    assert ids(store.list_cases(unit="U2")) == [2]
    assert ids(store.list_cases(flight_id="F2")) == [3]
    assert ids(store.list_cases(bbox=(113.9, 38.5, 114.1, 39.5))) == [3]
    assert ids(store.list_cases(limit=2)) == [1, 2]
    assert store.count_cases() == {"fixed": 1, "open": 2}


def test_flight_content_key(tmp_path) -> None:
    a = tmp_path / "a"
    a.mkdir()
    (a / "DJI_0001.JPG").write_bytes(b"\xff\xd8one")
    (a / "DJI_0002.JPG").write_bytes(b"\xff\xd8two" * 1000)
    key = flight_content_key(sorted(a.iterdir()))
    assert len(key) == 32
    b = tmp_path / "moved"
    a.rename(b)
    assert flight_content_key(reversed(sorted(b.iterdir()))) == key  # order and folder do not matter
    (b / "DJI_0002.JPG").write_bytes(b"\xff\xd8twO" * 1000)
    assert flight_content_key(b.iterdir()) != key
    (b / "DJI_0002.JPG").write_bytes(b"\xff\xd8two" * 1000)
    (b / "DJI_0002.JPG").rename(b / "DJI_0003.JPG")
    assert flight_content_key(b.iterdir()) != key
    assert flight_content_key(b.iterdir(), quick=True) != flight_content_key(b.iterdir())
    with pytest.raises(StoreError, match="missing.JPG"):
        flight_content_key([b / "missing.JPG"])


@pytest.mark.parametrize(
    "url, error",
    [
        ("postgresql://user:secret@db.example/patrol", "PostgreSQL backend is not installed"),
        ("mysql://x/y", "unknown database scheme 'mysql'"),
        ("", "empty database URL"),
        ("/no/such/folder/patrol.db", "does not exist"),
    ],
)
def test_bad_urls(url, error) -> None:
    with pytest.raises(StoreError, match=error) as info:
        open_store(url)
    assert "secret" not in str(info.value)


def test_file_store_uses_wal_and_rejects_non_databases(tmp_path) -> None:
    db = tmp_path / "p.db"
    with open_store(f"sqlite:///{db}") as s:
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="junk.db"):
        open_store(junk)
    with pytest.raises(StoreError, match="no such database"):
        open_store(tmp_path / "absent.db", create=False)


def test_dump_ignores_wall_clock_columns(tmp_path) -> None:
    dumps = []
    for name in ("a.db", "b.db"):
        with open_store(tmp_path / name) as s:
            s.begin_flight("F", name="f", source="/x", n_files=1)
            with s.transaction():
                s.mark_stage("F", "ingest")
            s.finish_flight("F")
            dumps.append(s.dump())
    assert dumps[0] == dumps[1] and dumps[0]["flights"]
