"""ONNX Runtime backend (the default): YOLOv8/YOLO11 ONNX exports, no torch.

Pre- and post-processing follow ultralytics exactly (letterbox with grey 114 padding, best class per
anchor, class-wise greedy NMS), so this backend and the ultralytics one agree to a pixel on the same
model. The pure parts (``letterbox``, ``decode_yolo``, ``parse_names``) are separate functions with no
session, tested on synthetic arrays.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from patrol.detect.base import Detection
from patrol.detect.tiling import nms_xyxy
from patrol.errors import ModelError

PAD_VALUE = 114  # ultralytics LetterBox fill


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the model input: ``model_px = image_px * gain + pad``."""

    gain: float
    pad_x_px: float
    pad_y_px: float


def letterbox(image: np.ndarray, input_wh: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping aspect ratio, centre, pad with grey: the ultralytics LetterBox (scaleup on)."""
    h0, w0 = image.shape[:2]
    in_w, in_h = input_wh
    gain = min(in_w / w0, in_h / h0)
    new_w, new_h = int(round(w0 * gain)), int(round(h0 * gain))
    if (new_w, new_h) != (w0, h0):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    dw, dh = (in_w - new_w) / 2, (in_h - new_h) / 2
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    if top or bottom or left or right:
        image = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    # ultralytics scale_boxes removes round(pad - 0.1), which equals top/left here
    return image, Letterbox(gain, float(left), float(top))


def to_blob(image_bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 HxWx3 -> float32 1x3xHxW RGB in [0, 1]."""
    rgb = image_bgr[:, :, ::-1].transpose(2, 0, 1)
    return (np.ascontiguousarray(rgb, dtype=np.float32) * np.float32(1 / 255.0))[None]


def decode_yolo(
    output: np.ndarray,
    confidence: float,
    iou: float,
    max_det: int = 300,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YOLOv8/YOLO11 raw head -> (boxes xyxy in model pixels, scores, class ids), after NMS.

    ``output`` is [1, 4+nc, N] (ultralytics export) or [1, N, 4+nc]; rows are cx, cy, w, h then one
    score per class (no objectness). Like ultralytics: best class per anchor, keep score > confidence,
    class-wise NMS at ``iou``, at most ``max_det`` boxes, highest score first. End-to-end exports
    ([1, N, 6] = x1, y1, x2, y2, score, class, NMS already done) are accepted too.
    """
    out = np.asarray(output)
    if out.ndim == 3:
        if out.shape[0] != 1:
            raise ModelError(f"expected batch size 1 in the model output, got shape {out.shape}")
        out = out[0]
    if out.ndim != 2:
        raise ModelError(f"unexpected model output shape {np.asarray(output).shape}; expected [1, 4+nc, N]")
    if out.shape[1] == 6 and out.shape[0] > 6:  # end-to-end: rows already boxes
        keep = out[:, 4] > confidence
        rows = out[keep][:max_det]
        order = np.argsort(-rows[:, 4], kind="stable")
        rows = rows[order]
        return rows[:, :4].astype(np.float64), rows[:, 4].astype(np.float64), rows[:, 5].astype(np.int64)
    if out.shape[0] < out.shape[1]:  # [4+nc, N] -> [N, 4+nc]
        out = out.T
    if out.shape[1] < 5:
        raise ModelError(f"model output has {out.shape[1]} values per box; expected 4 box + >=1 class scores")
    cls_scores = out[:, 4:]
    cls_ids = cls_scores.argmax(axis=1)
    scores = cls_scores[np.arange(len(cls_scores)), cls_ids]
    keep = scores > confidence
    if not keep.any():
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64)
    xywh = out[keep, :4].astype(np.float64)
    scores, cls_ids = scores[keep].astype(np.float64), cls_ids[keep].astype(np.int64)
    boxes = np.empty_like(xywh)
    boxes[:, 0] = xywh[:, 0] - xywh[:, 2] / 2
    boxes[:, 1] = xywh[:, 1] - xywh[:, 3] / 2
    boxes[:, 2] = xywh[:, 0] + xywh[:, 2] / 2
    boxes[:, 3] = xywh[:, 1] + xywh[:, 3] / 2
    # class-wise NMS in one call: offset each class far apart (the ultralytics trick)
    offset = cls_ids[:, None].astype(np.float64) * 7680.0
    idx = nms_xyxy(boxes + offset, scores, iou)[:max_det]
    return boxes[idx], scores[idx], cls_ids[idx]


def parse_names(value: str | None) -> tuple[str, ...] | None:
    """Class names from the ONNX metadata ``names`` (ultralytics writes ``"{0: 'vehicle', ...}"``)."""
    if not value:
        return None
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return None
    if isinstance(parsed, dict):
        try:
            return tuple(str(parsed[k]) for k in sorted(parsed, key=int))
        except (TypeError, ValueError):
            return None
    if isinstance(parsed, (list, tuple)):
        return tuple(str(n) for n in parsed)
    return None


def to_detections(
    boxes: np.ndarray,
    scores: np.ndarray,
    cls_ids: np.ndarray,
    lb: Letterbox,
    size_wh: tuple[int, int],
    names: tuple[str, ...],
) -> list[Detection]:
    """Model-pixel boxes -> Detections in image pixels (undo letterbox, clip, drop empty)."""
    w, h = size_wh
    out = []
    for (x1, y1, x2, y2), s, c in zip(boxes, scores, cls_ids):
        x1 = min(max((x1 - lb.pad_x_px) / lb.gain, 0.0), w)
        x2 = min(max((x2 - lb.pad_x_px) / lb.gain, 0.0), w)
        y1 = min(max((y1 - lb.pad_y_px) / lb.gain, 0.0), h)
        y2 = min(max((y2 - lb.pad_y_px) / lb.gain, 0.0), h)
        if x2 <= x1 or y2 <= y1:
            continue
        name = names[c] if 0 <= c < len(names) else f"class_{c}"
        out.append(Detection((float(x1), float(y1), float(x2), float(y2)), name, float(min(max(s, 0.0), 1.0))))
    return out


DEFAULT_CONFIDENCE = 0.5


def parse_operating_confidence(meta: dict[str, str], names: tuple[str, ...]) -> dict[str, float] | None:
    """Per-class operating confidence that ``patrol train`` stores in the ONNX metadata
    (``patrol_confidence`` JSON per class, ``patrol_default_confidence`` for the rest); None if absent
    or malformed."""
    raw = meta.get("patrol_confidence")
    default = meta.get("patrol_default_confidence")
    try:
        per = json.loads(raw) if raw else {}
        d = float(default) if default else None
    except (ValueError, TypeError):
        return None
    if not isinstance(per, dict) or (not per and d is None):
        return None
    out: dict[str, float] = {}
    for n in names:
        v = per.get(n, d)
        if v is None:
            v = DEFAULT_CONFIDENCE
        try:
            out[n] = min(max(float(v), 0.0), 1.0)
        except (TypeError, ValueError):
            return None
    return out


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, computed once per (path, size, mtime) in a process: a flight opens the model
    twice (detection and the verification re-run), and a 44 MB hash is not free."""
    st = path.stat()
    return _sha256(str(path.resolve()), st.st_size, st.st_mtime_ns)


def operating_sidecar(model: Path) -> tuple[dict[str, float], str] | None:
    """Operating points recalibrated after training, in ``MODEL.operating.json`` beside the model
    (``scripts/operating_points.py`` writes it): ``{"model_sha256": ..., "confidence": {class: c}}``.
    Used only when the hash is the model file's own (a replaced model keeps its metadata's points);
    returns (confidence per class, a line saying where they came from) or None."""
    side = model.with_name(model.stem + ".operating.json")
    if not side.is_file():
        return None
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
        conf = {str(k): float(v) for k, v in dict(data["confidence"]).items()}
        want = str(data["model_sha256"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"{side}: not a valid operating-point file: {e}") from e
    if file_sha256(model) != want:
        return None
    return conf, f"{side.name}: {data.get('chosen_by', 'recalibrated')}"


def class_thresholds(
    names: tuple[str, ...], confidence: float | None, model_confidence: dict[str, float] | None,
    class_confidence: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Score threshold per class: an explicit ``confidence`` for all; else ``class_confidence`` for
    the classes it names (``[detect] class_confidence``); else the model's operating point; else 0.5."""
    if confidence is not None:
        return {n: float(confidence) for n in names}
    base = {n: (model_confidence or {}).get(n, DEFAULT_CONFIDENCE) for n in names}
    for n, c in (class_confidence or {}).items():
        if n in base:
            base[n] = float(c)
    return base


def default_threads() -> int:
    """Intra-op threads: the cores this process may run on (not every core of the host, which is
    what ORT's default counts and which oversubscribes a container or a pinned worker)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class OnnxDetector:
    """A YOLO ONNX model on ONNX Runtime (CPU). ``detect(image_bgr) -> list[Detection]``.

    ``confidence`` None = each class at the model's operating point (``patrol_confidence`` metadata,
    chosen on validation by ``patrol train``), else 0.5; a number = that threshold for every class.
    Raises ModelError when the file is missing or is not a usable YOLO detection model.
    """

    def __init__(
        self,
        path: str | Path,
        confidence: float | None = None,
        iou: float = 0.5,
        threads: int = 0,
        max_det: int = 300,
        class_confidence: Mapping[str, float] | None = None,
        spinning: bool = True,
    ) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"{self.path}: model file not found")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        # else ORT's own choice: one thread per physical core, pinned to it, measured 1.2x faster
        # here than the same count set explicitly (which leaves the threads unpinned)
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not spinning:  # idle worker threads sleep instead of busy-waiting (shared or small CPUs)
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.spinning = spinning
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(f"{self.path}: not a loadable ONNX model: {e}") from e
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        meta = self.session.get_modelmeta().custom_metadata_map
        imgsz = _fixed_hw(shape) or _imgsz_from_meta(meta.get("imgsz"))
        if imgsz is None:
            raise ModelError(f"{self.path}: input size unknown (dynamic shape {shape} and no imgsz metadata)")
        self.input_wh = (imgsz[1], imgsz[0])
        names = parse_names(meta.get("names"))
        n_out = self.session.get_outputs()[0].shape
        if names is None:
            nc = _num_classes(n_out)
            names = tuple(f"class_{i}" for i in range(nc)) if nc else ()
        self.class_names: tuple[str, ...] = names
        self.model_confidence = parse_operating_confidence(meta, names)
        self.operating_source = "ONNX metadata" if self.model_confidence else "none (0.5)"
        side = operating_sidecar(self.path)
        if side is not None:  # recalibrated points beside the model win over its metadata
            self.model_confidence = {**(self.model_confidence or {}), **{k: v for k, v in side[0].items() if k in names}}
            self.operating_source = side[1]
        try:  # the tile size the model was trained on (``patrol train``), else its input size
            self.tile_px = int(meta.get("patrol_tile_px") or 0) or self.input_wh[0]
        except ValueError:
            self.tile_px = self.input_wh[0]
        self.thresholds = class_thresholds(names, confidence, self.model_confidence, class_confidence)
        self._thr = np.array([self.thresholds[n] for n in names], dtype=np.float64)
        self.confidence = float(self._thr.min()) if len(self._thr) else DEFAULT_CONFIDENCE  # decode floor
        self.iou = iou
        self.max_det = max_det
        self.metadata = dict(meta)

    def infer_raw(self, blob: np.ndarray) -> np.ndarray:
        """One forward pass on a prepared 1x3xHxW blob: the model alone (benchmark ceiling)."""
        return self.session.run(None, {self.input_name: blob})[0]

    def detect(self, image: np.ndarray) -> list[Detection]:
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected a BGR image HxWx3, got shape {image.shape}")
        h, w = image.shape[:2]
        boxed, lb = letterbox(image, self.input_wh)
        out = self.infer_raw(to_blob(boxed))
        boxes, scores, cls = decode_yolo(out, self.confidence, self.iou, self.max_det)
        if len(cls) and len(self._thr):
            known = cls < len(self._thr)
            keep = ~known | (scores >= self._thr[np.minimum(cls, len(self._thr) - 1)])
            boxes, scores, cls = boxes[keep], scores[keep], cls[keep]
        return to_detections(boxes, scores, cls, lb, (w, h), self.class_names)


def _fixed_hw(shape) -> tuple[int, int] | None:
    if len(shape) == 4 and isinstance(shape[2], int) and isinstance(shape[3], int):
        return (shape[2], shape[3])
    return None


def _imgsz_from_meta(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        v = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return None
    if isinstance(v, int):
        return (v, v)
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return (int(v[0]), int(v[1]))
    return None


def _num_classes(out_shape) -> int | None:
    dims = [d for d in out_shape[1:] if isinstance(d, int)]
    if len(dims) == 2:
        return min(dims) - 4
    return None
