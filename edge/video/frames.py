"""Frames as they move through the pipeline, and the newest-frame-wins slot between stages."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from edge.geoproject import CameraPose

__all__ = ["CameraFrame", "Frame", "LatestSlot"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CameraFrame:
    """What a camera hands over: a BGR image, and its pose when the camera knows it (sim)."""

    image: NDArray[np.uint8]
    pose: CameraPose | None = None


@dataclass(slots=True)
class Frame:
    """A captured frame, numbered, time-stamped and posed at capture."""

    seq: int
    image: NDArray[np.uint8]
    t: datetime
    t_mono: float
    pose: CameraPose | None = None
    meta: dict[str, object] = field(default_factory=dict)


class LatestSlot(Generic[T]):
    """A one-item hand-over between threads where the newest item always wins.

    ``put`` never blocks and never grows anything: it replaces an item nobody took (counted in
    ``dropped``). ``get`` waits for an item newer than the last one taken.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.put_count = 0
        self.dropped = 0

    def put(self, item: T) -> None:
        """Offer an item, replacing one that was not taken yet."""
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self.put_count += 1
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> T | None:
        """Take the newest item, waiting up to ``timeout`` s; None on timeout or when closed."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait_for(lambda: self._item is not None or self._closed, timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake every waiter; later ``get`` calls return what is left, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed
