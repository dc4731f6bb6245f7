"""The video uplink: one WebSocket per dock to dispatch's ingest, newest frame wins.

Each message is :func:`edge.protocol.video.pack_frame` (a JSON header, then the JPEG). Frames
are offered without waiting; per rendition only the newest unsent frame is kept, so a slow link
drops frames instead of queueing them, and memory stays bounded. The connection is re-made with
capped exponential backoff and jitter; a send that stalls longer than ``stall_timeout_s`` counts
as a dead link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import quote, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from edge.aio import within
from edge.errors import ConfigError, OutriderError
from edge.protocol.video import INGEST_PATH, Rendition

__all__ = ["FrameSink", "Uplink", "UplinkStats", "ingest_url"]

logger = logging.getLogger(__name__)


class FrameSink(Protocol):
    """Where the pipeline offers packed frames; called on the event loop, must not block."""

    def offer(self, rendition: Rendition, data: bytes, t_capture_mono: float) -> None:
        """Take a packed frame (or drop an older unsent one in its favour)."""
        ...


@dataclass(slots=True)
class UplinkStats:
    """Counters of one uplink."""

    sent: int = 0
    dropped: int = 0
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
        url: dispatch base URL or full ingest URL.
        dock_id: this dock.
        token: bearer token, sent as ``Authorization: Bearer <token>``.
        open_timeout_s: connect and handshake limit.
        stall_timeout_s: a send blocked this long means the link is dead.
        backoff_s: first and largest wait between connection attempts.
    """

    def __init__(
        self,
        url: str,
        dock_id: str,
        token: str | None = None,
        *,
        open_timeout_s: float = 5.0,
        stall_timeout_s: float = 10.0,
        backoff_s: tuple[float, float] = (0.5, 10.0),
        write_limit: int = 256 * 1024,
    ) -> None:
        self.url = ingest_url(url, dock_id)
        self.stats = UplinkStats()
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._open_timeout = open_timeout_s
        self._stall = stall_timeout_s
        self._backoff = backoff_s
        self._write_limit = write_limit
        self._pending: dict[Rendition, tuple[bytes, float]] = {}
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()
        self._group: asyncio.TaskGroup | None = None
        self._task: asyncio.Task[None] | None = None

    def offer(self, rendition: Rendition, data: bytes, t_capture_mono: float) -> None:
        """Queue a frame for sending, replacing an unsent one of the same rendition."""
        if rendition in self._pending:
            self.stats.dropped += 1
        self._pending[rendition] = (data, t_capture_mono)
        self._ready.set()

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
            self._pending.clear()
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
                    write_limit=self._write_limit,
                    compression=None,
                    max_size=64 * 1024,
                ) as ws:
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
                while self._pending:
                    rendition = next(iter(self._pending))
                    data, t0 = self._pending.pop(rendition)
                    try:
                        await within(ws.send(data), self._stall)
                    except TimeoutError:
                        ws.transport.abort()  # a dead link: drop it now, no closing handshake
                        raise TimeoutError(f"a frame send stalled for {self._stall} s") from None
                    except asyncio.CancelledError:
                        ws.transport.abort()  # left mid-frame: no clean close possible
                        raise
                    self.stats.sent += 1
                    self.stats.latency_s.append(time.monotonic() - t0)
        finally:
            closed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await closed

    def _failed(self, exc: BaseException) -> None:
        self.stats.failures += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        logger.warning("video uplink to %s: %s", self.url, self.stats.last_error)
