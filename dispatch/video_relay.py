"""Live video relay: one ingest per dock, any number of viewers; packets pass through untouched.

Nothing here decodes or re-encodes: each uplink message is relayed to viewers byte for byte.
For each dock and rendition the relay keeps the latest keyframe group (the last keyframe and
every frame since), so a new viewer starts at that keyframe and has a picture at once. Each
viewer has a short queue of its own; the ingest only appends to queues (never waits), and a
viewer that falls behind skips to the next keyframe: its queue is dropped and the frames
before the next keyframe are skipped. So a slow viewer never slows the edge or another viewer,
and what a viewer receives always decodes (every frame follows the one before it, or is a
keyframe). A keyframe arriving while a viewer still has frames queued replaces them, which for
JPEG frames (all keyframes) is "newest frame wins". A viewer follows one rendition, the first
of its allowed ones that is live; it changes only at a keyframe. Viewers whose role does not
allow raw video only ever receive the ``redacted`` rendition.

Several instances share their docks' video through a :class:`~dispatch.video_bus.VideoBus`:
the instance an edge uplinks to publishes each frame as it came and answers for the dock's
keyframe groups, and an instance with viewers of a dock follows it
(:mod:`dispatch.video_follow`), so its viewers are served exactly as local ones. A local
uplink wins over the bus. The default bus is in-process: one instance, nothing shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import statistics
import time
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from dispatch.metrics import Metrics
from dispatch.video_bus import MemoryVideoBus, Subscription, VideoBus
from dispatch.video_follow import KEYFRAMES_WAIT_S, Follow
from edge.errors import ProtocolError
from edge.protocol.video import FrameHeader, Rendition, unpack_frame

__all__ = ["Channel", "Frame", "Gop", "VideoRelay", "Viewer"]

logger = logging.getLogger(__name__)

FPS_WINDOW_S = 2.0
PREFERRED_STALE_S = 1.0
VIEWER_QUEUE_FRAMES = 30  # about two seconds at 15 fps: more and the viewer skips ahead
GOP_MAX_FRAMES = 1200
GOP_MAX_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame as received: its header, its bytes (H.264 or JPEG) and the message as it came."""

    header: FrameHeader
    body: bytes
    packed: bytes
    received: float

    @property
    def key(self) -> bool:
        """Whether a decoder can start at this frame."""
        return self.header.key


@dataclass(slots=True)
class Gop:
    """The latest keyframe of one rendition and every frame since (empty until a keyframe)."""

    frames: list[Frame] = field(default_factory=list)
    size: int = 0

    def add(self, frame: Frame) -> None:
        """Start over at a keyframe, else extend the group (bounded: an endless group stops)."""
        if frame.key:
            self.frames, self.size = [frame], len(frame.packed)
        elif self.frames:
            self.frames.append(frame)
            self.size += len(frame.packed)
            if len(self.frames) > GOP_MAX_FRAMES or self.size > GOP_MAX_BYTES:
                self.frames, self.size = [], 0


@dataclass(eq=False)
class Viewer:
    """One connected viewer: its queue, the rendition it follows, and its delivery figures."""

    id: int
    kind: str
    renditions: tuple[Rendition, ...]
    principal: str
    rendition: Rendition | None = None
    frames_sent: int = 0
    frames_dropped: int = 0
    skips: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=300))
    sent_at: deque[float] = field(default_factory=lambda: deque(maxlen=600))
    _queue: deque[Frame] = field(default_factory=deque)
    _waiting_key: bool = True
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, frame: Frame) -> int:
        """Queue ``frame`` (see the module's notes); the number of frames dropped doing so."""
        if frame.key:
            dropped = len(self._queue)
            self.skips += dropped > 0
            self._queue.clear()
            self._waiting_key = False
        elif self._waiting_key:
            dropped = 1
        elif len(self._queue) >= VIEWER_QUEUE_FRAMES:
            dropped = len(self._queue) + 1
            self._queue.clear()
            self._waiting_key = True
            self.skips += 1
        else:
            dropped = 0
        if not self._waiting_key:
            self._queue.append(frame)
            self._ready.set()
        self.frames_dropped += dropped
        return dropped

    def start(self, rendition: Rendition, gop: list[Frame]) -> None:
        """Follow ``rendition`` from the start of its keyframe group."""
        self.rendition = rendition
        self._queue = deque(gop)
        self._waiting_key = not gop
        if gop:
            self._ready.set()

    async def next_frame(self) -> Frame:
        """Wait for the next frame to send."""
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def sent(self, frame: Frame) -> float:
        """Record a delivery; its latency (received → sent) in seconds."""
        now = time.monotonic()
        self.frames_sent += 1
        self.sent_at.append(now)
        latency = now - frame.received
        self.latencies.append(latency)
        return latency

    def fps(self) -> float:
        """Frames sent a second, over the last two seconds."""
        now = time.monotonic()
        recent = [t for t in self.sent_at if now - t <= FPS_WINDOW_S]
        return len(recent) / FPS_WINDOW_S

    def latency_ms(self, q: float) -> float | None:
        """A quantile of received → sent, in milliseconds (None before any delivery)."""
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else None
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cuts[max(0, min(98, round(q * 100) - 1))] * 1000


