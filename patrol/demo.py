"""`patrol demo`: make the synthetic before/after flights (once), then run the pipeline over them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLIGHTS = ("before", "after")


@dataclass
class DemoResult:
    out_dir: Path
    generated: list[str] = field(default_factory=list)
    lines_: list[str] = field(default_factory=list)
    exit_code: int = 0

    def lines(self) -> list[str]:
        return self.lines_


def ensure_flights(out_dir: Path, frames: int, seed: int, log: Callable[[str], None], **spec: Any) -> list[str]:
    """Generate OUT/before and OUT/after (same city, a day apart) unless their truth.json exists.

    ``spec`` passes further FlightSpec fields (tests use a small world and image)."""
    from patrol.sim.flight import FlightSpec, run_flight

    made = []
    for scenario in FLIGHTS:
        folder = out_dir / scenario
        if (folder / "truth.json").is_file():
            continue
        log(f"generating the {scenario} flight ({frames} photos) in {folder} ...")
        run_flight(folder, FlightSpec(seed=seed, frames=frames, scenario=scenario, **spec))
        made.append(scenario)
    return made


def run_demo(out_dir: str | Path, settings: Any, frames: int = 16, seed: int = 7,
             log: Callable[[str], None] = lambda s: None, **spec: Any) -> DemoResult:
    """Generate the demo flights when absent, then run the pipeline stages that exist over them."""
    from patrol.ingest.summary import ingest
    from patrol.sim.truth import load_truth

    out = Path(out_dir)
    res = DemoResult(out, ensure_flights(out, frames, seed, log, **spec))
    say = res.lines_.append
    for scenario in FLIGHTS:
        folder = out / scenario
        rows = list(ingest([folder], settings))
        bad = [r for r in rows if r.failed]
        truth = load_truth(folder)
        kinds: dict[str, int] = {}
        for o in truth.problems:
            key = o.status or o.violation or "?"
            kinds[key] = kinds.get(key, 0) + 1
        say(f"{scenario}: {len(rows) - len(bad)} photos read, {len(bad)} failed; truth: {len(truth.problems)} problems "
            f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
        for r in bad:
            say(f"  {r.path}: {r.error}")
            res.exit_code = 1
    # The pipeline (detect -> findings -> cases -> verify -> report) plugs in here.
    say(f"outputs: {out.resolve()} (before/, after/: photos, zones.geojson, truth.json)")
    return res
