"""The video bus on NATS core pub/sub: frames between dispatch instances, nothing stored.

Subjects, under a prefix (``outrider.video`` by default): ``<prefix>.<dock>.frames`` carries
each frame of the dock's uplink as it came (one message a frame, no headers), and
``<prefix>.<dock>.gop`` is where a newcomer asks for the latest keyframe group: the instance
holding the uplink answers on the request's reply subject with one message a frame, then an
empty message to end. A dock id's dots become ``~`` in a subject (a dock id never holds one).
The connection is made with ``no_echo``, so an instance never gets its own frames back. NATS
keeps no backlog: a follower that falls behind is cut off by the server rather than slowing
the publisher, and a frame too large for the server's ``max_payload`` is not sent (followers
see the gap and wait for the next keyframe).

If the server cannot be reached at start, the instance runs without it and keeps trying;
subscriptions asked for meanwhile are made once it connects, and after that the client
re-makes them itself on every reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.errors import Error as NatsError

from dispatch.video_bus import FrameHandler, GopSource, Subscription

__all__ = ["NatsVideoBus"]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
RETRY_S = (0.5, 10.0)
INSTANCE_HEADER = "Outrider-Instance"
PUBLISH_WAIT_S = 0.5  # the client flushes a full buffer before taking more; wait no longer


def subject_token(dock_id: str) -> str:
    """A dock id as one subject token (its dots would split it)."""
    return dock_id.replace(".", "~")


class _Sub:
    """A subscription the caller holds; made on the server now, or once connected."""

    def __init__(self, bus: NatsVideoBus, subject: str, cb: Any) -> None:
        self.bus, self.subject, self.cb = bus, subject, cb
        self.live: NatsSubscription | None = None
        self.opened = self.closed = False

    async def open(self, nc: Client) -> None:
        if self.opened or self.closed:
            return
        self.opened = True
        live = await nc.subscribe(self.subject, cb=self.cb)
        if self.closed:  # closed while being made
            with contextlib.suppress(NatsError):
                await live.unsubscribe()
        else:
            self.live = live

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.bus.wanted.discard(self)
        live, self.live = self.live, None
        if live is not None:
            with contextlib.suppress(NatsError):
                await live.unsubscribe()


class NatsVideoBus:
    """Video between instances through a NATS server (or cluster).

    Args:
        servers: ``nats://`` or ``tls://`` URLs (user:password@ allowed).
        prefix: the subjects' prefix.
        username: user name, else the URL's.
        password_file: file holding the password.
        ca_file: CA certificate the server's TLS must chain to (else the system's).
        name: this instance, as the server's monitoring shows it.
    """

    def __init__(
        self,
        servers: list[str],
        prefix: str = "outrider.video",
        *,
        username: str | None = None,
        password_file: Path | None = None,
        ca_file: Path | None = None,
        name: str = "outrider-dispatch",
    ) -> None:
        self.servers, self.prefix, self.name = servers, prefix, name
        self.instance = uuid.uuid4().hex[:12]
        self._auth: dict[str, Any] = {}
        if username:
            self._auth["user"] = username
        if password_file is not None:
            self._auth["password"] = password_file.read_text(encoding="utf-8").strip()
        if ca_file is not None or any(s.startswith("tls://") for s in servers):
            self._auth["tls"] = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self.nc: Client | None = None
        self.wanted: set[_Sub] = set()
        self.too_large = 0
        self._task: asyncio.Task[None] | None = None

    def subject(self, dock_id: str, kind: str) -> str:
        """The subject of a dock's ``frames`` or ``gop``."""
        return f"{self.prefix}.{subject_token(dock_id)}.{kind}"

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def __aenter__(self) -> Self:
        if self._task is not None:
            raise RuntimeError("the video bus is already open")
        self._task = asyncio.create_task(self._connect(), name="video-bus-connect")
        with contextlib.suppress(TimeoutError):  # not there yet: go on, keep trying
            await asyncio.wait_for(asyncio.shield(self._task), CONNECT_TIMEOUT_S + 0.5)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        nc, self.nc = self.nc, None
        if nc is not None:
            with contextlib.suppress(NatsError, OSError):
                await nc.close()

    async def _connect(self) -> None:
        delay = RETRY_S[0]
        while True:
            try:
                nc = await nats.connect(
                    servers=self.servers,
                    name=self.name,
                    no_echo=True,
                    connect_timeout=int(max(1, CONNECT_TIMEOUT_S)),
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    allow_reconnect=True,
                    error_cb=self._error,
                    **self._auth,
                )
            except (NatsError, OSError, TimeoutError) as exc:
                logger.warning("video bus %s unreachable: %s", _redact(self.servers), exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_S[1])
                continue
            self.nc = nc
            for sub in list(self.wanted):
                await sub.open(nc)
            logger.info("video bus connected: %s", _redact(self.servers))
            return

    async def _error(self, exc: Exception) -> None:
        logger.warning("video bus: %s", exc)

    async def _want(self, subject: str, cb: Any) -> Subscription:
        sub = _Sub(self, subject, cb)
        self.wanted.add(sub)
        if self.nc is not None:
            await sub.open(self.nc)
        return sub

    async def publish(self, dock_id: str, packed: bytes) -> bool:
        nc = self.nc
        if nc is None or not nc.is_connected:
            return False
        if len(packed) > nc.max_payload:
            self.too_large += 1
            return False
        try:
            async with asyncio.timeout(PUBLISH_WAIT_S):  # a stuck server never holds the uplink
                await nc.publish(self.subject(dock_id, "frames"), packed)
        except (NatsError, TimeoutError):
            return False
        return True

    async def follow(self, dock_id: str, on_frame: FrameHandler) -> Subscription:
        async def deliver(msg: Msg) -> None:
            on_frame(msg.data)

        return await self._want(self.subject(dock_id, "frames"), deliver)

    async def serve(self, dock_id: str, gop: GopSource) -> Subscription:
        headers = {INSTANCE_HEADER: self.instance}

        async def answer(msg: Msg) -> None:
            nc = self.nc
            if not msg.reply or nc is None:
                return
            try:
                for packed in gop():
                    if len(packed) <= nc.max_payload:
                        await nc.publish(msg.reply, packed, headers=headers)
                await nc.publish(msg.reply, b"", headers=headers)
            except NatsError as exc:
                logger.info("video bus: a keyframe group for %s not sent: %s", dock_id, exc)

        return await self._want(self.subject(dock_id, "gop"), answer)

    async def keyframes(self, dock_id: str, limit_s: float) -> list[bytes]:
        nc = self.nc
        if nc is None or not nc.is_connected:
            return []
        inbox = nc.new_inbox()
        frames: list[bytes] = []
        done = asyncio.Event()
        answerer: list[str] = []

        async def collect(msg: Msg) -> None:
            who = (msg.headers or {}).get(INSTANCE_HEADER, "")
            if not answerer:
                answerer.append(who)
            if who != answerer[0] or done.is_set():
                return  # a second instance answering: keep the first one's group whole
            if msg.data:
                frames.append(msg.data)
            else:
                done.set()

        try:
            sub = await nc.subscribe(inbox, cb=collect)
            try:
                await nc.publish(self.subject(dock_id, "gop"), b"", reply=inbox)
                async with asyncio.timeout(limit_s):
                    await done.wait()
            finally:
                with contextlib.suppress(NatsError):
                    await sub.unsubscribe()
        except (TimeoutError, NatsError):
            return []
        return frames


def _redact(servers: list[str]) -> str:
    """The servers without their passwords, for the log."""
    out = []
    for s in servers:
        scheme, sep, rest = s.partition("://")
        out.append(f"{scheme}{sep}{rest.rpartition('@')[2]}")
    return ",".join(out)
