"""process_flight end to end on a small generated world: cases vs truth, no double counting, grid and
unit, idempotent rerun, before/after flights, kill -9 at any stage then rerun."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from patrol.config import Settings
from patrol.errors import InputError
from patrol.geo.crs import LocalFrame
from patrol.pipeline import process_flight, usable_range_m
from patrol.store import open_store
from patrol.zones import load_zones
from tests.pipeline_world import OBJECTS, BoxDetector, camera_at, dist_m, install, make_flight, write_zones, LOCAL

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def world(tmp_path, monkeypatch):
    before = make_flight(tmp_path / "inbox" / "2026-05-04-a", seed=1, corrupt=True)
    after_objects = [o for o in OBJECTS if o.oid != "garbage"]
    after = make_flight(tmp_path / "inbox" / "2026-05-05-a", seed=2, objects=after_objects)
    install([before, after], monkeypatch)
    zones = load_zones(write_zones(tmp_path / "zones.geojson"))
    return before, after, zones


def _process(flight, zones, db, detector, out=None):
    with open_store(db) as store:
        return process_flight([flight.folder], Settings(), store, detector, out, zones=zones)


def test_cases_match_truth_once_each_in_the_right_cell(world, tmp_path):
    before, _, zones = world
    db = tmp_path / "p.db"
    det = BoxDetector([before])
    s = _process(before, zones, db, det)
    assert s.frames_read == 10 and s.frames_failed == 1
    assert s.failures[0].path.endswith("DJI_0099.JPG")
    assert s.detections == sum(len(v) for v in before.boxes.values())
    with open_store(db) as store:
        findings = store.load_findings(s.flight_id)
        cases = store.list_cases()
    # no object counted twice across overlapping frames; every object seen once
    assert len(findings) == len(OBJECTS)
    for o in OBJECTS:
        lat, lon = LOCAL.to_wgs84(*o.centre_en)
        near = [f for f in findings if f.class_name == o.class_name and dist_m(f.lat_deg, f.lon_deg, lat, lon) < 1.0]
        assert len(near) == 1, o.oid
        assert near[0].category == o.violation, o.oid
        assert len(near[0].frames) >= 2  # seen in overlapping frames, merged
    # cases vs true problems: precision and recall, right grid cell and unit
    truth = [o for o in OBJECTS if o.violation]
    matched = set()
    for c in cases:
        hits = [o for o in truth if o.violation == c.category and dist_m(c.lat_deg, c.lon_deg, *LOCAL.to_wgs84(*o.centre_en)) < 1.5]
        if hits:
            matched.add(hits[0].oid)
            assert (c.grid_cell, c.unit) == (hits[0].grid_cell, hits[0].unit), hits[0].oid
    precision = len(matched) / len(cases)
    recall = len(matched) / len(truth)
    assert precision >= 0.95 and recall >= 0.95
    assert s.cases_new == len(truth)
    assert s.findings_by_category == {"illegal_parking": 2, "exposed_garbage": 1, "road_damage": 1, "street_vending": 1, "counted": 2}


def test_rerun_leaves_database_identical(world, tmp_path):
    before, _, zones = world
    db = tmp_path / "p.db"
    det = BoxDetector([before])
    first = _process(before, zones, db, det)
    calls = det.calls
    with open_store(db) as store:
        dump1 = store.dump(volatile=True)
    again = _process(before, zones, db, det)
    with open_store(db) as store:
        dump2 = store.dump(volatile=True)
    assert again.skipped and not first.skipped
    assert det.calls == calls  # nothing detected again
    assert dump1 == dump2
    assert (again.cases_new, again.findings, again.frames_failed) == (first.cases_new, first.findings, first.frames_failed)


def test_after_flight_reobserves_and_queues_the_fixed_spot(world, tmp_path):
    before, after, zones = world
    db = tmp_path / "p.db"
    det = BoxDetector([before, after])
    _process(before, zones, db, det)
    s = _process(after, zones, db, det)
    assert s.cases_new == 0
    assert s.cases_reobserved == 4  # both parked cars, the pothole and the stall are still there
    assert s.cases_queued == 1  # the garbage is gone: before/after verification
    with open_store(db) as store:
        # queued, then checked by the verify stage when it is installed (which also checks the
        # four re-observed cases on their spots: [verify] verify_reobserved)
        queued = [q.case_id for q in store.pending_verifications(s.flight_id)]
        queued += [v.case_id for v in store.verifications(flight_id=s.flight_id)]
        assert len(queued) in (1, 5)
        garbage = [store.get_case(c) for c in queued if store.get_case(c).category == "exposed_garbage"]
    assert len(garbage) == 1


def test_usable_range():
    assert usable_range_m(camera_at(0.0), 0.04) == 0.0  # nadir GSD is exactly 0.04 m
    r = usable_range_m(camera_at(0.0), 0.05)
    assert 20.0 < r < 30.0


def test_no_frames_is_an_input_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with open_store(":memory:") as store:
        with pytest.raises(InputError, match="no photos or videos"):
            process_flight([tmp_path / "empty"], Settings(), store, BoxDetector([]))


# --- kill -9 at any stage, then rerun: same database as an uninterrupted run -------------------------

KILLER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[5])
    from tests.pipeline_world import BoxDetector, install, make_flight
    from patrol.config import Settings
    from patrol.pipeline import process_flight
    from patrol.store import open_store
    from patrol.store.repo import Store
    from patrol.zones import load_zones

    folder, db, hang_stage, ready = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
    flight = make_flight(folder, seed=1, corrupt=True)  # same files as the parent's flight
    install([flight])
    original = Store.mark_stage

    def hanging_mark_stage(self, flight_id, stage, info=None):
        original(self, flight_id, stage, info)  # rows and marker written, transaction not committed
        if stage == hang_stage:
            ready.write_text("hanging")
            time.sleep(600)

    Store.mark_stage = hanging_mark_stage
    with open_store(db) as store:
        process_flight([folder], Settings(), store, BoxDetector([flight]), None, zones=load_zones(sys.argv[6]))
    """
)


@pytest.mark.parametrize("stage", ["ingest", "detect:3", "detect", "findings", "cases"])
def test_kill_9_mid_stage_then_rerun(world, tmp_path, stage):
    before, _, zones = world
    zones_file = tmp_path / "zones.geojson"
    # reference: one uninterrupted run
    ref_db = tmp_path / "ref.db"
    _process(before, zones, ref_db, BoxDetector([before]))
    # killed run: hangs inside the stage's transaction, then kill -9
    if stage.startswith("detect:"):
        frame = sorted(before.metas)[int(stage.split(":")[1])]
        stage = f"detect:{frame}"
    db = tmp_path / "killed.db"
    ready = tmp_path / "ready"
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    proc = subprocess.Popen([sys.executable, str(script), str(before.folder), str(db), stage, str(ready), str(REPO), str(zones_file)])
    try:
        t0 = time.monotonic()
        while not ready.exists():
            assert proc.poll() is None, "the run ended before reaching the stage"
            assert time.monotonic() - t0 < 60
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    with open_store(db) as store:
        assert not store.stage_done(store.list_flights()[0].flight_id, stage)  # the stage was rolled back
        assert store.list_flights()[0].status == "processing"
    s = _process(before, zones, db, BoxDetector([before]))
    assert not s.skipped
    with open_store(db) as store, open_store(ref_db) as ref:
        assert store.dump() == ref.dump()
        assert len(store.list_cases()) == 5


def test_cli_process_summary_exit_codes(world, tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from patrol.cli import app
    from patrol.cli import process as cli_process

    before, _, _ = world
    from patrol.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown detector 'yolo9000'"):
        cli_process.make_detector("yolo9000", Settings(), [])
    monkeypatch.setattr(cli_process, "make_detector", lambda kind, settings, paths: BoxDetector([before]))
    runner = CliRunner()
    db = tmp_path / "cli.db"
    args = ["process", str(before.folder), "--db", str(db), "--zones", str(tmp_path / "zones.geojson")]
    r = runner.invoke(app, args)
    assert r.exit_code == 1, r.output  # one unreadable frame
    assert "DJI_0099.JPG: not a JPEG" in r.output
    assert "frames: 10 read, 1 failed" in r.output
    assert "cases: 5 new, 0 re-observed, 0 queued for verification" in r.output
    r = runner.invoke(app, [*args, "--json"])
    data = json.loads(r.stdout[r.stdout.index("{"):])
    assert data["skipped"] is True and data["cases_new"] == 5
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"kind": "grid_cell", "name": "A1"}, '
                   '"geometry": {"type": "Polygon", "coordinates": [[[116.4, 39.9], [116.41, 39.9], [116.41, 39.91], [116.4, 39.9]]]}}]}')
    r = runner.invoke(app, ["process", str(before.folder), "--db", str(db), "--zones", str(bad)])
    assert r.exit_code == 2
    assert "feature 0 ('A1'): grid_cell has no 'unit'" in r.output


