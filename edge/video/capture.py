"""The capture thread: reads a camera as fast as it delivers, keeps only the newest frame.

Capture never waits for anything downstream: it puts each frame into a
:class:`~edge.video.frames.LatestSlot`, which replaces a frame nobody took. A lost stream is
closed and reopened with capped exponential backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import cv2
import numpy as np

from edge.geoproject import CameraPose
from edge.video.camera import Camera
from edge.video.frames import Frame, LatestSlot

__all__ = ["CaptureStats", "CaptureThread", "PoseFn"]

logger = logging.getLogger(__name__)

PoseFn = Callable[[], CameraPose | None]
"""Returns the camera's latest pose; must be quick and safe to call from another thread."""


@dataclass(slots=True)
class CaptureStats:
    """What the capture thread has done so far."""

    frames: int = 0
    reconnects: int = 0
    errors: int = 0
    connected: bool = False
    last_error: str = ""


class CaptureThread:
    """Owns one camera in a daemon thread.

    Args:
        camera: the source.
        slot: where each new frame goes.
        fps: pace for sources that do not pace themselves (files, image loops, sim); None for
            as fast as possible.
        size: ``(width, height)`` to resize to, or None to keep the camera's size.
        pose: called at each capture when the camera itself reports no pose.
        backoff_s: first and largest wait between reconnection attempts.
    """

    def __init__(
        self,
        camera: Camera,
        slot: LatestSlot[Frame],
        *,
        fps: float | None = None,
        size: tuple[int, int] | None = None,
        pose: PoseFn | None = None,
        backoff_s: tuple[float, float] = (0.2, 5.0),
    ) -> None:
        self.camera = camera
        self.slot = slot
        self.stats = CaptureStats()
        self._period = 1.0 / fps if fps else 0.0
        self._size = size
        self._pose = pose
        self._backoff = backoff_s
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"capture-{camera.name}", daemon=True
        )
        self._seq = 0
        self._logged: str | None = None  # the last failure logged since frames last flowed

    def start(self) -> None:
        """Start capturing."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and wait for the thread (a blocked camera read may outlive ``timeout``)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether the thread runs."""
        return self._thread.is_alive()

    def _run(self) -> None:
        delay = self._backoff[0]
        while not self._stop.is_set():
            try:
                self.camera.open()
            except Exception as exc:  # any source failure: retry, never die
                self._failed(f"open: {exc}")
                self._stop.wait(delay)
                delay = min(delay * 2, self._backoff[1])
                continue
            self.stats.connected = True
            delay = self._backoff[0]
            try:
                self._stream()
            except Exception as exc:  # any source failure: retry, never die
                self._failed(f"read: {exc}")
            finally:
                self.stats.connected = False
                self.camera.close()
            if not self._stop.is_set():
                self.stats.reconnects += 1
                self._stop.wait(delay)

    def _stream(self) -> None:
        next_t = time.monotonic()
        while not self._stop.is_set():
            got = self.camera.read()
            if got is None:
                self._failed("stream lost")
                return
            now, wall = time.monotonic(), datetime.now(UTC)  # one capture instant, two clocks
            image = got.image
            if self._size and (image.shape[1], image.shape[0]) != self._size:
                image = np.asarray(
                    cv2.resize(image, self._size, interpolation=cv2.INTER_AREA), dtype=np.uint8
                )
            pose = got.pose or (self._pose() if self._pose else None)
            self._seq += 1
            self.slot.put(Frame(self._seq, image, wall, now, pose))
            self.stats.frames += 1
            self._logged = None
            if self._period and not self.camera.live:
                next_t = max(next_t + self._period, now)
                self._stop.wait(max(0.0, next_t - time.monotonic()))

    def _failed(self, what: str) -> None:
        repeated, self._logged = what == self._logged, what
        self.stats.errors += 1
        self.stats.last_error = what
        logger.log(
            logging.DEBUG if repeated else logging.WARNING, "camera %s: %s", self.camera.name, what
        )
