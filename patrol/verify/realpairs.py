"""Real before/after pairs from hovering-drone videos with complete vehicle labels (evaluation data).

The aerial-cars video frames (``DJI-00760-*``, ``DJI_0005-*`` in ../shared/data/aerial-cars) are
frames of one hovering video each, with nearly every vehicle labelled (YOLO ``cls cx cy w h``). Two
frames of one video differ by a near-identity homography: ``build_pair`` registers them (whole-image
features), maps each labelled vehicle of the earlier frame into the later one, and calls it from the
label overlaps (``classify_spot``):

- ``present``: a labelled vehicle of the later frame covers the spot (intersection over the smaller
  box >= 0.5) -- the same car or another one: either way the spot is not clear (``still_present``);
- ``gone``: no labelled vehicle touches the spot substantially (intersection over the smaller box
  < 0.1) -- ``fixed``;
- ``ambiguous``: in between (a car that moved half a length in a queue), or the spot too near an edge
  of either frame (cut cars are not labelled): left out of the scores.

``write_pair_photos`` writes both frames as geotagged DJI-style photos (``patrol.sim.exifwrite``),
nadir, at the height that gives the frame's ground resolution (estimated from the labelled car
lengths), the later one ``gap_s`` later with ``drift_m`` of GPS error, so ``patrol compare`` and two
``patrol process`` runs can be scored on them.

Split: thresholds are tuned on DJI_0005 pairs (``TUNE_PAIRS``; that video is also in the detector's
training data) and scored on DJI-00760 pairs (``SCORE_PAIRS``; a video the detector never saw).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

Box = tuple[float, float, float, float]

#: (video, before frame, after frame): frames far enough apart that traffic changed.
TUNE_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("DJI_0005", "DJI_0005-0018", "DJI_0005-0041"),
    ("DJI_0005", "DJI_0005-0090", "DJI_0005-0118"),
    ("DJI_0005", "DJI_0005-0099", "DJI_0005-0127"),
    ("DJI_0005", "DJI_0005-0124", "DJI_0005-0151"),
    ("DJI_0005", "DJI_0005-0162", "DJI_0005-0185"),
    ("DJI_0005", "DJI_0005-0187", "DJI_0005-0204"),
)
SCORE_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("DJI-00760", "DJI-00760-00001", "DJI-00760-00013"),
    ("DJI-00760", "DJI-00760-00003", "DJI-00760-00021"),
    ("DJI-00760", "DJI-00760-00014", "DJI-00760-00032"),
    ("DJI-00760", "DJI-00760-00023", "DJI-00760-00039"),
)
CAR_LENGTH_M = 4.5  # a typical car, for the frames' ground resolution
EDGE_PX = 12.0  # spots this close to a frame edge are left out (cut cars are not labelled)
PRESENT_IOS = 0.5
GONE_IOS = 0.1


@dataclass(frozen=True)
class SpotTruth:
    """One labelled vehicle of the earlier frame and what stands on its spot in the later one."""

    pair: str  # "BEFORE->AFTER" frame stems
    index: int  # label line in the before frame
    before_bbox_xyxy_px: Box
    after_bbox_xyxy_px: Box  # the before box mapped through the pair's homography (its footprint)
    truth: str  # present | gone | ambiguous
    best_ios: float  # largest intersection over the smaller box with an after label
    best_iou: float

    @property
    def expected(self) -> str | None:
        """The verdict a correct verifier gives (None = not scored)."""
        return {"present": "still_present", "gone": "fixed"}.get(self.truth)


@dataclass(frozen=True)
class FramePair:
    video: str
    before_path: Path
    after_path: Path
    size_wh: tuple[int, int]
    h_ab: tuple[float, ...]  # 9 values, row-major: before px -> after px
    inliers: int
    gsd_m: float  # estimated ground resolution (car lengths), metres per pixel
    spots: tuple[SpotTruth, ...]

    @property
    def name(self) -> str:
        return f"{self.before_path.stem}->{self.after_path.stem}"


def yolo_boxes(text: str, size_wh: tuple[int, int]) -> list[Box]:
    """YOLO label lines (``cls cx cy w h``, normalised) -> pixel boxes xyxy (every class is a vehicle)."""
    w, h = size_wh
    out: list[Box] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 5:
            continue
        _, cx, cy, bw, bh = (float(v) for v in parts)
        out.append(((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h))
    return out


def overlap(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """(intersection over the smaller box, IoU) of two xyxy boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    aa = (a[2] - a[0]) * (a[3] - a[1])
    ab = (b[2] - b[0]) * (b[3] - b[1])
    small = min(aa, ab)
    union = aa + ab - inter
    return (inter / small if small > 0 else 0.0), (inter / union if union > 0 else 0.0)


