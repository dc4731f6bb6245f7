"""Acks stored by any instance wake the sender waiting for them on this one.

With several dispatch instances, the broker hands a dock's ack to one of them (a shared
subscription), not necessarily the one whose request sent the command. That one stores it;
on PostgreSQL its transaction also sends ``NOTIFY outrider_ack`` with the command's id, which
this watch ``LISTEN``s for; and whatever the channel misses (a dropped connection) the watch
finds by reading the acks of the commands still waited for, a few times a second while there
are any.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import SQLAlchemyError

from dispatch.commander import Commander, ack_of
from dispatch.service_errors import DispatchError
from dispatch.store.sql import ACK_CHANNEL, SqlStore

__all__ = ["AckWatch"]

logger = logging.getLogger(__name__)

POLL_S = 0.25
"""Longest a stored ack waits to be noticed when no notification comes."""
RELISTEN_S = 1.0


class AckWatch:
    """Hands acks found in the store to the commander's waiting senders.

    Args:
        store: the store shared by the instances.
        commander: whose senders wait.
        poll_s: how often the store is read while senders wait.
    """

    def __init__(self, store: SqlStore, commander: Commander, poll_s: float = POLL_S) -> None:
        self.store = store
        self.commander = commander
        self.poll_s = poll_s
        self._kick = asyncio.Event()

    async def run(self) -> None:
        """Listen (PostgreSQL) and read the waited-for acks; forever."""
        async with asyncio.TaskGroup() as group:
            if self.store.dialect == "postgresql":
                group.create_task(self._listen())
            group.create_task(self._poll())

    async def check(self) -> int:
        """Resolve every waited-for command whose ack is stored; how many."""
        ids = self.commander.waiting()
        if not ids:
            return 0
        found = 0
        for command in await self.store.acked(ids):
            ack = ack_of(command)
            if ack is not None and self.commander.resolve(ack):
                found += 1
        return found

    async def _poll(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.poll_s):
                    await self._kick.wait()
            except TimeoutError:
                pass
            self._kick.clear()
            try:
                await self.check()
            except (SQLAlchemyError, OSError, DispatchError) as exc:
                logger.warning("reading stored acks failed: %s", exc)
                await asyncio.sleep(self.poll_s)

    def _notified(self, *_: Any) -> None:
        self._kick.set()

    async def _listen(self) -> None:
        """``LISTEN`` on a connection of its own, again after it drops."""
        while True:
            try:
                async with self.store.engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver: Any = raw.driver_connection
                    closed = asyncio.Event()
                    driver.add_termination_listener(functools.partial(_set, closed))
                    await driver.add_listener(ACK_CHANNEL, self._notified)
                    try:
                        await closed.wait()
                    finally:
                        if not driver.is_closed():
                            await driver.remove_listener(ACK_CHANNEL, self._notified)
            except (SQLAlchemyError, OSError, DispatchError, asyncpg.PostgresError,
                    asyncpg.InterfaceError) as exc:  # fmt: skip
                logger.warning("listening for acks failed (%s); reading them meanwhile", exc)
            await asyncio.sleep(RELISTEN_S)


def _set(event: asyncio.Event, *_: Any) -> None:
    event.set()
