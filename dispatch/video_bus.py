"""The bus live video crosses between dispatch instances: the seam, and its in-process side.

An edge uplinks to one instance; viewers may be on any. The instance holding a dock's uplink
publishes each frame on the bus as it came and answers a newcomer's request for the latest
keyframe group; an instance with viewers of a dock follows its frames. :class:`VideoBus` is
that seam. :class:`MemoryVideoBus` is the in-process implementation: alone (the default, one
instance) it carries nothing, and members of one :class:`MemoryVideoHub` reach each other as
instances do through the real engine (:mod:`dispatch.video_nats`, NATS core pub/sub).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from edge.errors import ConfigError

if TYPE_CHECKING:
    from dispatch.config import ClusterConfig

__all__ = [
    "FrameHandler",
    "GopSource",
    "MemoryVideoBus",
    "MemoryVideoHub",
    "Subscription",
    "VideoBus",
    "make_video_bus",
]

FrameHandler = Callable[[bytes], None]
"""Takes one packed frame from another instance; called on the event loop, must not block."""

GopSource = Callable[[], list[bytes]]
"""The packed frames of a dock's latest keyframe group on this instance (empty if none)."""


class Subscription(Protocol):
    """Something taken on the bus until it is closed."""

    async def close(self) -> None:
        """Stop it (closing twice does nothing)."""
        ...


class VideoBus(Protocol):
    """Frames of docks between instances; an async context manager that connects on enter."""

    @property
    def connected(self) -> bool:
        """Whether frames get through now (an in-process bus always does)."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def publish(self, dock_id: str, packed: bytes) -> bool:
        """Offer a frame of an uplink on this instance to the others; whether it went out."""
        ...

    async def follow(self, dock_id: str, on_frame: FrameHandler) -> Subscription:
        """Deliver each frame of ``dock_id`` that another instance publishes, in order."""
        ...

    async def serve(self, dock_id: str, gop: GopSource) -> Subscription:
        """Answer other instances' requests for ``dock_id``'s keyframe group from ``gop``
        (while this instance holds the dock's uplink)."""
        ...

    async def keyframes(self, dock_id: str, limit_s: float) -> list[bytes]:
        """The latest keyframe group of ``dock_id`` from the instance holding its uplink;
        empty when none answers within ``limit_s``."""
        ...


class MemoryVideoHub:
    """Instances in one process: who follows and who serves each dock."""

    def __init__(self) -> None:
        self.followers: dict[str, dict[int, tuple[MemoryVideoBus, FrameHandler]]] = {}
        self.servers: dict[str, dict[int, tuple[MemoryVideoBus, GopSource]]] = {}
        self._next = 0

    def key(self) -> int:
        """A new subscription's number."""
        self._next += 1
        return self._next


class _MemorySubscription:
    def __init__(self, table: dict[str, dict[int, Any]], dock_id: str, key: int) -> None:
        self._table, self._dock, self._key = table, dock_id, key

    async def close(self) -> None:
        entries = self._table.get(self._dock, {})
        entries.pop(self._key, None)
        if not entries:
            self._table.pop(self._dock, None)


class MemoryVideoBus:
    """One instance's side of an in-process hub; alone (no hub given) it carries nothing.

    Args:
        hub: the instances it reaches; a hub of its own by default.
    """

    def __init__(self, hub: MemoryVideoHub | None = None) -> None:
        self.hub = hub or MemoryVideoHub()

    @property
    def connected(self) -> bool:
        return True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def publish(self, dock_id: str, packed: bytes) -> bool:
        for bus, handler in list(self.hub.followers.get(dock_id, {}).values()):
            if bus is not self:
                handler(packed)
        return True

    async def follow(self, dock_id: str, on_frame: FrameHandler) -> Subscription:
        key = self.hub.key()
        self.hub.followers.setdefault(dock_id, {})[key] = (self, on_frame)
        return _MemorySubscription(self.hub.followers, dock_id, key)

    async def serve(self, dock_id: str, gop: GopSource) -> Subscription:
        key = self.hub.key()
        self.hub.servers.setdefault(dock_id, {})[key] = (self, gop)
        return _MemorySubscription(self.hub.servers, dock_id, key)

    async def keyframes(self, dock_id: str, limit_s: float) -> list[bytes]:
        for bus, gop in list(self.hub.servers.get(dock_id, {}).values()):
            frames = gop() if bus is not self else []
            if frames:
                return frames
        return []


def make_video_bus(cfg: ClusterConfig) -> VideoBus:
    """The bus the settings name: NATS at ``cfg.video_bus``, else in-process (one instance)."""
    if not cfg.video_bus:
        return MemoryVideoBus()
    try:
        from dispatch.video_nats import NatsVideoBus  # only a cluster needs the NATS client
    except ImportError as exc:
        raise ConfigError(
            "cluster.video_bus needs the NATS client: pip install 'outrider[cluster]'"
        ) from exc

    return NatsVideoBus(
        [url.strip() for url in cfg.video_bus.split(",")],
        cfg.video_subject,
        username=cfg.video_bus_username,
        password_file=cfg.video_bus_password_file,
        ca_file=cfg.video_bus_ca_file,
        name=f"outrider-dispatch {cfg.instance or socket.gethostname()}",
    )
