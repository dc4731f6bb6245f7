"""What the detector may report to a dispatcher: classes of interest, per-class thresholds,
and one box per object where the model offers several.

The model knows eighty COCO classes; at an incident only people and road users matter (a kite
or a frisbee on a sand patch is noise). A box must reach its class's threshold to start a
track (fainter ones may only continue one). Cars, buses and trucks are one family, as are
bicycles and motorcycles: the model often calls one bus a truck in the next frame, or both in
the same frame, so a family shares tracks and overlapping boxes of one family are one object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from edge.detect import Detection

__all__ = ["DEFAULT_CLASSES", "FAMILIES", "Interest"]

DEFAULT_CLASSES = ("person", "bicycle", "car", "motorcycle", "bus", "truck")
FAMILIES: Mapping[str, str] = {
    "car": "vehicle",
    "bus": "vehicle",
    "truck": "vehicle",
    "bicycle": "two-wheeler",
    "motorcycle": "two-wheeler",
}
SAME_OBJECT_IOU = 0.5


def family(cls: str) -> str:
    """The family a class shares tracks with (itself when it has none)."""
    return FAMILIES.get(cls, cls)


@dataclass(frozen=True)
class Interest:
    """Which detections count, and how sure the model must be to start a track.

    Args:
        classes: class names that count; every other detection is dropped.
        thresholds: per-class score that starts a track; ``default`` for the others.
        default: the score that starts a track for classes without their own.
        low: the score from which a box may continue a track.
    """

    classes: Sequence[str] = DEFAULT_CLASSES
    thresholds: Mapping[str, float] = field(default_factory=dict)
    default: float = 0.4
    low: float = 0.1

    def start(self, cls: str) -> float:
        """The score from which a ``cls`` box starts a track."""
        return self.thresholds.get(cls, self.default)

    def select(self, found: Sequence[Detection]) -> list[Detection]:
        """The detections of interest, one per object (the surest of overlapping boxes of one
        family), surest first."""
        kept = [d for d in found if d.cls in self.classes and d.conf >= self.low]
        kept.sort(key=lambda d: -d.conf)
        out: list[Detection] = []
        for d in kept:
            if not any(
                family(o.cls) == family(d.cls) and _iou(o, d) > SAME_OBJECT_IOU for o in out
            ):
                out.append(d)
        return out


def _iou(a: Detection, b: Detection) -> float:
    ax = np.array(a.box)
    bx = np.array(b.box)
    w = max(0.0, min(ax[2], bx[2]) - max(ax[0], bx[0]))
    h = max(0.0, min(ax[3], bx[3]) - max(ax[1], bx[1]))
    inter = w * h
    union = (ax[2] - ax[0]) * (ax[3] - ax[1]) + (bx[2] - bx[0]) * (bx[3] - bx[1]) - inter
    return float(inter / union) if union > 0 else 0.0
