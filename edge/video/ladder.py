"""The uplink's bitrate ladder and what the uplink tells the encoder thread (keyframes, bitrate).

The ladder follows what the link sustains, measured as the send backlog: how long the oldest
unsent frame has waited (and the bytes the kernel still holds, at the rate the link drains
them). A backlog over ``down_s`` (or frames dropped) steps down at once: as many rungs as it
takes to bring what the encoders offer under what the link carried, with 15 % to spare, and at
least one. A backlog under ``up_s`` for ``up_after_s`` steps one rung up. Each rung scales
every rendition's cap geometrically from its ``max_kbps`` down to ``min_kbps`` (1500 → 958 →
612 → 391 → 250 kbit/s with the defaults, each rung ``step_ratio`` of the one above). The
encoder reads the rung before each frame and opens a new encoder at the new rate, which starts
with a keyframe.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from edge.protocol.video import Rendition

__all__ = ["BitrateLadder", "LinkState", "ladder_ratio", "rung_kbps"]


@dataclass(slots=True)
class BitrateLadder:
    """Rung choice from the measured backlog (used on the uplink's event loop).

    Args:
        steps: rungs from the cap (0) to the floor (``steps - 1``).
        step_ratio: each rung's bitrate over the one above it.
        down_s: a backlog above this steps down.
        up_s: a backlog below this counts as a link with room to spare.
        up_after_s: that long with room to spare steps up.
        hold_s: least time between two steps down (the last one must take effect first).
    """

    steps: int = 5
    step_ratio: float = 0.64
    down_s: float = 0.3
    up_s: float = 0.1
    up_after_s: float = 8.0
    hold_s: float = 1.0
    level: int = 0
    _changed: float = 0.0
    _clear_since: float | None = None

    def observe(self, backlog_s: float, now: float | None = None, carried: float = 1.0) -> int:
        """Take one backlog reading; the rung to use from now on.

        ``carried`` is what the link carried over what was offered to it, lately (1: all).
        """
        now = time.monotonic() if now is None else now
        if backlog_s > self.down_s:
            self.congested(now, carried)
        elif backlog_s < self.up_s:
            if self._clear_since is None:
                self._clear_since = now
            elif now - max(self._clear_since, self._changed) >= self.up_after_s and self.level:
                self.level -= 1
                self._changed, self._clear_since = now, now
        else:
            self._clear_since = None
        return self.level

    def congested(self, now: float | None = None, carried: float = 1.0) -> int:
        """Frames had to be dropped (or the backlog is long): down to the rung the link can
        carry (``carried`` as in :meth:`observe`), at least one, at most once every ``hold_s``."""
        now = time.monotonic() if now is None else now
        self._clear_since = None
        if self.level < self.steps - 1 and now - self._changed >= self.hold_s:
            wanted = min(max(carried, 0.01), 1.0) * 0.85
            rungs = 1
            if self.step_ratio < 1:
                rungs = math.ceil(math.log(wanted) / math.log(self.step_ratio))
            self.level = min(self.steps - 1, self.level + max(1, rungs))
            self._changed = now
        return self.level

    def reset(self) -> None:
        """Back to the top rung (a new connection starts optimistic)."""
        self.level, self._changed, self._clear_since = 0, 0.0, None


def ladder_ratio(max_kbps: int, min_kbps: int, steps: int) -> float:
    """Each rung's bitrate over the one above, for a ladder from ``max_kbps`` to ``min_kbps``."""
    if steps <= 1 or max_kbps <= min_kbps:
        return 1.0
    ratio: float = (min_kbps / max_kbps) ** (1 / (steps - 1))
    return ratio


def rung_kbps(max_kbps: int, min_kbps: int, level: int, steps: int) -> int:
    """A rendition's cap on ``level``: geometric from ``max_kbps`` (0) to ``min_kbps``."""
    if steps <= 1 or max_kbps <= min_kbps:
        return max_kbps
    share = min(max(level, 0), steps - 1) / (steps - 1)
    scale: float = (min_kbps / max_kbps) ** share
    return round(max_kbps * scale)


class LinkState:
    """Shared by the uplink (event loop, writes) and the encoder (its thread, reads).

    Plain attributes are read without a lock (one value each); keyframe requests are a set
    under a lock, so a request is never lost between check and clear.
    """

    def __init__(self, steps: int = 5, step_ratio: float = 0.64) -> None:
        self.ladder = BitrateLadder(steps=steps, step_ratio=step_ratio)
        self.dropped = 0
        self.backlog_s = 0.0
        self._wanted: set[Rendition] = set()
        self._lock = threading.Lock()

    @property
    def level(self) -> int:
        """The bitrate rung the encoder should use."""
        return self.ladder.level

    def request_keyframe(self, *renditions: Rendition) -> None:
        """Ask the encoder for a keyframe of each rendition at its next frame."""
        with self._lock:
            self._wanted.update(renditions)

    def take_keyframe_request(self, rendition: Rendition) -> bool:
        """Whether a keyframe of ``rendition`` was asked for (and clear the request)."""
        with self._lock:
            if rendition in self._wanted:
                self._wanted.discard(rendition)
                return True
            return False
