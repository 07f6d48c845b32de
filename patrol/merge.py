"""Merging detections of the same object across frames, and per-frame pose alignment.

Pure functions over ``patrol.findings.GroundDetection`` records (local metres): ``merge_ground_detections``
groups the detections of one physical object; ``align_frames`` estimates each frame's yaw/shift error
from the objects it shares with overlapping frames; ``apply_correction`` moves a detection by it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from patrol.findings import GroundDetection

# align_frames: a weak prior (metres^2 per prior sigma^2) on yaw, east, north and pitch increments
RIDGE_M2 = 0.02
PRIOR_SIGMA = (math.radians(2.0), 3.0, 3.0, math.radians(1.0))  # yaw rad, east m, north m, pitch rad


def _pitch_lever(g: GroundDetection, east_m: float, north_m: float) -> tuple[float, float]:
    """How far (metres per radian) a pitch error moves a ground point, as a vector: along the view
    direction by (H^2 + a^2) / H, a the point's distance ahead of the camera."""
    if g.cam_en is None or g.cam_height_m is None or g.cam_forward_en is None:
        return (0.0, 0.0)
    fx, fy = g.cam_forward_en
    a = (east_m - g.cam_en[0]) * fx + (north_m - g.cam_en[1]) * fy
    lever = (g.cam_height_m**2 + a * a) / g.cam_height_m
    return (fx * lever, fy * lever)


def _merge_core(
    classes: Sequence[str],
    east: Sequence[float],
    north: Sequence[float],
    weight: Sequence[float],
    unc: Sequence[float],
    frame_rank: Sequence[int],
    tiebreak: Sequence[Any],
    radius_m: Mapping[str, float],
) -> list[list[int]]:
    """Index-based merge (see ``merge_ground_detections``); returns groups of input indices.

    Groups live in a grid hash (cells of twice the largest match distance) so a flight with tens of
    thousands of detections merges in linear time.
    """
    n = len(classes)
    max_r = 2.0 * max([float(v) for v in radius_m.values()] + [2.0])
    cell = 2.0 * max_r
    by_frame: dict[int, list[int]] = {}
    for i in range(n):
        by_frame.setdefault(frame_rank[i], []).append(i)
    groups: list[list[int]] = []
    sums: list[list[float]] = []  # sum w*e, sum w*n, sum w, min unc
    centre: list[tuple[float, float]] = []
    cell_of: list[tuple[int, int]] = []
    grid: dict[tuple[int, int], set[int]] = {}

    def key(e: float, nn: float) -> tuple[int, int]:
        return (math.floor(e / cell), math.floor(nn / cell))

    def place(gi: int) -> None:
        sw = sums[gi]
        c = (sw[0] / sw[2], sw[1] / sw[2])
        k = key(*c)
        if gi < len(centre):
            if cell_of[gi] != k:
                grid[cell_of[gi]].discard(gi)
                grid.setdefault(k, set()).add(gi)
                cell_of[gi] = k
            centre[gi] = c
        else:
            centre.append(c)
            cell_of.append(k)
            grid.setdefault(k, set()).add(gi)

    for fr in sorted(by_frame):
        dets = sorted(by_frame[fr], key=lambda i: (classes[i], tiebreak[i]))
        pairs: list[tuple[float, int, int]] = []
        for di in dets:
            base = float(radius_m.get(classes[di], 2.0))
            kx, ky = key(east[di], north[di])
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    for gi in grid.get((kx + dx, ky + dy), ()):
                        if classes[groups[gi][0]] != classes[di]:
                            continue
                        ce, cn = centre[gi]
                        dist = math.hypot(east[di] - ce, north[di] - cn)
                        thr = min(2.0 * base, max(base, math.hypot(sums[gi][3], unc[di])))
                        if dist <= thr:
                            pairs.append((dist, di, gi))
        pairs.sort()
        used_d: set[int] = set()
        used_g: set[int] = set()
        for _, di, gi in pairs:
            if di in used_d or gi in used_g:
                continue
            used_d.add(di)
            used_g.add(gi)
            groups[gi].append(di)
            sw = sums[gi]
            sw[0] += weight[di] * east[di]
            sw[1] += weight[di] * north[di]
            sw[2] += weight[di]
            sw[3] = min(sw[3], unc[di])
            place(gi)
        for di in dets:
            if di not in used_d:
                groups.append([di])
                sums.append([weight[di] * east[di], weight[di] * north[di], weight[di], unc[di]])
                place(len(groups) - 1)
    return groups


def _ranks(gds: Sequence[GroundDetection], frame_order: Sequence[str] | None) -> list[int]:
    order = list(frame_order) if frame_order is not None else sorted({g.frame for g in gds})
    rank = {f: i for i, f in enumerate(order)}
    extra = sorted({g.frame for g in gds} - set(rank))
    for f in extra:
        rank[f] = len(rank)
    return [rank[g.frame] for g in gds]


def _plain_weight(g: GroundDetection) -> float:
    w = 1.0 / max(g.uncertainty_m, 1e-3) ** 2
    return w * 0.05 if g.truncated else w


def merge_ground_detections(
    gds: list[GroundDetection] | tuple[GroundDetection, ...],
    radius_m: Mapping[str, float],
    frame_order: Sequence[str] | None = None,
) -> list[tuple[GroundDetection, ...]]:
    """Group detections of the same physical object across frames.

    Frames are visited in ``frame_order`` (default: sorted names); in each frame its detections are
    matched to the groups built so far, nearest pairs first, at most one detection per group per frame
    (two boxes in one frame are two objects), within the class's radius (widened up to 2x by the two
    positions' uncertainties). Unmatched detections start new groups. Deterministic for a given input.
    """
    gds = list(gds)
    groups = _merge_core(
        [g.class_name for g in gds],
        [g.east_m for g in gds],
        [g.north_m for g in gds],
        [_plain_weight(g) for g in gds],
        [g.uncertainty_m for g in gds],
        _ranks(gds, frame_order),
        [(g.bbox_xyxy_px, g.score) for g in gds],
        radius_m,
    )
    return [tuple(gds[i] for i in grp) for grp in groups]


@dataclass(frozen=True)
class FrameCorrection:
    """A frame's pose correction on the ground: rotate by ``dyaw_deg`` about the point below its
    camera, shift by (``de_m``, ``dn_m``), and move each point along the view direction as a pitch
    error of ``dpitch_deg`` would. ``n`` = the detections it was estimated from."""

    frame: str
    dyaw_deg: float
    de_m: float
    dn_m: float
    n: int
    dpitch_deg: float = 0.0  # moves points along the view direction by (H^2 + a^2) / H per radian