# --- the synthetic city (patrol.sim) with its truth detector -----------------------------------------

# The simulator paints every object flat on the ground (no relief), so upright classes get no height.
FLAT = {"vehicle": 0.0, "vendor_stall": 0.0, "road_damage": 0.0, "garbage": 0.0}


@pytest.fixture(scope="module")
def sim_flights(tmp_path_factory):
    from patrol.sim import flight as sim
    root = tmp_path_factory.mktemp("sim")
    out = {}
    for scenario in ("before", "after"):
        spec = sim.FlightSpec(seed=3, frames=9, scenario=scenario, size_m=150.0, image_wh=(1200, 900), res_m=0.05)
        out[scenario] = sim.run_flight(root / scenario, spec)
    return out


def _sim_settings(flat: bool = True):
    import dataclasses

    s = Settings()
    if not flat:
        return s
    return dataclasses.replace(s, findings=dataclasses.replace(s.findings, object_height_m=FLAT))


@pytest.mark.parametrize("flat", [True, False], ids=["flat-objects", "default-settings"])
def test_sim_before_flight_cases_match_truth(sim_flights, tmp_path, flat):
    from patrol.sim import TruthDetector

    res = sim_flights["before"]
    truth = res.truth
    zones = load_zones(res.folder / "zones.geojson")
    local = LocalFrame(truth.origin_lat_deg, truth.origin_lon_deg)
    with open_store(tmp_path / "sim.db") as store:
        s = process_flight([res.folder], _sim_settings(flat), store, TruthDetector(res.folder), zones=zones)
        findings = store.load_findings(s.flight_id)
        cases = store.list_cases()
    assert s.frames_read == 9 and s.frames_failed == 0

    def dist(lat, lon, o):
        e1, n1 = local.to_local(lat, lon)
        e2, n2 = local.to_local(o.center_lat_deg, o.center_lon_deg)
        return math.hypot(e1 - e2, n1 - n2)

    seen = {lb.object_id for f in truth.frames for lb in f.labels if lb.visible_frac >= 0.3}
    objects = [o for o in truth.objects if o.class_name and o.id in seen]
    # no object counted twice across overlapping frames (and no finding without an object)
    owner = []
    for f in findings:
        near = sorted((dist(f.lat_deg, f.lon_deg, o), o.id) for o in objects if o.class_name == f.class_name)
        assert near and near[0][0] < 3.0, f
        owner.append(near[0][1])
    assert len(owner) == len(set(owner))
    assert len(findings) >= 0.95 * len(objects)
    # cases vs true problems; each in the right grid cell with the right unit
    problems = [o for o in objects if o.violation]
    assert len(problems) >= 8
    matched = set()
    for c in cases:
        near = sorted((dist(c.lat_deg, c.lon_deg, o), o.id, o) for o in problems if o.violation == c.category and o.id not in matched)
        if near and near[0][0] < 3.0:
            o = near[0][2]
            matched.add(o.id)
            cell = zones.grid_cell_at(o.center_lat_deg, o.center_lon_deg)
            assert (c.grid_cell, c.unit) == (cell.name, cell.unit), o.id
    precision = len(matched) / max(len(cases), 1)
    # A problem missed only because its finding's position, within the finding's own stated
    # uncertainty, crossed the edge of the narrow zone that makes it a violation (a car in a 2.5 m kerb
    # strip, seen at a frame edge) is ambiguous, not missed: the error circle reaches back into the zone.
    ambiguous = _ambiguous_misses(res.folder / "zones.geojson", local, problems, matched, findings)
    assert len(ambiguous) <= 1, ambiguous
    firm = [o for o in problems if o.id not in ambiguous]
    recall = len([o for o in firm if o.id in matched]) / len(firm)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall, ambiguous)