def map_box(h_ab: np.ndarray, box: Sequence[float]) -> Box:
    """The axis-aligned bounding box of ``box``'s corners mapped through ``h_ab``."""
    x1, y1, x2, y2 = box
    p = np.array([[x1, y1, 1.0], [x2, y1, 1.0], [x2, y2, 1.0], [x1, y2, 1.0]]) @ np.asarray(h_ab, float).T
    q = p[:, :2] / p[:, 2:3]
    return float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())


def _inside(box: Sequence[float], size_wh: tuple[int, int], edge: float) -> bool:
    w, h = size_wh
    return box[0] >= edge and box[1] >= edge and box[2] <= w - edge and box[3] <= h - edge


def classify_spot(footprint: Box, after_boxes: Sequence[Box]) -> tuple[str, float, float]:
    """(present | gone | ambiguous, best intersection-over-smaller, best IoU) of a mapped spot."""
    best_ios = best_iou = 0.0
    for b in after_boxes:
        ios, iou = overlap(footprint, b)
        best_ios, best_iou = max(best_ios, ios), max(best_iou, iou)
    if best_ios >= PRESENT_IOS:
        return "present", best_ios, best_iou
    if best_ios < GONE_IOS:
        return "gone", best_ios, best_iou
    return "ambiguous", best_ios, best_iou


def spot_truths(
    name: str, h_ab: np.ndarray, before_boxes: Sequence[Box], after_boxes: Sequence[Box], size_wh: tuple[int, int]
) -> tuple[SpotTruth, ...]:
    """Every before label as a SpotTruth (pure). Spots near an edge of either frame are ambiguous."""
    out = []
    for i, b in enumerate(before_boxes):
        fp = map_box(h_ab, b)
        truth, ios, iou = classify_spot(fp, after_boxes)
        if not (_inside(b, size_wh, EDGE_PX) and _inside(fp, size_wh, EDGE_PX)):
            truth = "ambiguous"
        out.append(SpotTruth(name, i, tuple(b), fp, truth, round(ios, 3), round(iou, 3)))  # type: ignore[arg-type]
    return tuple(out)


