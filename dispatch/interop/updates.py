"""The incident update stream: one in-process publisher every outward interface reads.

The store tells the hub, after each commit, which timeline lines it added (raising,
dispatching, a dock's events, commands, closing, a neighbour's news): whatever writes an
incident's timeline (the incident service, the event recorder, the queue) feeds it without
knowing it exists. Each line becomes one :class:`IncidentUpdate` whose ``id`` is the line's
sequence number: unique, increasing, and the ``id`` of Server-Sent Events and webhooks alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from dispatch.models import IncidentRecord, TimelineRecord
from dispatch.store.sql import SqlStore

__all__ = ["IncidentUpdate", "Sink", "UpdateHub"]

logger = logging.getLogger(__name__)

SUBSCRIBER_QUEUE = 1000


@dataclass(frozen=True)
class IncidentUpdate:
    """One change to an incident: the timeline line that says what, and the incident after."""

    id: int
    incident: IncidentRecord
    line: TimelineRecord


Sink = Callable[[IncidentUpdate], Awaitable[None]]


class UpdateHub:
    """Turns committed timeline lines into updates and hands each to every sink and listener.

    Args:
        store: the store whose commits are watched.
    """

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.sinks: list[Sink] = []
        self._pending: asyncio.Queue[int] = asyncio.Queue()
        self._listeners: set[asyncio.Queue[IncidentUpdate | None]] = set()
        store.observers.append(self._committed)

    def _committed(self, lines: list[tuple[str, int]]) -> None:
        for _incident_id, seq in lines:
            self._pending.put_nowait(seq)

    async def update(self, seq: int) -> IncidentUpdate | None:
        """The update of timeline line ``seq``, read back from the store."""
        line = await self.store.timeline_line(seq)
        if line is None:
            return None
        incident = await self.store.get_incident(line.incident_id)
        return IncidentUpdate(seq, incident, line) if incident is not None else None

    @contextlib.asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[IncidentUpdate | None]]:
        """A queue of live updates; ``None`` in it means the listener fell too far behind."""
        queue: asyncio.Queue[IncidentUpdate | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)

    def _tell_listeners(self, update: IncidentUpdate) -> None:
        for queue in list(self._listeners):
            if queue.full():
                # A stalled reader is cut off rather than let it hold memory; it resumes
                # from its Last-Event-ID, so nothing is lost to it.
                self._listeners.discard(queue)
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)
                continue
            queue.put_nowait(update)

    async def run(self) -> None:
        """Publish forever (the runtime's task group owns it)."""
        while True:
            seq = await self._pending.get()
            try:
                update = await self.update(seq)
            except Exception:
                logger.exception("cannot read timeline line %d for the update stream", seq)
                continue
            if update is None:
                continue
            self._tell_listeners(update)
            for sink in self.sinks:
                try:
                    await sink(update)
                except Exception:
                    logger.exception("update %d: a sink failed", seq)
