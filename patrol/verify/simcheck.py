"""Synthetic before/after check of verification against the simulator's ground truth.

For a seed, the simulator builds the same city at T0 ("before") and T1 ("after": some problems fixed,
others remaining, legal cars moved, traffic new, a different sun). Every problem of the before world
(and, as extra nuisance cases, every legally parked car) becomes a case: a before view and an after
view are rendered from two different drone poses aimed at it, the poses given to verification carry
GPS/compass/gimbal noise, and the verdict is compared with the truth (``fixed`` when the object is
gone, else ``still_present``).

Detections on the after view come from the truth (every present object of a detector class,
projected), optionally with a miss rate, or not at all (``detector="none"``: the change measure alone).
Used by ``scripts/bench_verify.py --sim`` and the tests.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

import cv2
import numpy as np

from patrol.config import VerifySettings
from patrol.detect.base import Detection
from patrol.geo.camera import Camera, CameraPose
from patrol.ingest.frame import Intrinsics
from patrol.verify.core import verify_images

VIEW_WH = (1280, 960)
FOCAL_PX = 1150.0
INTR = Intrinsics(FOCAL_PX, FOCAL_PX, (VIEW_WH[0] - 1) / 2, (VIEW_WH[1] - 1) / 2, VIEW_WH, "sim")
DETECTORS = ("truth", "missing", "none")


@dataclass(frozen=True)
class SimCase:
    object_id: str
    class_name: str
    kind: str  # "problem" or "legal_car"
    expected: str  # fixed | still_present
    got: str
    reason: str | None
    registration: str
    seconds: float


@dataclass
class SimReport:
    cases: list[SimCase] = field(default_factory=list)

    def confusion(self, kind: str | None = None) -> Counter:
        return Counter((c.expected, c.got) for c in self.cases if kind is None or c.kind == kind)

    def accuracy(self, kind: str | None = None) -> float:
        sel = [c for c in self.cases if kind is None or c.kind == kind]
        return sum(c.expected == c.got for c in sel) / len(sel) if sel else float("nan")

    def false_fixed(self, kind: str | None = None) -> int:
        return sum(1 for c in self.cases if (kind is None or c.kind == kind) and c.expected == "still_present" and c.got == "fixed")


def aim_camera(rng: np.random.Generator, target_en: tuple[float, float]) -> Camera:
    """A drone pose 35-60 m up, 0-25 m off the target horizontally, looking roughly at it."""
    h = float(rng.uniform(35.0, 60.0))
    d = float(rng.uniform(0.0, 25.0))
    bearing = float(rng.uniform(0.0, 360.0))
    e = target_en[0] - d * math.sin(math.radians(bearing))
    n = target_en[1] - d * math.cos(math.radians(bearing))
    pitch = -math.degrees(math.atan2(h, max(d, 1e-6))) + float(rng.normal(0.0, 3.0))
    pitch = float(np.clip(pitch, -90.0, -35.0))
    yaw = bearing + float(rng.normal(0.0, 4.0))
    return Camera(INTR, CameraPose(e, n, h, yaw % 360.0, pitch, 0.0))


def noisy(cam: Camera, rng: np.random.Generator, gps_m: float = 1.5, yaw_deg: float = 2.0, pitch_deg: float = 1.0, height_m: float = 1.0) -> Camera:
    """The pose the telemetry reports: the true one plus GPS, compass, gimbal and altitude error."""
    p = cam.pose
    return Camera(
        cam.intrinsics,
        CameraPose(
            p.east_m + float(rng.normal(0, gps_m)),
            p.north_m + float(rng.normal(0, gps_m)),
            max(5.0, p.height_m + float(rng.normal(0, height_m))),
            p.yaw_deg + float(rng.normal(0, yaw_deg)),
            float(np.clip(p.pitch_deg + rng.normal(0, pitch_deg), -90.0, -5.0)),
            0.0,
        ),
    )


def render_view(world, cam: Camera) -> np.ndarray:
    """The camera's view of the world raster (flat ground), from a pyramid level near its GSD."""
    try:
        gsd = cam.gsd_m()
    except Exception:  # noqa: BLE001 - a view of the horizon has no centre GSD; use full resolution
        gsd = world.res_m
    level = max(0, int(math.floor(math.log2(max(gsd / world.res_m, 1.0)))))
    h = cam.ground_to_image_homography() @ world.px_to_en_matrix(level)
    return cv2.warpPerspective(world.level(level), h, VIEW_WH, flags=cv2.INTER_LINEAR, borderValue=(128, 128, 128))