def gsd_from_cars(boxes: Sequence[Box]) -> float:
    """Metres per pixel from the median long side of the labelled boxes (cars ~4.5 m)."""
    sides = sorted(max(b[2] - b[0], b[3] - b[1]) for b in boxes)
    if not sides:
        raise ValueError("no labelled boxes to estimate the ground resolution from")
    return CAR_LENGTH_M / sides[len(sides) // 2]


def build_pair(data_dir: str | Path, video: str, before: str, after: str) -> FramePair:
    """Read two labelled frames of one video, register them, classify every before vehicle's spot.

    Raises ValueError when the whole-image registration fails (not a pair of one hover)."""
    from patrol.detect.engine import read_image
    from patrol.verify.register import global_homography

    d = Path(data_dir)
    bp, ap = d / f"{before}.jpg", d / f"{after}.jpg"
    img_b, img_a = read_image(bp), read_image(ap)
    size = (img_b.shape[1], img_b.shape[0])
    fm = global_homography(img_b, img_a)
    if fm.h_ab is None:
        raise ValueError(f"{bp.name} -> {ap.name}: whole-image registration failed ({fm.reason})")
    bb = yolo_boxes((d / f"{before}.txt").read_text(), size)
    ab = yolo_boxes((d / f"{after}.txt").read_text(), size)
    name = f"{before}->{after}"
    return FramePair(
        video, bp, ap, size, tuple(float(v) for v in np.asarray(fm.h_ab).ravel()), fm.inliers,
        gsd_from_cars(bb + ab), spot_truths(name, fm.h_ab, bb, ab, size),
    )


# --- geotagged photos -------------------------------------------------------------------------------

ORIGIN_LAT_DEG, ORIGIN_LON_DEG = 53.9000, 27.5600  # Minsk, where the videos were taken
FOCAL_MM, SENSOR_W_MM = 8.8, 13.2  # FC6310 (patrol.ingest.cameras)
T0 = datetime(2026, 5, 4, 9, 0, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class PairPhotos:
    before_path: Path
    after_path: Path
    before_lat_lon_deg: tuple[float, float]  # the before camera's position
    height_m: float


def height_for_gsd(gsd_m: float, width_px: int) -> float:
    """Nadir height at which an FC6310 frame ``width_px`` wide has ``gsd_m`` metres per pixel."""
    return gsd_m * FOCAL_MM / (SENSOR_W_MM / width_px)


def pair_offset_deg(slot: int) -> tuple[float, float]:
    """Where pair number ``slot`` is placed (a few hundred metres apart, so pairs never overlap)."""
    return ORIGIN_LAT_DEG + 0.004 * (slot % 5), ORIGIN_LON_DEG + 0.006 * (slot // 5)


def write_pair_photos(
    pair: FramePair, out_dir: str | Path, *, slot: int = 0, gap_s: float = 7200.0, drift_m: tuple[float, float] = (0.8, -0.6)
) -> PairPhotos:
    """Write ``pair``'s frames as DJI-style photos into ``out_dir/before`` and ``out_dir/after``.

    Both nadir (gimbal pitch -90, yaw 0) from one hover point; the after photo ``gap_s`` later and its
    GPS ``drift_m`` (east, north) off, as a second flight's would be."""
    import cv2

    from patrol.geo.crs import LocalFrame
    from patrol.sim.exifwrite import PhotoTags, with_metadata

    out = Path(out_dir)
    lat, lon = pair_offset_deg(slot)
    h = height_for_gsd(pair.gsd_m, pair.size_wh[0])
    alat, alon = LocalFrame(lat, lon).to_wgs84(*drift_m)
    paths = []
    for sub, src, (la, lo), t in (
        ("before", pair.before_path, (lat, lon), T0),
        ("after", pair.after_path, (float(alat), float(alon)), T0 + timedelta(seconds=gap_s)),
    ):
        img = cv2.imread(str(src))
        if img is None:
            raise ValueError(f"{src}: cannot decode")
        ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise ValueError(f"{src}: cannot encode")
        t_slot = t + timedelta(seconds=slot)
        tags = PhotoTags(
            lat_deg=la, lon_deg=lo, abs_alt_m=200.0 + h, rel_alt_m=h, gimbal_yaw_deg=0.0, gimbal_pitch_deg=-90.0,
            gimbal_roll_deg=0.0, flight_yaw_deg=0.0, flight_pitch_deg=0.0, flight_roll_deg=0.0, time=t_slot,
            size_wh=pair.size_wh, focal_mm=FOCAL_MM,
        )
        p = out / sub / f"{src.stem}.JPG"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(with_metadata(enc.tobytes(), tags))
        paths.append(p)
    return PairPhotos(paths[0], paths[1], (lat, lon), h)


def spot_lat_lon(photos: PairPhotos, pair: FramePair, box: Sequence[float]) -> tuple[float, float]:
    """The ground point under a before-frame box's centre (the nadir camera of ``write_pair_photos``)."""
    from patrol.geo.crs import LocalFrame

    w, h = pair.size_wh
    f_px = FOCAL_MM / (SENSOR_W_MM / w)
    cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
    east = (cx - (w - 1) / 2.0) * photos.height_m / f_px
    north = -(cy - (h - 1) / 2.0) * photos.height_m / f_px
    lat, lon = LocalFrame(*photos.before_lat_lon_deg).to_wgs84(east, north)
    return float(lat), float(lon)


def summary(pairs: Sequence[FramePair]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in pairs:
        for s in p.spots:
            counts[s.truth] = counts.get(s.truth, 0) + 1
    return counts


__all__ = [
    "SCORE_PAIRS", "TUNE_PAIRS", "FramePair", "PairPhotos", "SpotTruth", "build_pair", "classify_spot", "gsd_from_cars",
    "height_for_gsd", "map_box", "overlap", "spot_lat_lon", "spot_truths", "summary", "write_pair_photos", "yolo_boxes",
]


# --- scoring ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """One scored spot: what it is and what patrol said."""

    pair: str
    index: int
    expected: str
    got: str
    reason: str | None


@dataclass(frozen=True)
class Score:
    rows: tuple[Scored, ...]

    @property
    def right(self) -> int:
        return sum(r.expected == r.got for r in self.rows)

    @property
    def false_fixed(self) -> int:
        return sum(r.expected == "still_present" and r.got == "fixed" for r in self.rows)

    @property
    def accuracy(self) -> float:
        return self.right / len(self.rows) if self.rows else float("nan")

    def confusion(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            k = f"{r.expected} -> {r.got}"
            out[k] = out.get(k, 0) + 1
        return dict(sorted(out.items()))

    def line(self) -> str:
        return f"{self.right}/{len(self.rows)} right ({100 * self.accuracy:.0f}%), false fixed {self.false_fixed}: {self.confusion()}"


def score_compare(pairs: Sequence[FramePair], photos: Sequence[PairPhotos], settings, detector) -> Score:  # noqa: ANN001
    """``patrol compare BEFORE AFTER --point`` (``compare_photos``) on every scored spot: the point is
    the ground under the before label's centre."""
    from patrol.verify.adhoc import compare_photos

    rows = []
    for pair, ph in zip(pairs, photos, strict=True):
        for s in pair.spots:
            if s.expected is None:
                continue
            lat, lon = spot_lat_lon(ph, pair, s.before_bbox_xyxy_px)
            v = compare_photos(ph.before_path, ph.after_path, lat, lon, settings, detector=detector)
            rows.append(Scored(pair.name, s.index, s.expected, str(v.verdict), str(v.inconclusive_reason) if v.inconclusive_reason else None))
    return Score(tuple(rows))


def write_flights(pairs: Sequence[FramePair], out_dir: str | Path) -> tuple[list[PairPhotos], Path]:
    """Every pair's photos (``out_dir/before``, ``out_dir/after``: two flights two hours apart, one
    photo per pair) and a zones file with one no-parking zone over all of them (every vehicle is a
    case). Returns the photos and the zones file."""
    import json

    out = Path(out_dir)
    photos = [write_pair_photos(p, out, slot=i) for i, p in enumerate(pairs)]
    lats = [ph.before_lat_lon_deg[0] for ph in photos]
    lons = [ph.before_lat_lon_deg[1] for ph in photos]
    pad = 0.003
    ring = [[min(lons) - pad, min(lats) - pad], [max(lons) + pad, min(lats) - pad], [max(lons) + pad, max(lats) + pad],
            [min(lons) - pad, max(lats) + pad], [min(lons) - pad, min(lats) - pad]]
    zones = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "no_parking", "name": "everywhere"}, "geometry": {"type": "Polygon", "coordinates": [ring]}},
    ]}
    zpath = out / "zones.geojson"
    zpath.write_text(json.dumps(zones))
    return photos, zpath


@dataclass(frozen=True)
class TwoFlightScore:
    vehicles: int  # scored before-flight vehicles (gone or present)
    opened: int  # of those, opened as cases by the first flight
    right: int  # of the opened, in the right state after the second flight
    false_fixed: int  # still on the spot, but fixed
    states: dict[str, int]  # "truth -> status": count

    def line(self) -> str:
        return (f"{self.opened}/{self.vehicles} vehicles opened as cases ({100 * self.opened / max(1, self.vehicles):.0f}%), "
                f"{self.right}/{self.opened} in the right state after the second flight ({100 * self.right / max(1, self.opened):.0f}%), "
                f"false fixed {self.false_fixed}: {self.states}")


def score_two_flights(
    pairs: Sequence[FramePair], photos: Sequence[PairPhotos], first_cases, status_of: dict[int, str]  # noqa: ANN001
) -> TwoFlightScore:
    """Score the cases after both flights: each scored vehicle of a before frame is matched to the
    case (as the first flight left it, ``first_cases``) whose evidence box in that frame covers it
    best (intersection over the smaller box >= 0.5); ``status_of``: case id -> status after the
    second flight. Right: gone -> ``fixed``; present -> still active, not fixed."""
    active = {"open", "dispatched", "still_present", "reopened"}
    by_frame: dict[str, list] = {}
    for c in first_cases:
        if c.evidence_frame and c.evidence_bbox_xyxy_px:
            by_frame.setdefault(str(Path(c.evidence_frame).resolve()), []).append(c)
    vehicles = opened = right = false_fixed = 0
    states: dict[str, int] = {}
    for pair, ph in zip(pairs, photos, strict=True):
        cands = by_frame.get(str(Path(ph.before_path).resolve()), [])
        for s in pair.spots:
            if s.expected is None:
                continue
            vehicles += 1
            best, best_ov = None, 0.5
            for c in cands:
                ov, _ = overlap(s.before_bbox_xyxy_px, c.evidence_bbox_xyxy_px)
                if ov >= best_ov:
                    best, best_ov = c, ov
            if best is None:
                continue
            opened += 1
            st = str(status_of.get(best.case_id, best.status))
            ok = st == "fixed" if s.truth == "gone" else st in active
            right += ok
            false_fixed += s.truth == "present" and st == "fixed"
            k = f"{s.truth} -> {st}"
            states[k] = states.get(k, 0) + 1
    return TwoFlightScore(vehicles, opened, right, false_fixed, dict(sorted(states.items())))