def _ambiguous_misses(zones_path, local, problems, matched, findings) -> set[str]:
    import json

    from shapely.geometry import Point, Polygon

    kinds = {"illegal_parking": ("no_parking", "sidewalk"), "street_vending": ("no_vending", "sidewalk", "road"),
             "road_damage": ("road",)}
    polys = []
    for ft in json.loads(zones_path.read_text(encoding="utf-8"))["features"]:
        g = ft["geometry"]
        if g["type"] == "Polygon":
            polys.append((ft["properties"]["kind"], Polygon([local.to_local(lat, lon) for lon, lat in g["coordinates"][0]])))
    out = set()
    for o in problems:
        if o.id in matched:
            continue
        truth_pt = Point(*local.to_local(o.center_lat_deg, o.center_lon_deg))
        zone = [poly for kind, poly in polys if kind in kinds.get(o.violation, ()) and poly.contains(truth_pt)]
        for f in findings:
            if f.class_name != o.class_name or f.category == o.violation:
                continue
            pt = Point(*local.to_local(f.lat_deg, f.lon_deg))
            if pt.distance(truth_pt) < 3.0 and any(pt.buffer(f.uncertainty_m).intersects(z) for z in zone):
                out.add(o.id)
    return out


def test_sim_after_flight_reobserves_opens_and_verifies(sim_flights, tmp_path):
    from patrol.sim import TruthDetector

    before, after = sim_flights["before"], sim_flights["after"]
    zones = load_zones(before.folder / "zones.geojson")
    det = TruthDetector([before.folder, after.folder])
    with open_store(tmp_path / "sim.db") as store:
        s1 = process_flight([before.folder], _sim_settings(), store, det, zones=zones)
        s2 = process_flight([after.folder], _sim_settings(), store, det, tmp_path / "out", zones=zones)
        verdicts = [v.verdict for v in store.verifications(flight_id=s2.flight_id)]
    t = after.truth
    seen_after = {lb.object_id for f in t.frames for lb in f.labels if lb.visible_frac >= 0.3}
    seen_before = {lb.object_id for f in before.truth.frames for lb in f.labels if lb.visible_frac >= 0.3}
    remaining = [o for o in t.problems if o.status == "remaining" and o.id in seen_after and o.id in seen_before]
    new = [o for o in t.problems if o.status == "new" and o.id in seen_after]
    assert s1.cases_new >= 8
    assert s2.cases_reobserved == len(remaining)
    assert s2.cases_new >= len(new)
    # the queued cases and (verify_reobserved) the re-observed ones are all checked on their spots
    assert s2.cases_queued + s2.cases_reobserved == len(verdicts)
    assert all(v in ("fixed", "still_present", "inconclusive") for v in verdicts)


class CountingDetector:
    """A tile detector that finds nothing and counts the tiles it was given."""

    input_wh = (320, 320)
    class_names = ("vehicle", "vendor_stall", "road_damage", "garbage")

    def __init__(self) -> None:
        self.tiles = 0

    def detect(self, image):
        assert image.shape[0] <= 320 and image.shape[1] <= 320
        self.tiles += 1
        return []


