"""Whether the incident is in the picture: per frame, over recent frames, and over the scene.

Each analysed frame projects the incident point into the image with the frame's pose
(:func:`edge.geoproject.in_view`). :class:`SceneView` keeps the share of recent frames that had
it in view (what telemetry carries) and the tally of frames captured while on scene (what the
sortie reports when it leaves the scene).
"""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["RECENT_FRAMES", "SceneView"]

RECENT_FRAMES = 50
"""Frames in the recent share: 10 s of video at the demo's rate."""


class SceneView:
    """Counts frames with and without the scene in view (thread-safe: frames come from the
    analysis thread, readings from the event loop).

    Args:
        recent: how many frames the recent share covers.
    """

    def __init__(self, recent: int = RECENT_FRAMES) -> None:
        self._lock = threading.Lock()
        self._recent: deque[bool] = deque(maxlen=recent)
        self.on_scene_frames = 0
        self.on_scene_in_view = 0

    def add(self, in_view: bool | None, on_scene: bool) -> None:
        """One analysed frame: the scene in view or not (None: no scene to look at, or no pose)."""
        with self._lock:
            if in_view is None:
                self._recent.clear()
                return
            self._recent.append(in_view)
            if on_scene:
                self.on_scene_frames += 1
                self.on_scene_in_view += in_view

    def recent(self) -> float | None:
        """The share of recent frames with the scene in view; None with no scene to look at."""
        with self._lock:
            return sum(self._recent) / len(self._recent) if self._recent else None

    def on_scene(self) -> float | None:
        """The share of the frames captured on scene with the scene in view (None: none yet)."""
        with self._lock:
            if not self.on_scene_frames:
                return None
            return self.on_scene_in_view / self.on_scene_frames

    def reset(self) -> None:
        """Start a new sortie."""
        with self._lock:
            self._recent.clear()
            self.on_scene_frames = self.on_scene_in_view = 0
