"""Live video relay: one ingest per dock, any number of viewers, newest frame wins.

Each viewer has a one-frame slot. The ingest only overwrites slots (never waits), so a slow
viewer skips frames instead of slowing the edge or any other viewer. Viewers whose role does
not allow raw video only ever receive the ``redacted`` rendition.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from dispatch.metrics import Metrics
from edge.errors import ProtocolError
from edge.protocol.video import FrameHeader, Rendition, unpack_frame

__all__ = ["Channel", "Frame", "VideoRelay", "Viewer"]

FPS_WINDOW_S = 2.0
PREFERRED_STALE_S = 1.0


@dataclass(frozen=True)
class Frame:
    """One frame as received: its header, its JPEG and the bytes to relay as they came."""

    header: FrameHeader
    jpeg: bytes
    packed: bytes
    received: float


@dataclass(eq=False)
class Viewer:
    """One connected viewer and its delivery figures."""

    id: int
    kind: str
    renditions: tuple[Rendition, ...]
    principal: str
    frames_sent: int = 0
    frames_dropped: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=300))
    sent_at: deque[float] = field(default_factory=lambda: deque(maxlen=600))
    _slot: Frame | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, frame: Frame) -> bool:
        """Put ``frame`` in the slot, replacing an unsent one; ``True`` if one was replaced."""
        dropped = self._slot is not None
        if dropped:
            self.frames_dropped += 1
        self._slot = frame
        self._ready.set()
        return dropped

    async def next_frame(self) -> Frame:
        """Wait for the newest frame not yet taken."""
        while self._slot is None:
            self._ready.clear()
            await self._ready.wait()
        frame, self._slot = self._slot, None
        return frame

    def sent(self, frame: Frame) -> float:
        """Record a delivery; its latency (received → sent) in seconds."""
        now = time.monotonic()
        self.frames_sent += 1
        self.sent_at.append(now)
        latency = now - frame.received
        self.latencies.append(latency)
        return latency

    def fps(self) -> float:
        now = time.monotonic()
        recent = [t for t in self.sent_at if now - t <= FPS_WINDOW_S]
        return len(recent) / FPS_WINDOW_S

    def latency_ms(self, q: float) -> float | None:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else None
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cuts[max(0, min(98, round(q * 100) - 1))] * 1000


@dataclass
class Channel:
    """The video of one dock: the newest frame of each rendition and who is watching."""

    dock_id: str
    latest: dict[str, Frame] = field(default_factory=dict)
    viewers: set[Viewer] = field(default_factory=set)
    frames_in: int = 0
    ingests: int = 0

    def wants(self, viewer: Viewer, rendition: str, now: float) -> bool:
        first = viewer.renditions[0]
        if rendition == first:
            return True
        if rendition not in viewer.renditions:
            return False
        best = self.latest.get(first)
        return best is None or now - best.received > PREFERRED_STALE_S


class VideoRelay:
    """All channels of this instance.

    Args:
        metrics: the instance's metrics.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.channels: dict[str, Channel] = {}
        self._ids = itertools.count(1)

    def channel(self, dock_id: str) -> Channel:
        ch = self.channels.get(dock_id)
        if ch is None:
            ch = self.channels[dock_id] = Channel(dock_id)
        return ch

    def release(self, dock_id: str) -> None:
        """Forget a channel that nobody sends to or watches (its last frames go with it)."""
        ch = self.channels.get(dock_id)
        if ch is not None and not ch.viewers and not ch.ingests:
            del self.channels[dock_id]

    def ingest(self, dock_id: str, data: bytes) -> FrameHeader:
        """Take one uplink message and offer it to every viewer that may see it.

        Raises:
            ProtocolError: for a malformed frame or one that names another dock.
        """
        try:
            header, jpeg = unpack_frame(data)
            if header.dock_id != dock_id:
                raise ProtocolError(
                    f"frame of {header.dock_id!r} on the stream of {dock_id!r}", code="wrong_dock"
                )
        except ProtocolError as exc:
            self.metrics.frames_bad.labels(exc.code).inc()
            raise
        now = time.monotonic()
        frame = Frame(header, jpeg, data, now)
        ch = self.channel(dock_id)
        ch.latest[header.rendition] = frame
        ch.frames_in += 1
        self.metrics.frames_in.labels(dock_id).inc()
        dropped = 0
        for viewer in ch.viewers:
            if ch.wants(viewer, header.rendition, now):
                dropped += viewer.offer(frame)
        if dropped:
            self.metrics.frames_dropped.labels(dock_id).inc(dropped)
        return header

    @contextlib.contextmanager
    def watch(
        self, dock_id: str, renditions: tuple[Rendition, ...], kind: str, principal: str
    ) -> Iterator[Viewer]:
        """Register a viewer for the duration of the ``with`` block; it starts with the
        newest frame already received, if any."""
        ch = self.channel(dock_id)
        viewer = Viewer(next(self._ids), kind, renditions, principal)
        now = time.monotonic()
        for r in renditions:
            if r in ch.latest and ch.wants(viewer, r, now):
                viewer.offer(ch.latest[r])
                viewer.frames_dropped = 0
                break
        ch.viewers.add(viewer)
        self.metrics.viewers.labels(dock_id).set(len(ch.viewers))
        try:
            yield viewer
        finally:
            ch.viewers.discard(viewer)
            self.metrics.viewers.labels(dock_id).set(len(ch.viewers))

    def delivered(self, dock_id: str, viewer: Viewer, frame: Frame) -> None:
        latency = viewer.sent(frame)
        self.metrics.frames_out.labels(dock_id).inc()
        self.metrics.video_latency.labels(dock_id).observe(latency)