def align_frames(
    gds: Sequence[GroundDetection],
    radius_m: Mapping[str, float],
    frame_order: Sequence[str] | None = None,
    *,
    iterations: int = 3,
    sweeps: int = 3,
    max_shift_m: float = 4.0,
    max_yaw_deg: float = 3.0,
    max_pitch_deg: float = 2.0,
    fit_pitch: bool = False,
) -> dict[str, FrameCorrection]:
    """Estimate per-frame pose corrections from objects seen in several frames.

    GNSS and gimbal yaw errors differ from frame to frame, so the same object projected from two
    frames lands up to a few metres apart. Each round merges the detections, then, frame after frame
    (Gauss-Seidel), fits the small yaw (about the point below its camera) and shift that best move its
    detections onto the other frames' view of the same objects (leave-one-out group centres,
    residuals beyond twice the merge radius ignored; linearised weighted least squares with a weak
    prior). The shift all frames share (the flight-wide GNSS bias) cannot be seen from overlaps: the
    mean shift is kept at zero, so the flight stays where its GNSS put it. ``fit_pitch`` also fits a
    gimbal pitch error per frame (off by default: on the simulated flights it traded spread for a
    drift of the whole flight; stabilised gimbals hold pitch well, and at nadir its lever is nearly a
    shift).
    Returns only frames with a correction; pure and deterministic.
    """
    import numpy as np

    gds = list(gds)
    n = len(gds)
    if n < 2:
        return {}
    ranks = _ranks(gds, frame_order)
    frames = sorted({g.frame for g in gds})
    fidx = {f: i for i, f in enumerate(frames)}
    fi = np.array([fidx[g.frame] for g in gds])
    p0 = np.array([[g.east_m, g.north_m] for g in gds], dtype=float)
    cams = np.zeros((len(frames), 2))
    has_cam = np.zeros(len(frames), dtype=bool)
    for g in gds:
        if g.cam_en is not None:
            cams[fidx[g.frame]] = g.cam_en
            has_cam[fidx[g.frame]] = True
    for k in range(len(frames)):  # no camera position: rotate about the frame's detections' centroid
        if not has_cam[k]:
            cams[k] = p0[fi == k].mean(axis=0)
    w = np.array([_plain_weight(g) for g in gds])
    unc = [g.uncertainty_m for g in gds]
    classes = [g.class_name for g in gds]
    tie = [(g.bbox_xyxy_px, g.score) for g in gds]
    rad = np.array([float(radius_m.get(c, 2.0)) for c in classes])
    theta = np.zeros(len(frames))
    shift = np.zeros((len(frames), 2))
    count = np.zeros(len(frames), dtype=int)
    rel0 = p0 - cams[fi]
    members_of_frame = [np.where(fi == k)[0] for k in range(len(frames))]

    ridge = np.diag(RIDGE_M2 / np.array(PRIOR_SIGMA) ** 2)
    dpitch = np.zeros(len(frames))
    lever = np.array([_pitch_lever(g, g.east_m, g.north_m) for g in gds], dtype=float)
    if not fit_pitch:
        lever[:] = 0.0

    def frame_pos(k: int) -> np.ndarray:
        idx = members_of_frame[k]
        c, s_ = math.cos(theta[k]), math.sin(theta[k])
        r = rel0[idx]
        rot = np.column_stack([c * r[:, 0] - s_ * r[:, 1], s_ * r[:, 0] + c * r[:, 1]])
        return rot + cams[k] + shift[k] + dpitch[k] * lever[idx]

    pos = p0.copy()
    gsum = np.zeros((0, 2))
    gw = np.zeros(0)
    group_of = np.full(n, -1)

    def _move(k: int) -> None:
        """Recompute frame k's positions and keep the groups' weighted sums in step."""
        idx = members_of_frame[k]
        new = frame_pos(k)
        g = group_of[idx]
        m = g >= 0
        if m.any():
            np.add.at(gsum, g[m], w[idx[m], None] * (new[m] - pos[idx[m]]))
        pos[idx] = new

    for _ in range(iterations):
        groups = _merge_core(classes, pos[:, 0].tolist(), pos[:, 1].tolist(), w.tolist(), unc, ranks, tie, radius_m)
        group_of = np.full(n, -1)
        multi = [g for g in groups if len(g) >= 2]
        for gi, g in enumerate(multi):
            group_of[np.array(g)] = gi
        if not multi:
            break
        in_group = group_of >= 0
        gsum = np.zeros((len(multi), 2))
        gw = np.zeros(len(multi))
        np.add.at(gsum, group_of[in_group], w[in_group, None] * pos[in_group])
        np.add.at(gw, group_of[in_group], w[in_group])
        for _sweep in range(sweeps):
            # Gauss-Seidel: each frame in turn moves onto the others' current view of shared objects
            for k in range(len(frames)):
                idx = members_of_frame[k]
                idx = idx[group_of[idx] >= 0]
                if len(idx) == 0:
                    continue
                g = group_of[idx]
                tgt = (gsum[g] - w[idx, None] * pos[idx]) / (gw[g] - w[idx])[:, None]
                keep = np.linalg.norm(tgt - pos[idx], axis=1) <= 2.0 * rad[idx]
                idx, tgt = idx[keep], tgt[keep]
                count[k] = len(idx)
                if len(idx) == 0:
                    continue
                # linearised increments (yaw about the point below the camera, shift, pitch) by
                # weighted least squares with a weak prior that keeps unobserved ones at zero
                rr = pos[idx] - cams[k] - shift[k] - dpitch[k] * lever[idx]
                jt = np.column_stack([-rr[:, 1], rr[:, 0]])  # d pos / d yaw
                ww = w[idx] / w[idx].sum()
                res = (tgt - pos[idx]).reshape(-1)
                cols = np.zeros((2 * len(idx), 4))
                cols[:, 0] = jt.reshape(-1)
                cols[0::2, 1] = 1.0
                cols[1::2, 2] = 1.0
                cols[:, 3] = lever[idx].reshape(-1)
                wr = np.repeat(ww, 2)
                ata = cols.T @ (wr[:, None] * cols) + ridge
                atb = cols.T @ (wr * res)
                dx = np.linalg.solve(ata, atb)
                theta[k] = float(np.clip(theta[k] + dx[0], -math.radians(max_yaw_deg), math.radians(max_yaw_deg)))
                shift[k] = shift[k] + dx[1:3]
                dpitch[k] = float(np.clip(dpitch[k] + dx[3], -math.radians(max_pitch_deg), math.radians(max_pitch_deg)))
                _move(k)
            # A shift shared by every frame (the flight-wide GNSS bias) is unobservable from
            # overlaps: keep the mean shift of the corrected frames at zero. A shared yaw error is
            # observable (each frame turns about its own camera, so overlaps disagree) and stays fixed.
            moved = count > 0
            if moved.any():
                shift[moved] -= shift[moved].mean(axis=0)
                # a pitch error shared by all frames mostly shifts the whole flight the same way
                # (a nadir frame's lever is ~H everywhere): unobservable too, kept at zero mean
                dpitch[moved] -= dpitch[moved].mean()
            lim = np.linalg.norm(shift, axis=1, keepdims=True)
            shift = np.where(lim > max_shift_m, shift * (max_shift_m / np.maximum(lim, 1e-9)), shift)
            for k in range(len(frames)):
                _move(k)
    out = {}
    for k, f in enumerate(frames):
        if theta[k] != 0.0 or shift[k].any() or dpitch[k] != 0.0:
            out[f] = FrameCorrection(
                f, math.degrees(theta[k]), float(shift[k, 0]), float(shift[k, 1]), int(count[k]), math.degrees(dpitch[k])
            )
    return out


