"""The video uplink: one WebSocket per dock to dispatch's ingest; late frames drop, never queue.

Each message is :func:`edge.protocol.video.pack_frame` (a JSON header, then an H.264 access
unit or a JPEG). Frames are offered without waiting and sent in order. H.264 frames depend on
the ones before them, so the uplink never drops a single frame out of a group: when the oldest
unsent frame has waited ``max_backlog_s`` (the link does not sustain the rate), everything
queued is dropped, each rendition waits for its next keyframe, a keyframe is asked of the
encoder at once, and the bitrate ladder (:mod:`edge.video.ladder`) steps down. A new keyframe
also makes the older unsent frames of its rendition needless, so they go (a JPEG is always a
keyframe, so in the JPEG mode the newest frame wins). The socket's send buffer is kept small and
its unsent bytes count in the backlog, so the queue the ladder watches is not hidden in the
kernel. Each (re)connect starts every rendition at a keyframe. The connection is re-made with
capped exponential backoff and jitter; a send that stalls longer than ``stall_timeout_s`` counts
as a dead link. Given several dispatch addresses (instances without a load balancer in front),
each failure moves on to the next, so an uplink whose instance died is back on another within
the first backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import random
import socket
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import quote, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from edge.aio import within
from edge.errors import ConfigError, OutriderError
from edge.protocol.video import INGEST_PATH, Rendition
from edge.video.ladder import LinkState

__all__ = ["FrameSink", "Uplink", "UplinkStats", "ingest_url"]

logger = logging.getLogger(__name__)

SEND_BUFFER_BYTES = 16 * 1024  # doubled by the kernel: ~0.2 s at 1.5 Mbit/s; 2.6 Mbit/s at 100 ms
UNSENT_LOW_BYTES = 8 * 1024  # writable again once TCP has this little left to send
SIOCOUTQNSD = 0x894B  # Linux: bytes in a TCP socket's send queue not yet sent


class FrameSink(Protocol):
    """Where the pipeline offers packed frames; called on the event loop, must not block."""

    link: LinkState | None
    """Keyframe requests and the bitrate rung for the encoder; None: a fixed cap."""

    def offer(self, rendition: Rendition, data: bytes, t_capture_mono: float, key: bool) -> None:
        """Take a packed frame (``key``: a keyframe, which a decoder can start at)."""
        ...


@dataclass(slots=True)
class _Queued:
    rendition: Rendition
    data: bytes
    t_capture: float
    key: bool
    queued: float


@dataclass(slots=True)
class UplinkStats:
    """Counters of one uplink."""

    sent: int = 0
    bytes_sent: int = 0
    dropped: int = 0
    sheds: int = 0
    connects: int = 0
    failures: int = 0
    connected: bool = False
    last_error: str = ""
    latency_s: deque[float] = field(default_factory=lambda: deque(maxlen=2000))


def ingest_url(base: str, dock_id: str) -> str:
    """The ingest WebSocket URL for a dock, from dispatch's base URL (http/https/ws/wss).

    Raises:
        ConfigError: the URL's scheme is not one of those.
    """
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ConfigError(f"video uplink URL {base!r} must be http(s):// or ws(s)://host[:port]")
    path = parts.path.rstrip("/")
    if INGEST_PATH.removesuffix("{dock_id}") not in path:
        path += INGEST_PATH.format(dock_id=quote(dock_id, safe=""))
    return urlunsplit((scheme, parts.netloc, path, "", ""))


class Uplink:
    """An async context manager that keeps one ingest connection up while it is entered.

    Args:
        url: dispatch base URL or full ingest URL, or several (tried in turn).
        dock_id: this dock.
        token: bearer token, sent as ``Authorization: Bearer <token>``.
        max_backlog_s: the oldest unsent frame waiting this long drops the queue up to the
            next keyframe.
        open_timeout_s: connect and handshake limit.
        stall_timeout_s: a send blocked this long means the link is dead.
        backoff_s: first and largest wait between connection attempts.
        ladder_steps: rungs of the bitrate ladder.
        ladder_ratio: each rung's bitrate over the one above.
        ladder_up_after_s: a clear link for this long steps one rung up.
    """

    def __init__(
        self,
        url: str | Sequence[str],
        dock_id: str,
        token: str | None = None,
        *,
        max_backlog_s: float = 1.0,
        open_timeout_s: float = 5.0,
        stall_timeout_s: float = 10.0,
        backoff_s: tuple[float, float] = (0.5, 10.0),
        write_limit: int = 8 * 1024,
        ladder_steps: int = 5,
        ladder_ratio: float = 0.64,
        ladder_up_after_s: float = 8.0,
    ) -> None:
        self.urls = [ingest_url(u, dock_id) for u in ([url] if isinstance(url, str) else url)]
        if not self.urls:
            raise ConfigError("the video uplink needs a dispatch URL")
        self.url = self.urls[0]
        self.stats = UplinkStats()
        self._link = LinkState(ladder_steps, ladder_ratio)
        self._link.ladder.up_after_s = ladder_up_after_s
        self.link: LinkState | None = self._link
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._max_backlog = max_backlog_s
        self._open_timeout = open_timeout_s
        self._stall = stall_timeout_s
        self._backoff = backoff_s
        self._write_limit = write_limit
        self._queue: deque[_Queued] = deque()
        self._waiting: set[Rendition] = set()
        self._seen: set[Rendition] = set()
        self._ws: ClientConnection | None = None
        self._rate = 0.0  # bytes a second the link drains
        self._carried = 1.0  # of the bytes offered lately, the share the link took
        self._window_start, self._window_sent, self._window_offered = time.monotonic(), 0, 0
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()
        self._group: asyncio.TaskGroup | None = None
        self._task: asyncio.Task[None] | None = None

    def offer(
        self, rendition: Rendition, data: bytes, t_capture_mono: float, key: bool = True
    ) -> None:
        """Queue a frame for sending; never waits (see the module's notes on what is dropped)."""
        self._seen.add(rendition)
        self._window_offered += len(data)
        if not self.stats.connected:
            self._drop(1)
            self._waiting.add(rendition)
            return
        if rendition in self._waiting:
            if not key:
                self._drop(1)
                return
            self._waiting.discard(rendition)
        if key and self._queue:
            kept = deque(q for q in self._queue if q.rendition != rendition)
            self._drop(len(self._queue) - len(kept))
            self._queue = kept
        now = time.monotonic()
        self._queue.append(_Queued(rendition, data, t_capture_mono, key, now))
        if self._backlog_s(now) > self._max_backlog:
            self._shed()
        self._ready.set()

    def _backlog_s(self, now: float) -> float:
        """How long a frame offered now waits: the queue's oldest, plus what the socket holds
        unsent at the rate the link drains it."""
        waited = now - self._queue[0].queued if self._queue else 0.0
        ws = self._ws
        if ws is None or self._rate <= 0:
            return waited
        held = _unsent_bytes(ws) + ws.transport.get_write_buffer_size()
        return waited + held / self._rate

    def _drop(self, n: int) -> None:
        self.stats.dropped += n
        self._link.dropped = self.stats.dropped

    def _shed(self) -> None:
        """The link does not keep up: drop the queue, wait for keyframes, ask for them now."""
        renditions = {q.rendition for q in self._queue}
        self._drop(len(self._queue))
        self._queue.clear()
        self._waiting |= renditions
        self.stats.sheds += 1
        self._link.request_keyframe(*renditions)
        level = self._link.ladder.congested(carried=self._carried)
        logger.info("video uplink behind: dropped to the next keyframe (ladder rung %d)", level)

    def _restart(self) -> None:
        """A new connection: nothing old is sent, and every rendition starts at a keyframe."""
        self._drop(len(self._queue))
        self._queue.clear()
        self._waiting |= self._seen
        self._link.request_keyframe(*self._seen)

    async def __aenter__(self) -> Self:
        if self._lock.locked():
            raise OutriderError("the uplink is already running", code="reentrant")
        await self._lock.acquire()
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._task = self._group.create_task(self._run(), name="video-uplink")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._task is not None:
                self._task.cancel()
            if self._group is not None:
                await self._group.__aexit__(None, None, None)
        finally:
            self._group, self._task = None, None
            self._queue.clear()
            self._lock.release()

    async def _run(self) -> None:
        delay = self._backoff[0]
        while True:
            try:
                async with connect(
                    self.url,
                    additional_headers=self._headers,
                    open_timeout=self._open_timeout,
                    ping_interval=10,
                    ping_timeout=10,
                    close_timeout=2,
                    write_limit=(self._write_limit, 0),  # a send returns once the kernel has it
                    compression=None,
                    max_size=64 * 1024,
                ) as ws:
                    _small_send_buffer(ws)
                    self._restart()
                    self._ws = ws
                    self.stats.connected = True
                    self.stats.connects += 1
                    delay = self._backoff[0]
                    logger.info("video uplink connected to %s", self.url)
                    await self._pump(ws)
            except (OSError, TimeoutError, WebSocketException) as exc:
                self._failed(exc)
                if isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403):
                    delay = self._backoff[1]
            finally:
                self.stats.connected = False
                self._ws = None
                self.url = self.urls[(self.urls.index(self.url) + 1) % len(self.urls)]
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._backoff[1])

    async def _pump(self, ws: ClientConnection) -> None:
        closed = asyncio.ensure_future(ws.wait_closed())
        try:
            while True:
                ready = asyncio.ensure_future(self._ready.wait())
                try:
                    await asyncio.wait({ready, closed}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    ready.cancel()
                if closed.done():
                    raise ConnectionError(f"closed by dispatch ({ws.close_code})")
                self._ready.clear()
                while self._queue:
                    await self._send(ws, self._queue.popleft())
        finally:
            closed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await closed

    async def _send(self, ws: ClientConnection, item: _Queued) -> None:
        try:
            await within(ws.send(item.data), self._stall)
        except TimeoutError:
            ws.transport.abort()  # a dead link: drop it now, no closing handshake
            raise TimeoutError(f"a frame send stalled for {self._stall} s") from None
        except asyncio.CancelledError:
            ws.transport.abort()  # left mid-frame: no clean close possible
            raise
        now = time.monotonic()
        self.stats.sent += 1
        self.stats.bytes_sent += len(item.data)
        self.stats.latency_s.append(now - item.t_capture)
        self._measure_rate(len(item.data), now)
        backlog = self._backlog_s(now)
        self._link.backlog_s = backlog
        self._link.ladder.observe(backlog, now, self._carried)

    def _measure_rate(self, size: int, now: float) -> None:
        """Bytes a second handed to the socket, and their share of those offered, over windows
        of half a second (smoothed)."""
        self._window_sent += size
        elapsed = now - self._window_start
        if elapsed >= 0.5:
            rate = self._window_sent / elapsed
            self._rate = rate if self._rate == 0 else 0.5 * self._rate + 0.5 * rate
            self._carried = min(1.0, self._window_sent / max(self._window_offered, 1))
            self._window_start, self._window_sent, self._window_offered = now, 0, 0

    def _failed(self, exc: BaseException) -> None:
        self.stats.failures += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        logger.warning("video uplink to %s: %s", self.url, self.stats.last_error)


def _small_send_buffer(ws: ClientConnection) -> None:
    """Keep the kernel's send queue short, so a slow link shows as backlog here."""
    sock = ws.transport.get_extra_info("socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
    lowat = getattr(socket, "TCP_NOTSENT_LOWAT", None)
    if lowat is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, lowat, UNSENT_LOW_BYTES)


def _unsent_bytes(ws: ClientConnection) -> int:
    """Bytes written to the socket that TCP has not sent yet (Linux; 0 where unknown).

    Bytes in flight do not count: only a link that does not keep up leaves bytes unsent.
    """
    sock = ws.transport.get_extra_info("socket")
    if sock is None:
        return 0
    try:
        out = fcntl.ioctl(sock.fileno(), SIOCOUTQNSD, b"\0\0\0\0")
    except OSError:
        return 0
    return int.from_bytes(out, "little")