@dataclass
class Channel:
    """The video of one dock: the latest keyframe group of each rendition and who watches."""

    dock_id: str
    gops: dict[str, Gop] = field(default_factory=dict)
    latest: dict[str, Frame] = field(default_factory=dict)
    viewers: set[Viewer] = field(default_factory=set)
    frames_in: int = 0
    ingests: int = 0
    follow: Follow | None = None

    def gop_frames(self) -> list[bytes]:
        """Every rendition's latest keyframe group, as packed (what a newcomer starts from)."""
        return [f.packed for gop in self.gops.values() for f in gop.frames]

    def live(self, rendition: str, now: float) -> bool:
        """Whether frames of ``rendition`` arrived within the last second."""
        frame = self.latest.get(rendition)
        return frame is not None and now - frame.received <= PREFERRED_STALE_S

    def route(self, viewer: Viewer, frame: Frame, now: float) -> int:
        """Offer ``frame`` to ``viewer`` if it is what the viewer follows (or should switch to);
        the number of frames the viewer dropped."""
        r = frame.header.rendition
        if r not in viewer.renditions:
            return 0
        current = viewer.rendition
        if current is not None and r != current:
            better = viewer.renditions.index(r) < viewer.renditions.index(current)
            if not frame.key or not (better or not self.live(current, now)):
                return 0
        if current != r and frame.key:
            viewer.rendition = r
        elif current is None:
            return 0
        return viewer.offer(frame)


