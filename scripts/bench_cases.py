#!/usr/bin/env python
"""Benchmark: match 2,000 findings against 100,000 open cases (target: under 1 s).

Cases are spread uniformly over a 20 km x 20 km city at 38 N in four categories; findings are a
flight's worth (a 2 km x 1 km strip; ``--city`` spreads them over the whole city, the worst case),
up to half of them re-observing an existing case (within ~1.5 m). Prints the
matching time (median of --repeat runs) and, with --store, the time of the whole cases stage on a
SQLite file (load candidates, match, write cases/events/links in one transaction).

    .venv/bin/python scripts/bench_cases.py [--cases 100000] [--findings 2000] [--store]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from patrol.cases.matching import match_findings  # noqa: E402
from patrol.cases.model import Case, CaseStatus  # noqa: E402
from patrol.findings import Finding  # noqa: E402
from patrol.geo.crs import LocalFrame  # noqa: E402

CATS = ["illegal_parking", "street_vending", "road_damage", "exposed_garbage"]
CLS = {"illegal_parking": "vehicle", "street_vending": "vendor_stall", "road_damage": "road_damage", "exposed_garbage": "garbage"}
T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)


def make(n_cases: int, n_findings: int, seed: int = 0, city: bool = False) -> tuple[list[Case], list[Finding]]:
    rng = np.random.default_rng(seed)
    frame = LocalFrame(38.04, 114.51)
    ce = rng.uniform(-10_000, 10_000, n_cases)
    cn = rng.uniform(-10_000, 10_000, n_cases)
    lat, lon = frame.to_wgs84(ce, cn)
    ccat = rng.integers(0, 4, n_cases)
    cases = [
        Case(i + 1, CATS[k], CLS[CATS[k]], float(a), float(o), CaseStatus.OPEN, T0, T0, "F0", "F0")
        for i, (k, a, o) in enumerate(zip(ccat, lat, lon))
    ]
    # findings: a strip near the centre; half re-observe a case in the strip, half are new
    half_e, half_n = (10_000, 10_000) if city else (1000, 500)
    in_strip = np.flatnonzero((np.abs(ce) < half_e) & (np.abs(cn) < half_n))
    n_old = min(n_findings // 2, in_strip.size)
    pick = rng.choice(in_strip, n_old, replace=False)
    fe = np.concatenate([ce[pick] + rng.normal(0, 1.5, n_old), rng.uniform(-half_e, half_e, n_findings - n_old)])
    fn = np.concatenate([cn[pick] + rng.normal(0, 1.5, n_old), rng.uniform(-half_n, half_n, n_findings - n_old)])
    fcat = np.concatenate([ccat[pick], rng.integers(0, 4, n_findings - n_old)])
    flat, flon = frame.to_wgs84(fe, fn)
    findings = []
    for i, (k, a, o) in enumerate(zip(fcat, flat, flon)):
        a, o = float(a), float(o)
        d = 1e-5
        findings.append(
            Finding(f"x{i}", CLS[CATS[k]], CATS[k], a, o, 0.5, 0.8, None, None, "G1", "U1", ("f.jpg",), "f.jpg",
                    (0.0, 0.0, 10.0, 10.0), ((o, a), (o + d, a), (o, a + d)))
        )
    return cases, findings


def bench_store(cases: list[Case], findings: list[Finding]) -> float:
    from patrol.cases.service import update_cases
    from patrol.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        with open_store(Path(tmp) / "bench.db") as s:
            s.begin_flight("F0", name="f0", source="-", n_files=1)
            s.begin_flight("F1", name="f1", source="-", n_files=1)
            with s.transaction():
                for c in cases:
                    s.insert_case(c)
                s.save_findings("F1", findings)
            t = time.perf_counter()
            summary = update_cases(s, "F1", findings, radius_m=5.0, at=T0)
            dt = time.perf_counter() - t
    print(f"cases stage on SQLite: {dt:.3f} s  (new {summary.new}, re-observed {summary.reobserved})")
    return dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--findings", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--city", action="store_true", help="findings spread over the whole city (worst case)")
    ap.add_argument("--store", action="store_true", help="also time the whole cases stage on SQLite")
    args = ap.parse_args()
    t = time.perf_counter()
    cases, findings = make(args.cases, args.findings, city=args.city)
    print(f"built {len(cases)} cases and {len(findings)} findings in {time.perf_counter() - t:.1f} s")
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        res = match_findings(findings, cases, radius_m=5.0)
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print(
        f"match {len(findings)} findings x {len(cases)} open cases: median {med:.3f} s, best {min(times):.3f} s "
        f"({len(res.matched)} joined a case, {len(res.new)} new) — target < 1 s: {'OK' if med < 1 else 'MISSED'}"
    )
    if args.store:
        bench_store(cases, findings)
    return 0 if med < 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
