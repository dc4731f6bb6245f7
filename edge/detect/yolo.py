"""YOLO pre- and post-processing in NumPy and OpenCV, matching the Ultralytics predictor.

Input: RGB, letterboxed to a square with pad value 114, float32 in 0..1, NCHW. Output layout
(YOLOv5u/v8/11): ``1 x (4 + classes) x anchors``, rows 0-3 box centre x, centre y, width and
height in input pixels, then one score per class; no NMS inside the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = ["Letterbox", "nms", "postprocess", "preprocess"]

PAD_VALUE = 114
MAX_WH = 7680
MAX_NMS = 30000


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a frame was fitted into the model input: scale, then left/top padding."""

    gain: float
    left: int
    top: int
    width: int
    height: int


def preprocess(image: NDArray[np.uint8], size: int) -> tuple[NDArray[np.float32], Letterbox]:
    """Letterbox a BGR frame into a ``1 x 3 x size x size`` RGB tensor, as Ultralytics does."""
    h, w = image.shape[:2]
    r = min(size / h, size / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (size - new_w) / 2, (size - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    resized = image if (new_w, new_h) == (w, h) else cv2.resize(image, (new_w, new_h))
    padded = cv2.copyMakeBorder(
        resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
    )
    chw = padded[:, :, ::-1].transpose(2, 0, 1)
    tensor = np.ascontiguousarray(chw, dtype=np.float32)[None]
    tensor *= 1.0 / 255.0
    return tensor, Letterbox(r, left, top, w, h)


def nms(boxes: NDArray[np.float32], scores: NDArray[np.float32], iou: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, highest score first."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = (np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest])).clip(0)
        h = (np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest])).clip(0)
        inter = w * h
        overlap = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[overlap <= iou]
    return keep


def postprocess(
    raw: NDArray[np.float32], letter: Letterbox, *, conf: float, iou: float, max_det: int
) -> NDArray[np.float64]:
    """Class-aware NMS on raw YOLO output, boxes mapped back to frame pixels.

    Returns:
        ``n x 6`` rows of ``x1, y1, x2, y2, confidence, class id``, best first.
    """
    pred = np.asarray(raw, dtype=np.float32)
    if pred.ndim == 3:
        pred = pred[0]
    if pred.ndim != 2 or pred.shape[0] < 5:
        raise ValueError(f"unexpected detector output shape {raw.shape}")
    scores_all = pred[4:]
    best = scores_all.max(axis=0)
    cand = np.flatnonzero(best > conf)
    if cand.size == 0:
        return np.zeros((0, 6))
    cls = scores_all[:, cand].argmax(axis=0)
    score = best[cand]
    if cand.size > MAX_NMS:
        top = np.argsort(-score)[:MAX_NMS]
        cand, cls, score = cand[top], cls[top], score[top]
    cx, cy, bw, bh = pred[0, cand], pred[1, cand], pred[2, cand], pred[3, cand]
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    keep = nms(boxes + (cls * MAX_WH)[:, None].astype(np.float32), score, iou)[:max_det]
    boxes = boxes[keep].astype(np.float64)
    boxes[:, [0, 2]] = ((boxes[:, [0, 2]] - letter.left) / letter.gain).clip(0, letter.width)
    boxes[:, [1, 3]] = ((boxes[:, [1, 3]] - letter.top) / letter.gain).clip(0, letter.height)
    return np.concatenate([boxes, score[keep, None], cls[keep, None]], axis=1)