def test_tiled_detection_runs_only_tiles_that_touch_a_zone(world, tmp_path):
    import dataclasses

    from patrol.zones import Zones, parse_zones
    from tests.pipeline_world import zones_geojson

    before, _, zones = world
    s = Settings()
    # one native pass keeping every class (no GSD-adaptive vehicle pass), tiles of 160 px
    one = dataclasses.replace(s, detect=dataclasses.replace(s.detect, tile_px=160, overlap_px=16, class_scales={}, class_gsd_m={}))
    # a vehicle pass on the frame downscaled 2x besides the native pass of the other classes
    two = dataclasses.replace(one, detect=dataclasses.replace(one.detect, class_scales={"vehicle": 0.5}))
    zone_only = {"vehicle": {"no_parking": "illegal_parking"}, "vendor_stall": {"no_vending": "street_vending"}}
    one_roi = dataclasses.replace(one, rules=dataclasses.replace(one.rules, rules=zone_only))
    grid_only = parse_zones({**zones_geojson(), "features": [f for f in zones_geojson()["features"] if f["properties"]["kind"] == "grid_cell"]})
    counts = {}
    shares = {}
    runs = (
        ("one_none", Zones.empty(), one),
        ("one_zone_only_rules", zones, one_roi),  # ROI follows the rules: zone-only rules skip tiles
        ("one_default_rules", zones, one),  # garbage counts anywhere: the one pass runs every tile
        ("two_none", Zones.empty(), two),
        ("two_default_rules", zones, two),  # the vehicle pass looks in no-parking zones and sidewalks only
        ("two_grid_only", grid_only, two),  # grid cells alone: no ROI
    )
    for name, zs, settings in runs:
        det = CountingDetector()
        with open_store(tmp_path / f"{name}.db") as store:
            summary = process_flight([before.folder], settings, store, det, zones=zs)
            info = store.stages(summary.flight_id)
        counts[name] = det.tiles
        shares[name] = (summary.tiles_run, summary.tiles_total)
        assert summary.detections == 0 and summary.findings == 0
        assert summary.tiles_run == det.tiles
        first = next(v for k, v in info.items() if k.startswith("detect:"))
        assert first["tiles_run"] <= first["tiles_total"]
        assert any(line.startswith("  detections: 0 (tiles run: ") for line in summary.lines())
    assert 0 < counts["one_zone_only_rules"] < counts["one_none"]
    assert counts["one_default_rules"] == counts["one_none"]
    n_native = counts["one_none"]
    assert n_native < counts["two_default_rules"] < counts["two_none"]
    assert counts["two_grid_only"] == counts["two_none"]
    assert shares["two_default_rules"] == (counts["two_default_rules"], counts["two_none"])


# --- real DJI photos (../shared/data) with their hand labels as the detector -------------------------


class YoloLabelDetector:
    """Boxes from the YOLO .txt beside each photo (all classes -> vehicle)."""

    def detect_path(self, path, image):
        from patrol.detect.base import Detection

        h, w = image.shape[:2]
        out = []
        for line in Path(path).with_suffix(".txt").read_text().splitlines():
            if line.strip():
                _, cx, cy, bw, bh = map(float, line.split())
                out.append(Detection(((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h), "vehicle", 0.9))
        return out

    def detect(self, image):
        raise AssertionError("not used")


def test_real_dji_photos_end_to_end(tmp_path):
    from tests.conftest import shared_path

    photos = [shared_path("aerial-cars", f"{n}.JPG") for n in ("DJI_0019", "DJI_0031")]
    n_labels = sum(len(p.with_suffix(".txt").read_text().split("\n")) - 1 for p in photos)
    with open_store(tmp_path / "real.db") as store:
        s = process_flight(photos, Settings(), store, YoloLabelDetector(), tmp_path / "out")
        findings = store.load_findings(s.flight_id)
        frames = store.load_frames(s.flight_id)
    assert (s.frames_read, s.frames_failed, s.frames_unplaced) == (2, 0, 0)
    assert s.detections == n_labels > 10
    # same hover point 14 minutes apart: some parked cars stayed and merge, the others do not
    assert max(n_labels // 2, 1) <= len(findings) < n_labels
    assert all(f.category is None for f in findings)  # no zones: vehicles are only counted
    assert [Path(p).name for p in s.outputs] == ["index.html"]  # the flight report
    cam = frames[0].meta
    local = LocalFrame(cam.lat_deg, cam.lon_deg)
    for f in findings:
        e, n = local.to_local(f.lat_deg, f.lon_deg)
        rng = math.hypot(e, n)
        assert 20.0 < rng < 600.0  # an oblique view (pitch -32..-41 deg) from 120 m
        assert 1.0 < f.uncertainty_m < 0.15 * rng + 5.0


def test_stderr_progress_bar_one_line_per_stage():
    import io

    from patrol.progress import StderrProgress

    buf = io.StringIO()
    bar = StderrProgress(buf, width=10)
    for i in range(1, 5):
        bar("ingest", i, 4)
    for i in range(1, 3):
        bar("detect", i, 2)
    lines = buf.getvalue().split("\n")
    assert lines[0].endswith("ingest    [##########] 4/4")
    assert lines[1].endswith("detect    [##########] 2/2")
    assert lines[2] == ""
