"""Redaction: people (and plates, when a plate detector runs) made unrecognisable.

Each box is grown a little, shrunk to a few cells across and smoothly scaled back up: what
was inside is averaged away and cannot be recovered. Redaction fails closed: any error
raises, and the caller then sends no redacted frame.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.errors import OutriderError

__all__ = ["RedactionError", "redact"]


class RedactionError(OutriderError):
    """A frame that could not be redacted; it must not be sent as redacted."""

    default_code = "redaction_failed"


def redact(
    image: NDArray[np.uint8],
    boxes: Iterable[tuple[float, float, float, float]],
    *,
    grow: float = 0.1,
    cells: int = 6,
) -> NDArray[np.uint8]:
    """A copy of ``image`` with every box averaged down to ``cells`` cells across its short side.

    Raises:
        RedactionError: the frame cannot be redacted (not an image, or a box cannot be applied).
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise RedactionError(f"cannot redact an array of shape {image.shape} {image.dtype}")
    out = image.copy()
    h, w = out.shape[:2]
    for x1, y1, x2, y2 in boxes:
        if not all(np.isfinite(v) for v in (x1, y1, x2, y2)):
            raise RedactionError(f"box {(x1, y1, x2, y2)} is not finite")
        gx, gy = (x2 - x1) * grow, (y2 - y1) * grow
        left, top = max(int(x1 - gx), 0), max(int(y1 - gy), 0)
        right, bottom = min(int(np.ceil(x2 + gx)), w), min(int(np.ceil(y2 + gy)), h)
        if right <= left or bottom <= top:
            continue
        roi = out[top:bottom, left:right]
        rh, rw = roi.shape[:2]
        block = max(2, min(rh, rw) // cells)
        small = cv2.resize(
            roi, (max(1, rw // block), max(1, rh // block)), interpolation=cv2.INTER_AREA
        )
        out[top:bottom, left:right] = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_LINEAR)
    return out
