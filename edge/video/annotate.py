"""Drawing on frames with OpenCV: boxes with class, confidence and track id, and the HUD."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.protocol import DetectedObject

__all__ = ["Hud", "draw_hud", "draw_objects"]

FONT = cv2.FONT_HERSHEY_SIMPLEX
_PALETTE = [(56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255), (49, 210, 207)]
_CLASS_COLOUR = {"person": (56, 56, 255), "car": (255, 194, 0), "bus": (255, 112, 31)}


@dataclass(frozen=True, slots=True)
class Hud:
    """What the heads-up display shows along the top of each frame."""

    t: datetime
    alt_m: float | None = None
    heading_deg: float | None = None
    incident_id: str | None = None
    fps: float | None = None
    rendition: str = "raw"

    def line(self) -> str:
        """The HUD as one line of text."""
        parts = [self.t.strftime("%Y-%m-%d %H:%M:%S UTC")]
        if self.alt_m is not None:
            parts.append(f"ALT {self.alt_m:.0f} m")
        if self.heading_deg is not None:
            parts.append(f"HDG {self.heading_deg % 360:03.0f}")
        if self.incident_id:
            parts.append(f"INC {self.incident_id}")
        if self.fps is not None:
            parts.append(f"{self.fps:.1f} fps")
        if self.rendition != "raw":
            parts.append(self.rendition.upper())
        return "  ".join(parts)


def _colour(cls: str) -> tuple[int, int, int]:
    return _CLASS_COLOUR.get(cls, _PALETTE[hash(cls) % len(_PALETTE)])


def draw_objects(image: NDArray[np.uint8], objects: list[DetectedObject]) -> None:
    """Draw each object's box and a label ``class #track conf`` in place."""
    for o in objects:
        x1, y1, x2, y2 = (round(v) for v in o.bbox)
        colour = _colour(o.cls)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2)
        label = o.cls + (f" #{o.track_id}" if o.track_id is not None else "") + f" {o.conf:.2f}"
        (tw, th), base = cv2.getTextSize(label, FONT, 0.45, 1)
        top = max(y1 - th - base - 2, 0)
        cv2.rectangle(image, (x1, top), (x1 + tw + 4, top + th + base + 2), colour, -1)
        cv2.putText(
            image, label, (x1 + 2, top + th + 1), FONT, 0.45, (255, 255, 255), 1, cv2.LINE_AA
        )


def draw_hud(image: NDArray[np.uint8], hud: Hud) -> None:
    """Draw the HUD bar across the top of the frame in place."""
    bar = image[0:22]
    bar[:] = (bar.astype(np.uint16) * 2 // 5).astype(np.uint8)
    cv2.putText(image, hud.line(), (6, 16), FONT, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
