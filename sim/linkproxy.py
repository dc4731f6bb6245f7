"""A TCP proxy that behaves like a poor cellular link: delay, a bandwidth cap, stalls, and cuts.

Put it between an edge and its MQTT broker or video ingest (the edge connects to the proxy's
port) to rehearse what an LTE link does to a sortie. Each direction is forwarded chunk by chunk
through a queue so that delay applies per chunk without reordering. A *rate cap* forwards no
faster than ``rate_kbps`` and holds little in between (small chunks, a short queue, a small
receive buffer), so the sender feels the limit through TCP as it would on the air. A *stall*
holds data without forwarding it, as heavy packet loss does to TCP; a *cut* resets every
connection and refuses new ones for a while, as losing coverage does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from sim.net import free_tcp_port

__all__ = ["LinkConditions", "LinkProxy"]

logger = logging.getLogger(__name__)


@dataclass
class LinkConditions:
    """What the link does to traffic now; change the fields at any time."""

    delay_s: float = 0.0
    jitter_s: float = 0.0
    rate_kbps: float | None = None  # set before a connection opens; None: as fast as it goes
    stalled: bool = False
    down: bool = False


CAPPED_CHUNK = 4096
CAPPED_BUFFER = 8 * 1024


class LinkProxy:
    """Forward ``listen_port`` on 127.0.0.1 to ``target``, under :class:`LinkConditions`.

    Args:
        target_host: where the real service listens.
        target_port: its port.
        listen_port: the proxy's port; a free one when not given.
        seed: seed of the jitter, for repeatable runs.
    """

    def __init__(
        self, target_host: str, target_port: int, listen_port: int | None = None, seed: int = 0
    ) -> None:
        self.target = (target_host, target_port)
        self.port = listen_port or free_tcp_port()
        self.conditions = LinkConditions()
        self.connections_total = 0
        self.bytes_forwarded = 0
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
        self._reset_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def stall(self, stalled: bool = True) -> None:
        """Hold (``True``) or release (``False``) all traffic without closing anything."""
        self.conditions.stalled = stalled
        if stalled:
            self._flowing.clear()
        else:
            self._flowing.set()

    def cut(self) -> None:
        """Reset every connection and refuse new ones until :meth:`restore`."""
        self.conditions.down = True
        self._reset_all()

    def restore(self) -> None:
        """End a cut or a stall."""
        self.conditions.down = False
        self.stall(False)

    async def outage(self, seconds: float) -> None:
        """Cut the link for ``seconds``, then restore it."""
        self.cut()
        try:
            await asyncio.sleep(seconds)
        finally:
            self.restore()

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    # SO_LINGER 0 turns close into a reset, like a dropped radio link.
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
            writer.close()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.conditions.down:
            self._writers.add(writer)
            self._reset_all()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.connections_total += 1
        if self.conditions.rate_kbps:
            for w in (writer, up_writer):
                sock = w.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CAPPED_BUFFER)
        self._writers.update({writer, up_writer})
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        """Copy one direction; an empty chunk in the queue marks the end of the stream."""
        capped = bool(self.conditions.rate_kbps)
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(2 if capped else 0)
        loop = asyncio.get_running_loop()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                await self._flowing.wait()
                if not chunk:
                    return
                dst.write(chunk)
                await dst.drain()
                self.bytes_forwarded += len(chunk)
                rate = self.conditions.rate_kbps
                if rate:
                    await asyncio.sleep(len(chunk) * 8 / (rate * 1000))

        sender = asyncio.create_task(deliver())
        try:
            while chunk := await src.read(CAPPED_CHUNK if capped else 65536):
                c = self.conditions
                delay = c.delay_s + (self._rng.uniform(0, c.jitter_s) if c.jitter_s else 0.0)
                await queue.put((loop.time() + delay, chunk))
            await queue.put((loop.time() + self.conditions.delay_s, b""))
            await sender
        except OSError:
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await sender
            self._writers.discard(dst)
            dst.close()