def apply_correction(g: GroundDetection, corr: FrameCorrection, local: Any) -> GroundDetection:
    """The detection moved by its frame's correction (position, outline, lat/lon)."""
    import dataclasses

    import numpy as np

    cx, cy = g.cam_en if g.cam_en is not None else (g.east_m, g.north_m)
    th = math.radians(corr.dyaw_deg)
    c, s_ = math.cos(th), math.sin(th)

    def tf(e: float, n: float) -> tuple[float, float]:
        re, rn = e - cx, n - cy
        return (c * re - s_ * rn + cx + corr.de_m, s_ * re + c * rn + cy + corr.dn_m)

    dp = math.radians(corr.dpitch_deg)

    def tfp(e: float, n: float) -> tuple[float, float]:
        x, y = tf(e, n)
        lx, ly = _pitch_lever(g, e, n)
        return (x + dp * lx, y + dp * ly)

    e, n = tfp(g.east_m, g.north_m)
    poly = tuple(tfp(a, b) for a, b in g.polygon_en)
    lat, lon = local.to_wgs84(e, n)
    plats, plons = local.to_wgs84(np.array([p[0] for p in poly]), np.array([p[1] for p in poly]))
    return dataclasses.replace(
        g,
        east_m=float(e),
        north_m=float(n),
        lat_deg=float(lat),
        lon_deg=float(lon),
        polygon_en=tuple((float(a), float(b)) for a, b in poly),
        polygon_wgs84=tuple((float(lo), float(la)) for lo, la in zip(plons, plats)),
    )


