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
    after_score: AfterFlightScore | None = None

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


def demo_settings(settings: Any) -> Any:
    """The settings for the synthetic city: it paints every object flat on the ground, so the relief
    allowance for upright objects (``[findings] object_height_m``) is set to 0 there."""
    import dataclasses

    flat = {k: 0.0 for k in settings.findings.object_height_m}
    return dataclasses.replace(settings, findings=dataclasses.replace(settings.findings, object_height_m=flat))


def demo_detector(settings: Any, folders: list[Path], choice: str, log: Callable[[str], None]) -> Any:
    """A factory for the demo's detector: the bundled model when it is there (``auto``/``onnx``), else
    the simulator's true boxes (``truth``, or ``auto`` without a model file)."""
    from patrol.detect.registry import model_path

    path = model_path(settings.detect)
    if choice == "truth" or (choice == "auto" and not path.is_file()):
        if choice == "auto":
            log(f"no detector model at {path}: using the simulator's true boxes (--detector truth)")
        from patrol.sim.truth import TruthDetector

        return lambda: TruthDetector(folders)

    def real() -> Any:
        from patrol.detect import load_detector

        return load_detector(settings.detect)

    return real


@dataclass(frozen=True)
class AfterFlightScore:
    """The after flight against the simulator's truth (cases matched to true problems by category
    within ``radius_m``, nearest first)."""

    true_fixes: int  # problems fixed between the flights that the before flight opened a case for
    fixes_confirmed: int  # of those, cases now ``fixed``
    fixes_inconclusive: int  # of those, still active (inconclusive or not checked)
    remaining: int  # problems still there that have a case
    remaining_right: int  # of those, cases not ``fixed``
    false_fixed: int  # cases of problems still there that are ``fixed``
    new_cases: int  # cases the after flight opened
    new_real: int  # of those, on a true problem of the after world

    def lines(self) -> list[str]:
        pct = lambda a, b: f"{100.0 * a / b:.0f}%" if b else "-"  # noqa: E731
        return [
            f"  after flight against the truth: fixes confirmed {self.fixes_confirmed} of {self.true_fixes} ({pct(self.fixes_confirmed, self.true_fixes)}), "
            f"{self.fixes_inconclusive} still open; still present right {self.remaining_right} of {self.remaining}; "
            f"false fixed {self.false_fixed}; new cases real {self.new_real} of {self.new_cases} ({pct(self.new_real, self.new_cases)})",
        ]


def _nearest(objs: list[Any], cases: list[Any], local: Any, radius_m: float) -> dict[int, Any]:
    """case_id -> the true object it stands for (same category, nearest first, one case each)."""
    import math

    pairs = []
    for c in cases:
        ce, cn = local.to_local(c.lat_deg, c.lon_deg)
        for i, o in enumerate(objs):
            if o.violation != c.category:
                continue
            oe, on = local.to_local(o.center_lat_deg, o.center_lon_deg)
            d = math.hypot(ce - oe, cn - on)
            if d <= radius_m:
                pairs.append((d, c.case_id, i))
    out: dict[int, Any] = {}
    used: set[int] = set()
    for _, cid, i in sorted(pairs):
        if cid not in out and i not in used:
            out[cid] = objs[i]
            used.add(i)
    return out


