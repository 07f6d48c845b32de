"""End to end: a drone case and a citizen case at two spots -> `patrol route` -> a simulated revisit
flight over the route's waypoints (`patrol sim flight --waypoints`) -> `patrol process`: both are
checked, and the output and the flight report say which route the photos came from."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrol.cli import app
from patrol.store import open_store

SIM = dict(seed=3, size_m=150.0, res_m=0.05)
FLAT = '[findings]\nobject_height_m = { "vehicle" = 0.0, "vendor_stall" = 0.0, "road_damage" = 0.0, "garbage" = 0.0 }\n'
runner = CliRunner()


def _ok(args: list[str]) -> str:
    r = runner.invoke(app, args)
    assert r.exit_code == 0, f"patrol {' '.join(args)}\n{r.output}"
    return r.output


def _problems(scenario: str):
    from patrol.sim.world import build_world

    w = build_world(SIM["seed"], scenario, SIM["size_m"], SIM["res_m"])
    out = []
    for o in w.objects:
        if o.violation:
            c = o.polygon.centroid
            lat, lon = w.frame.to_wgs84(c.x, c.y)
            out.append((o, float(lat), float(lon)))
    return out


def _m(lat1, lon1, lat2, lon2) -> float:
    return 111_195.0 * math.hypot(lat2 - lat1, (lon2 - lon1) * math.cos(math.radians(lat1)))


@pytest.mark.slow
def test_revisit_route_verifies_a_drone_case_and_a_citizen_case(tmp_path: Path) -> None:
    from patrol.sim.flight import FlightSpec, run_flight

    before = tmp_path / "before"
    run_flight(before, FlightSpec(frames=9, scenario="before", image_wh=(1200, 900), **SIM))
    db, zones, cfg = tmp_path / "p.db", before / "zones.geojson", tmp_path / "flat.toml"
    cfg.write_text(FLAT, encoding="utf-8")
    common = ["--db", str(db), "--config", str(cfg)]
    _ok(["process", str(before), "--zones", str(zones), "--detector", "truth", *common])

    after = _problems("after")
    with open_store(db) as s:
        cases = s.list_cases()
    # the drone case: a problem fixed before the revisit; the citizen case: a problem that appeared after
    # the first flight, away from the drone case and outside every case's match radius (5 m)
    fixed = [(c, o) for c in cases for o, la, lo in after if o.status == "fixed" and o.violation == c.category
             and _m(c.lat_deg, c.lon_deg, la, lo) < 3.0]
    assert fixed, "the simulated city has a problem fixed between the flights that the first flight found"
    drone_case, _ = fixed[0]
    new = [(o, la, lo) for o, la, lo in after if o.status == "new" and _m(drone_case.lat_deg, drone_case.lon_deg, la, lo) > 20
           and all(_m(c.lat_deg, c.lon_deg, la, lo) > 8 for c in cases)]
    assert new
    obj, lat, lon = new[0]
    _ok(["cases", "set-status", str(drone_case.case_id), "dispatched", *common])
    out = _ok(["cases", "add", "--category", obj.violation, "--point", f"{lat},{lon}", "--zones", str(zones),
               "--note", "seen from the bus", *common])
    citizen_id = int(re.search(r"case (\d+) opened", out).group(1))

    kmz = tmp_path / "revisit.kmz"
    out = _ok(["route", "--out", str(kmz), "--height-m", "30", *common])
    assert "revisit of 2 cases:" in out
    from patrol.route.wpml import read_kmz

    n_photos = sum(1 for p in read_kmz(kmz).points if "takePhoto" in p.actions)
    flight = tmp_path / "revisit"
    _ok(["sim", "flight", "--out", str(flight), "--waypoints", str(kmz), "--scenario", "after", "--seed", "3",
         "--size-m", "150", "--res-m", "0.05", "--image-px", "1200x900"])
    assert len(list(flight.glob("DJI_*.JPG"))) == n_photos  # one photo per waypoint

    report = tmp_path / "report"
    out = _ok(["process", str(flight), "--zones", str(zones), "--detector", "truth", "--out", str(report), *common])
    # the drone case's problem is gone: "fixed" when the before and after views register, otherwise
    # "inconclusive" (the simulated GPS and yaw noise plus the moved cars can defeat registration, and
    # verification then refuses to call it fixed); never "still present". Both cases are seen. (Today,
    # seed 3: inconclusive, the pose-only alignment leaves the surroundings 5.9 apart, over 5.0.)
    line = re.search(r"revisit revisit \(route 1\) for 2 cases: (\d+) fixed, 1 still present, (?:(\d+) inconclusive, )?0 not seen", out)
    assert line, out
    assert int(line.group(1)) + int(line.group(2) or 0) == 1, line.group(0)
    with open_store(db) as s:
        drone = s.get_case(drone_case.case_id)
        assert str(drone.status) in ("fixed", "dispatched"), drone.status  # inconclusive leaves it dispatched
        citizen = s.get_case(citizen_id)
        assert str(citizen.status) == "still_present"
        assert any("confirmed, still present" in e.note for e in s.events(citizen_id))
    html = (report / "index.html").read_text(encoding="utf-8")
    assert line.group(0) in html