class VideoRelay:
    """All channels of this instance.

    An async context manager: entering connects the bus (a task group owns the follows).

    Args:
        metrics: the instance's metrics.
        bus: the video bus between instances; in-process (this instance only) by default.
    """

    def __init__(self, metrics: Metrics, bus: VideoBus | None = None) -> None:
        self.metrics = metrics
        self.bus: VideoBus = bus or MemoryVideoBus()
        self.channels: dict[str, Channel] = {}
        self._ids = itertools.count(1)
        self._stack: contextlib.AsyncExitStack | None = None
        self._group: asyncio.TaskGroup | None = None

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("the relay is already running")
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self.bus)
            self._group = await stack.enter_async_context(asyncio.TaskGroup())
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack, self._stack = self._stack, None
        for ch in self.channels.values():
            if ch.follow is not None:
                ch.follow.stopped = True
        self._group = None
        if stack is not None:
            await stack.aclose()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._group is None:
            coro.close()
            return
        self._group.create_task(_logged(coro))

    def channel(self, dock_id: str) -> Channel:
        """The channel of a dock (made on first use)."""
        ch = self.channels.get(dock_id)
        if ch is None:
            ch = self.channels[dock_id] = Channel(dock_id)
        return ch

    def release(self, dock_id: str) -> None:
        """Forget a channel that nobody sends to or watches (its last frames go with it)."""
        ch = self.channels.get(dock_id)
        if ch is not None and not ch.viewers and not ch.ingests:
            del self.channels[dock_id]
            self._unfollow(ch)

    def _unfollow(self, ch: Channel) -> None:
        follow, ch.follow = ch.follow, None
        if follow is not None:
            follow.stopped = True
            self._spawn(follow.stop())

    def parse(self, dock_id: str, data: bytes) -> Frame:
        """One uplink message as a :class:`Frame` of ``dock_id``.

        Raises:
            ProtocolError: for a malformed frame or one that names another dock.
        """
        try:
            header, body = unpack_frame(data)
            if header.dock_id != dock_id:
                raise ProtocolError(
                    f"frame of {header.dock_id!r} on the stream of {dock_id!r}", code="wrong_dock"
                )
        except ProtocolError as exc:
            self.metrics.frames_bad.labels(exc.code).inc()
            raise
        return Frame(header, body, data, time.monotonic())

    def ingest(self, dock_id: str, data: bytes) -> FrameHeader:
        """Take one uplink message and offer it to every viewer that may see it.

        Raises:
            ProtocolError: for a malformed frame or one that names another dock.
        """
        frame = self.parse(dock_id, data)
        self.metrics.observe_frame(dock_id, frame.header, len(data))
        self._deliver(self.channel(dock_id), frame)
        return frame.header

    def _deliver(self, ch: Channel, frame: Frame) -> None:
        header, now = frame.header, frame.received
        ch.gops.setdefault(header.rendition, Gop()).add(frame)
        ch.latest[header.rendition] = frame
        ch.frames_in += 1
        dropped = sum(ch.route(viewer, frame, now) for viewer in ch.viewers)
        if dropped:
            self.metrics.frames_dropped.labels(ch.dock_id).inc(dropped)

    def _from_bus(self, dock_id: str, frame: Frame) -> None:
        """A frame of an uplink on another instance (a local uplink wins)."""
        ch = self.channels.get(dock_id)
        self.metrics.video_bus.labels("received").inc()
        if ch is not None and not ch.ingests:
            self._deliver(ch, frame)

    async def forward(self, dock_id: str, data: bytes) -> None:
        """Offer a frame taken by :meth:`ingest` to the other instances."""
        sent = await self.bus.publish(dock_id, data)
        self.metrics.video_bus.labels("sent" if sent else "unsent").inc()

    @contextlib.asynccontextmanager
    async def uplink(self, dock_id: str) -> AsyncIterator[Channel]:
        """An edge's uplink to this instance, for the ``async with`` block: its channel, whose
        keyframe groups other instances may ask for meanwhile."""
        ch = self.channel(dock_id)
        ch.ingests += 1
        serving: Subscription | None = None
        try:
            serving = await self.bus.serve(dock_id, lambda: self.channel(dock_id).gop_frames())
            yield ch
        finally:
            ch.ingests -= 1
            if serving is not None:
                self._spawn(serving.close())
            self.release(dock_id)

    def _follow(self, ch: Channel) -> None:
        """Follow the dock's frames from other instances while it has viewers here."""
        if ch.follow is not None or self._group is None:
            return
        dock_id = ch.dock_id
        ch.follow = Follow(
            self.bus,
            dock_id,
            lambda data: self.parse(dock_id, data),
            lambda frame: self._from_bus(dock_id, frame),
            lambda: any(g.frames for g in ch.gops.values()),
        )
        self._spawn(ch.follow.start())

    async def prime(self, dock_id: str) -> Channel:
        """The dock's channel, with the latest keyframe group from the bus when it has none
        (a snapshot asked of an instance nobody here watches)."""
        ch = self.channel(dock_id)
        if not ch.latest:
            for packed in await self.bus.keyframes(dock_id, KEYFRAMES_WAIT_S):
                with contextlib.suppress(ProtocolError):
                    self._deliver(ch, self.parse(dock_id, packed))
        return ch

    @contextlib.asynccontextmanager
    async def watch(
        self, dock_id: str, renditions: tuple[Rendition, ...], kind: str, principal: str
    ) -> AsyncIterator[Viewer]:
        """Register a viewer for the duration of the ``async with`` block; it starts at the
        latest keyframe of the first allowed rendition that is live (or any that has one)."""
        ch = self.channel(dock_id)
        viewer = Viewer(next(self._ids), kind, renditions, principal)
        now = time.monotonic()
        ready = [r for r in renditions if ch.gops.get(r) and ch.gops[r].frames]
        live = [r for r in ready if ch.live(r, now)]
        if ready:
            first = (live or ready)[0]
            viewer.start(first, list(ch.gops[first].frames))
        ch.viewers.add(viewer)
        self._follow(ch)
        self.metrics.viewers.labels(dock_id).set(len(ch.viewers))
        try:
            yield viewer
        finally:
            ch.viewers.discard(viewer)
            self.metrics.viewers.labels(dock_id).set(len(ch.viewers))
            if not ch.viewers:
                self._unfollow(ch)
            self.release(dock_id)

    def delivered(self, dock_id: str, viewer: Viewer, frame: Frame) -> None:
        """Count a frame sent to a viewer."""
        latency = viewer.sent(frame)
        self.metrics.frames_out.labels(dock_id).inc()
        self.metrics.video_latency.labels(dock_id).observe(latency)


async def _logged(coro: Coroutine[Any, Any, None]) -> None:
    """Run a bus chore; its failure is logged, never fatal to the relay."""
    try:
        await coro
    except Exception:
        logger.exception("video bus")
