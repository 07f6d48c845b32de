"""Ground truth of a simulated flight: objects, exact frame poses, per-frame boxes; TruthDetector.

``truth.json`` (written by ``patrol sim flight``) holds:
  scenario, seed, origin {lat_deg, lon_deg}, camera {size_wh, fx_px, fy_px, cx_px, cy_px, model, focal_mm},
  flight {path, altitude_m, pitch_deg, gps_sigma_m, yaw_sigma_deg, ...},
  objects: [{id, kind, class_name, violation, status, present, placement, polygon_en, polygon_lonlat,
             center_lat_deg, center_lon_deg}]
  frames:  [{file, time, pose {east_m, north_m, height_m, yaw_deg, pitch_deg, roll_deg}, lat_deg, lon_deg,
             written {lat_deg, lon_deg, abs_alt_m, rel_alt_m, gimbal_*_deg, flight_*_deg} (the noisy
             metadata exactly as a reader gets it back), labels [{object_id, class_name, bbox_xyxy_px,
             visible_frac, truncated, yolo_cxcywh}]}]
``status`` (after flights only, problems only): fixed (absent now) | remaining | new.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from shapely.geometry import Polygon, box
from shapely.strtree import STRtree

from patrol.detect.base import CLASSES, Detection
from patrol.errors import InputError, ModelError
from patrol.geo.camera import Camera, CameraPose
from patrol.ingest.frame import Intrinsics
from patrol.sim.solids import project, solid_points_en

MIN_VISIBLE = 0.3  # labels cover objects with at least this fraction of their area inside the frame


@dataclass(frozen=True)
class TruthLabel:
    object_id: str
    class_name: str
    bbox_xyxy_px: tuple[float, float, float, float]
    visible_frac: float
    truncated: bool

    def yolo_cxcywh(self, size_wh: tuple[int, int]) -> tuple[float, float, float, float]:
        w, h = size_wh
        x1, y1, x2, y2 = self.bbox_xyxy_px
        return ((x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h)


@dataclass(frozen=True)
class TruthObject:
    id: str
    kind: str
    class_name: str | None
    violation: str | None
    status: str | None
    present: bool
    placement: str
    polygon_en: tuple[tuple[float, float], ...]
    polygon_lonlat: tuple[tuple[float, float], ...]
    center_lat_deg: float
    center_lon_deg: float

    @property
    def polygon(self) -> Polygon:
        return Polygon(self.polygon_en)


@dataclass(frozen=True)
class TruthFrame:
    file: str
    time: str
    pose: CameraPose
    lat_deg: float
    lon_deg: float
    written: dict
    labels: tuple[TruthLabel, ...]


@dataclass(frozen=True)
class Truth:
    scenario: str
    seed: int
    origin_lat_deg: float
    origin_lon_deg: float
    intrinsics: Intrinsics
    camera_model: str
    flight: dict
    objects: tuple[TruthObject, ...]
    frames: tuple[TruthFrame, ...]

    def camera(self, frame: TruthFrame) -> Camera:
        """The exact camera of a frame (in the LocalFrame at the origin)."""
        return Camera(self.intrinsics, frame.pose)

    def frame(self, file: str) -> TruthFrame:
        name = Path(file).name
        for f in self.frames:
            if f.file == name:
                return f
        raise KeyError(f"no frame {name!r} in the truth")

    @property
    def problems(self) -> list[TruthObject]:
        return [o for o in self.objects if o.violation is not None]

    def seen_ids(self, min_visible: float = MIN_VISIBLE) -> set[str]:
        """Ids of objects that at least one frame shows (visible fraction >= min_visible)."""
        return {lb.object_id for f in self.frames for lb in f.labels if lb.visible_frac >= min_visible}

    def seen_problems(self, min_visible: float = MIN_VISIBLE) -> list[TruthObject]:
        """Problems a flight could find: present and shown by at least one frame."""
        seen = self.seen_ids(min_visible)
        return [o for o in self.problems if o.present and o.id in seen]

    def to_json(self) -> dict:
        d = {
            "version": 1, "scenario": self.scenario, "seed": self.seed,
            "origin": {"lat_deg": self.origin_lat_deg, "lon_deg": self.origin_lon_deg},
            "camera": {"model": self.camera_model, "size_wh": list(self.intrinsics.size_wh), "fx_px": self.intrinsics.fx_px,
                       "fy_px": self.intrinsics.fy_px, "cx_px": self.intrinsics.cx_px, "cy_px": self.intrinsics.cy_px,
                       "source": self.intrinsics.source},
            "flight": self.flight,
            "objects": [asdict(o) for o in self.objects],
            "frames": [],
        }
        for f in self.frames:
            labels = [{**asdict(lb), "yolo_cxcywh": [round(v, 6) for v in lb.yolo_cxcywh(self.intrinsics.size_wh)]} for lb in f.labels]
            d["frames"].append({"file": f.file, "time": f.time, "pose": asdict(f.pose), "lat_deg": f.lat_deg, "lon_deg": f.lon_deg,
                                "written": f.written, "labels": labels})
        return d

    @staticmethod
    def from_json(d: dict) -> Truth:
        cam = d["camera"]
        intr = Intrinsics(cam["fx_px"], cam["fy_px"], cam["cx_px"], cam["cy_px"], tuple(cam["size_wh"]), cam.get("source", "sim"))
        objs = tuple(TruthObject(**{**o, "polygon_en": tuple(map(tuple, o["polygon_en"])), "polygon_lonlat": tuple(map(tuple, o["polygon_lonlat"]))})
                     for o in d["objects"])
        frames = []
        for f in d["frames"]:
            labels = tuple(TruthLabel(lb["object_id"], lb["class_name"], tuple(lb["bbox_xyxy_px"]), lb["visible_frac"], lb["truncated"]) for lb in f["labels"])
            frames.append(TruthFrame(f["file"], f["time"], CameraPose(**f["pose"]), f["lat_deg"], f["lon_deg"], f["written"], labels))
        return Truth(d["scenario"], d["seed"], d["origin"]["lat_deg"], d["origin"]["lon_deg"], intr, cam.get("model", ""),
                     d.get("flight", {}), objs, tuple(frames))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")


@dataclass(frozen=True)
class CaseScore:
    """Cases of a flight against the problems its frames showed (greedy nearest match per category)."""

    cases: int
    problems: int
    matched: int

    @property
    def precision(self) -> float:
        return self.matched / self.cases if self.cases else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.problems if self.problems else 1.0


def score_cases(truth: Truth, cases: list[tuple[str, float, float]], radius_m: float = 3.0) -> CaseScore:
    """Score ``cases`` given as (category, lat_deg, lon_deg) against ``truth.seen_problems()``.

    A case matches the nearest unmatched true problem of its category within ``radius_m`` metres.
    """
    from patrol.geo.crs import LocalFrame

    local = LocalFrame(truth.origin_lat_deg, truth.origin_lon_deg)
    problems = truth.seen_problems()
    pts = [local.to_local(o.center_lat_deg, o.center_lon_deg) for o in problems]
    taken: set[int] = set()
    for category, lat, lon in cases:
        e, n = local.to_local(lat, lon)
        best = min(
            ((float(np.hypot(e - pe, n - pn)), i) for i, ((pe, pn), o) in enumerate(zip(pts, problems))
             if i not in taken and o.violation == category),
            default=None,
        )
        if best is not None and best[0] <= radius_m:
            taken.add(best[1])
    return CaseScore(cases=len(cases), problems=len(problems), matched=len(taken))


def load_truth(path: str | Path) -> Truth:
    """Read a truth.json (or the truth.json inside a flight folder)."""
    p = Path(path)
    if p.is_dir():
        p = p / "truth.json"
    try:
        return Truth.from_json(json.loads(p.read_text(encoding="utf-8")))
    except FileNotFoundError as e:
        raise InputError(p, "no truth.json (not a simulated flight folder?)") from e
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise InputError(p, f"not a valid truth file: {e}") from e


def frame_labels(cam: Camera, objects, min_visible: float = 0.0) -> tuple[TruthLabel, ...]:
    """Boxes of ``objects`` (anything with ``id``, ``class_name``, ``polygon``) seen by ``cam``.

    The ground outline is cut to the frame's footprint (so parts behind the camera or outside the
    image do not count), projected together with the corners of the object's solids when it has them
    (vehicles: ``patrol.sim.solids``, so the box covers the sides and the roof the camera sees),
    clipped to the image, and boxed. ``visible_frac`` is the share of
    the object's ground area inside the frame; ``truncated`` when the frame edge cuts it.
    """
    w, h = cam.size_wh
    fp = cam.footprint(max_range_m=3000.0).polygon_en
    objs = [o for o in objects if o.class_name is not None]
    if not objs:
        return ()
    polys = [o.polygon for o in objs]
    tree = STRtree(polys)
    image = box(-0.5, -0.5, w - 0.5, h - 0.5)
    out = []
    for i in sorted(tree.query(fp, predicate="intersects")):
        o, poly = objs[i], polys[i]
        inside = poly.intersection(fp)
        if inside.is_empty or poly.area <= 0:
            continue
        frac = float(inside.area / poly.area)
        if frac < max(min_visible, 1e-6):
            continue
        pts = np.array([c for g in getattr(inside, "geoms", [inside]) if g.geom_type == "Polygon" for c in g.exterior.coords])
        if len(pts) < 3:
            continue
        u, v = cam.ground_to_pixel(pts[:, 0], pts[:, 1])
        solid = solid_points_en(o)
        if solid is not None:  # a vehicle is drawn as a solid: its box covers its sides and roof too
            su, sv = project(cam, solid)
            u, v = np.concatenate([u, su]), np.concatenate([v, sv])
        ok = np.isfinite(u)
        if ok.sum() < 3:
            continue
        hull = Polygon(np.column_stack([u[ok], v[ok]])).convex_hull
        pix = hull.intersection(image)
        if pix.is_empty or pix.area < 1.0:
            continue
        x1, y1, x2, y2 = pix.bounds
        cut = frac < 0.999 or pix.area < hull.area * 0.999  # the frame edge cuts its ground or its top
        out.append(TruthLabel(o.id, o.class_name, (round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2)), round(frac, 4), cut))
    return tuple(out)


def yolo_lines(labels, size_wh: tuple[int, int], min_visible: float = MIN_VISIBLE) -> list[str]:
    """YOLO text lines ("class cx cy w h", normalised) in the order of patrol.detect.CLASSES."""
    return [f"{CLASSES.index(lb.class_name)} " + " ".join(f"{v:.6f}" for v in lb.yolo_cxcywh(size_wh))
            for lb in labels if lb.visible_frac >= min_visible and lb.class_name in CLASSES]


def _thumb(image: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(g, (32, 24), interpolation=cv2.INTER_AREA).astype(np.float32)


class TruthDetector:
    """A Detector returning the true boxes of simulated frames (score 1.0), to test later stages
    without the model's errors.

    ``detect_path(path, image)`` answers by file (what patrol.pipeline calls when present);
    ``detect(image)`` recognises which frame ``image`` is (a whole decoded frame, not a tile) by a
    thumbnail fingerprint; ``for_frame(name)`` gives a plain Detector bound to one file.
    ModelError when a path or image is not one of the flights' frames.
    """

    def __init__(self, flight_dirs: str | Path | list[str | Path], min_visible: float = MIN_VISIBLE) -> None:
        dirs = [flight_dirs] if isinstance(flight_dirs, (str, Path)) else list(flight_dirs)
        self.flights: list[tuple[Path, Truth]] = [(Path(d).resolve(), load_truth(d)) for d in dirs]
        if not self.flights:
            raise ModelError("TruthDetector needs at least one simulated flight folder")
        self.min_visible = min_visible
        self._thumbs: list[tuple[np.ndarray, TruthFrame]] | None = None

    @classmethod
    def for_paths(cls, paths: list[str | Path], min_visible: float = MIN_VISIBLE) -> TruthDetector:
        """The flights that ``paths`` (flight folders, or frames inside them) belong to."""
        dirs: list[Path] = []
        for raw in paths:
            p = Path(raw).resolve()
            cands = [p, *p.parents] if p.is_dir() else list(p.parents)
            found = next((c for c in cands[:3] if (c / "truth.json").is_file()), None)
            if found is None and p.is_dir():  # a folder holding several flights (e.g. demo-out/)
                dirs.extend(sorted(t.parent for t in p.glob("*/truth.json")))
            elif found is None:
                raise ModelError(f"{raw}: no truth.json beside it: not a `patrol sim flight` output")
            elif found not in dirs:
                dirs.append(found)
        if not dirs:
            raise ModelError(f"no truth.json under {', '.join(map(str, paths))}: not a `patrol sim flight` output")
        return cls(dirs, min_visible)

    @property
    def truth(self) -> Truth:
        return self.flights[0][1]

    def boxes(self, frame: TruthFrame) -> list[Detection]:
        return [Detection(lb.bbox_xyxy_px, lb.class_name, 1.0) for lb in frame.labels if lb.visible_frac >= self.min_visible]

    def _frame_for(self, path: str | Path) -> TruthFrame:
        p = Path(path).resolve()
        for d, t in self.flights:
            if p.parent == d:
                return t.frame(p.name)
        raise ModelError(f"{path}: not a frame of the simulated flight(s) {', '.join(str(d) for d, _ in self.flights)}")

    def detect_path(self, path: str | Path, image: np.ndarray | None = None) -> list[Detection]:
        try:
            return self.boxes(self._frame_for(path))
        except KeyError as e:
            raise ModelError(f"{path}: no such frame in its truth.json") from e

    def for_frame(self, path: str | Path) -> _BoundTruth:
        return _BoundTruth(self.detect_path(path))

    def detect(self, image: np.ndarray) -> list[Detection]:
        w, h = self.truth.intrinsics.size_wh
        if image.shape[:2] != (h, w):
            raise ModelError(f"TruthDetector needs a whole {w}x{h} frame, got {image.shape[1]}x{image.shape[0]} (run it untiled)")
        if self._thumbs is None:
            self._thumbs = []
            for d, t in self.flights:
                for f in t.frames:
                    img = cv2.imread(str(d / f.file), cv2.IMREAD_COLOR)
                    if img is not None:
                        self._thumbs.append((_thumb(img), f))
        t = _thumb(image)
        best = min(self._thumbs, key=lambda tf: float(np.abs(tf[0] - t).mean()), default=None)
        if best is None or float(np.abs(best[0] - t).mean()) > 2.0:
            raise ModelError("TruthDetector: the image is not one of the simulated frames")
        return self.boxes(best[1])


@dataclass(frozen=True)
class _BoundTruth:
    detections: list[Detection]

    def detect(self, image: np.ndarray) -> list[Detection]:
        return list(self.detections)