def score_after_flight(before: Any, after: Any, cases: list[Any], before_id: str, after_id: str,
                       radius_m: float = 3.0) -> AfterFlightScore:
    """Score the cases after the after flight: the before flight's cases against the after world's
    truth of the same objects (``fixed`` problems are gone, ``remaining`` ones are still there), the
    after flight's new cases against its present problems. Pure (truths and cases in)."""
    from patrol.geo.crs import LocalFrame

    local = LocalFrame(before.origin_lat_deg, before.origin_lon_deg)
    status_after = {o.id: o.status for o in after.problems}
    old = [c for c in cases if c.first_flight_id == before_id]
    match = _nearest(before.problems, old, local, radius_m)
    fixes = [(c, o) for c in old if (o := match.get(c.case_id)) is not None and status_after.get(o.id) == "fixed"]
    remain = [(c, o) for c in old if (o := match.get(c.case_id)) is not None and status_after.get(o.id) == "remaining"]
    new = [c for c in cases if c.first_flight_id == after_id]
    real = _nearest([o for o in after.problems if o.present], new, local, radius_m)
    return AfterFlightScore(
        true_fixes=len(fixes),
        fixes_confirmed=sum(str(c.status) == "fixed" for c, _ in fixes),
        fixes_inconclusive=sum(str(c.status) != "fixed" for c, _ in fixes),
        remaining=len(remain),
        remaining_right=sum(str(c.status) != "fixed" for c, _ in remain),
        false_fixed=sum(str(c.status) == "fixed" for c, _ in remain),
        new_cases=len(new),
        new_real=len(real),
    )


def run_demo(out_dir: str | Path, settings: Any, frames: int = 16, seed: int = 7,
             log: Callable[[str], None] = lambda s: None, detector: str = "auto", **spec: Any) -> DemoResult:
    """Generate the demo flights when absent, then process the before and the after flight with the
    whole pipeline (database ``OUT/patrol.db``, reports ``OUT/report-before``, ``OUT/report-after``,
    case board ``OUT/cases``). Re-running it changes nothing (flights are known by their content)."""
    from patrol.pipeline import process_flight
    from patrol.progress import StderrProgress
    from patrol.sim.truth import load_truth, score_cases
    from patrol.store import open_store
    from patrol.zones import load_zones

    out = Path(out_dir)
    res = DemoResult(out, ensure_flights(out, frames, seed, log, **spec))
    say = res.lines_.append
    settings = demo_settings(settings)
    folders = [out / scenario for scenario in FLIGHTS]
    det = demo_detector(settings, folders, detector, log)
    zones = load_zones(out / "before" / "zones.geojson")
    db = out / "patrol.db"
    import sys

    progress = StderrProgress() if sys.stderr.isatty() else None
    with open_store(db) as store:
        flight_ids: list[str] = []
        truths = []
        for scenario, folder in zip(FLIGHTS, folders):
            truth = load_truth(folder)
            kinds: dict[str, int] = {}
            for o in truth.problems:
                key = o.status or o.violation or "?"
                kinds[key] = kinds.get(key, 0) + 1
            log(f"processing the {scenario} flight ...")
            summary = process_flight([folder], settings, store, det, out / f"report-{scenario}", zones=zones, progress=progress)
            say(f"{scenario}: {summary.frames_read} photos read, {summary.frames_failed} failed; truth: {len(truth.problems)} "
                f"problems ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
            res.lines_.extend(summary.lines())
            flight_ids.append(summary.flight_id)
            truths.append(truth)
            if scenario == FLIGHTS[1]:  # what the after flight did to the cases, against the truth
                res.after_score = score_after_flight(truths[0], truth, store.list_cases(), flight_ids[0], flight_ids[1])
                res.lines_.extend(res.after_score.lines())
            if scenario == FLIGHTS[0]:  # the cases this flight opened, against the truth
                sc = score_cases(truth, [(c.category, c.lat_deg, c.lon_deg) for c in store.list_cases() if c.first_flight_id == summary.flight_id])
                say(f"  against the truth: {sc.matched} of {sc.problems} visible problems found as cases "
                    f"(recall {sc.recall:.2f}), {sc.matched} of {sc.cases} cases are real (precision {sc.precision:.2f})")
            for f in summary.failures:
                say(f"  {f.path}: {f.reason}")
                res.exit_code = 1
        try:
            from patrol.report import write_case_board

            board = write_case_board(store, out / "cases", settings)
            say(f"case board: {board[0]}")
        except ImportError:
            pass
    say(f"database: {db.resolve()}  (try: patrol cases list --db {db})")
    say(f"outputs: {out.resolve()} (before/, after/: photos, zones.geojson, truth.json; report-*/index.html)")
    return res