def project_bbox(cam: Camera, outline_en) -> tuple[float, float, float, float] | None:
    p = np.asarray(outline_en, dtype=float)
    u, v = cam.ground_to_pixel(p[:, 0], p[:, 1])
    if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
        return None
    return float(u.min()), float(v.min()), float(u.max()), float(v.max())


def view_detections(world, cam: Camera, rng: np.random.Generator, miss_rate: float) -> list[Detection]:
    """Truth detections in a view: every present object of a detector class, mostly inside the view."""
    w, h = VIEW_WH
    out = []
    for o in world.present_objects:
        if o.class_name is None:
            continue
        b = project_bbox(cam, o.outline_en)
        if b is None:
            continue
        c = (max(0.0, b[0]), max(0.0, b[1]), min(float(w), b[2]), min(float(h), b[3]))
        if c[2] <= c[0] or c[3] <= c[1]:
            continue
        if (c[2] - c[0]) * (c[3] - c[1]) < 0.3 * (b[2] - b[0]) * (b[3] - b[1]):
            continue
        if rng.random() < miss_rate:
            continue
        out.append(Detection(c, o.class_name, 0.9))
    return out


def _replaced(obj, after_world) -> bool:
    """Another object of the same class now stands on the spot (a bay taken by the next car): the
    spot is not clear, so ``still_present`` is the right verdict for it."""
    p = obj.polygon
    for o in after_world.present_objects:
        if o.id != obj.id and o.class_name == obj.class_name:
            q = o.polygon
            inter = p.intersection(q).area
            if inter > 0 and inter / p.union(q).area >= 0.3:
                return True
    return False


def run_seed(
    seed: int,
    *,
    detector: str = "truth",
    miss_rate: float = 0.3,
    size_m: float = 120.0,
    res_m: float = 0.04,
    max_legal_cars: int | None = None,
    settings: VerifySettings | None = None,
    report: SimReport | None = None,
    evidence_dir: str | None = None,
    only_wrong: bool = True,
) -> SimReport:
    """Verify every problem (and legally parked car) of one simulated city; append to ``report``."""
    from patrol.sim.world import build_world

    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {DETECTORS}, got {detector!r}")
    report = report if report is not None else SimReport()
    before = build_world(seed, "before", size_m=size_m, res_m=res_m)
    after = build_world(seed, "after", size_m=size_m, res_m=res_m)
    after_by_id = {o.id: o for o in after.objects}
    rng = np.random.default_rng([seed, 777])
    legal = [o for o in before.objects if o.violation is None and o.placement in ("bay", "lot") and o.class_name]
    if max_legal_cars is not None:
        legal = legal[:max_legal_cars]
    problems = [o for o in before.objects if o.violation is not None]
    half = size_m / 2 - 15.0
    for kind, objs in (("problem", problems), ("legal_car", legal)):
        for o in objs:
            c = o.center_en
            if abs(c[0]) > half or abs(c[1]) > half:  # too near the world's edge for both views
                continue
            a = after_by_id.get(o.id)
            expected = "still_present" if (a is not None and a.present) or _replaced(o, after) else "fixed"
            cam_b, cam_a = aim_camera(rng, c), aim_camera(rng, c)
            view_b, view_a = render_view(before, cam_b), render_view(after, cam_a)
            box = project_bbox(cam_b, o.outline_en)
            if box is None:
                continue
            dets = [] if detector == "none" else view_detections(after, cam_a, rng, miss_rate if detector == "missing" else 0.0)
            t = time.perf_counter()
            r = verify_images(
                view_b, view_a, box, o.class_name, None, settings,
                before_camera=noisy(cam_b, rng), after_camera=noisy(cam_a, rng), after_detections=dets,
            )
            dt = time.perf_counter() - t
            v = r.verification
            if evidence_dir is not None and r.crops is not None and (not only_wrong or str(v.verdict) != expected):
                from pathlib import Path

                from patrol.verify.evidence import evidence_image, write_evidence

                title = f"seed {seed} {o.id} expected {expected}"
                write_evidence(Path(evidence_dir) / f"sim-{seed}-{o.id}.png", evidence_image(r.crops, v, title=title))
            report.cases.append(
                SimCase(o.id, o.class_name, kind, expected, str(v.verdict),
                        str(v.inconclusive_reason) if v.inconclusive_reason else None, v.registration, dt)
            )
    return report
