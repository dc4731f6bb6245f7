"""Several ``outrider dispatch`` processes on one PostgreSQL database and one broker.

:class:`PgDatabase` is a database of its own on a PostgreSQL server, created on entry and
dropped on exit; :class:`Cluster` runs ``n`` dispatch instances on it as child processes, in
one MQTT shared subscription group, each on a port of its own, any of which can be killed
outright (SIGKILL) and started again under the same name (so the broker hands it back its
session). :func:`counts` reads what the instances stored. Tests and ``outrider bench dispatch
--instances`` use them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import asyncpg  # type: ignore[import-untyped]
import httpx

from sim.flood import DispatchProcess, Registered

__all__ = ["TOKEN", "Cluster", "PgDatabase", "counts", "gather_limited"]

UNLIMITED = {
    "address_rate_per_s": 1e6,
    "address_burst": 1_000_000,
    "write_rate_per_s": 1e6,
    "write_burst": 1_000_000,
}
"""Request limits off: every request of a test or benchmark comes from one address."""
TOKEN = "cluster-dispatcher-token"
"""The dispatcher token the instances accept (development settings)."""


class PgDatabase:
    """A database of its own on the server at ``server`` (``postgresql://user@host:port``).

    Raises:
        OSError, asyncpg.PostgresError: when the server cannot be reached (on entry).
    """

    def __init__(self, server: str = "postgresql://postgres@127.0.0.1:5432") -> None:
        self.server = server.rstrip("/")
        self.name = f"outrider_cluster_{uuid.uuid4().hex[:10]}"
        self.url = f"{self.server}/{self.name}"

    async def __aenter__(self) -> Self:
        admin = await asyncpg.connect(f"{self.server}/postgres", timeout=5)
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        admin = await asyncpg.connect(f"{self.server}/postgres", timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        """Rows of ``query`` (a connection of its own)."""
        conn = await asyncpg.connect(self.url, timeout=5)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()


async def counts(db: PgDatabase) -> tuple[int, int]:
    """``(events stored, audit rows of events)``: a second store of one event would show as an
    audit row too many. ``(0, 0)`` before the schema exists."""
    try:
        rows = await db.fetch(
            "SELECT (SELECT count(*) FROM events),"
            " (SELECT count(*) FROM audit WHERE action LIKE 'event.%')"
            " + (SELECT count(*) FROM audit_pending WHERE action LIKE 'event.%')"
        )
    except asyncpg.UndefinedTableError:
        return 0, 0
    return int(rows[0][0]), int(rows[0][1])


class Cluster:
    """``n`` dispatch instances on ``db``, taking events and acks in one shared group.

    Args:
        folder: their signing key and logs (``dispatch-<i>.log``).
        broker_url: the broker.
        db: the database they share.
        fleet: the docks they accept.
        n: how many instances.
        dispatch: settings of the ``[dispatch]`` section (timeouts...).
        cluster: settings of the ``[cluster]`` section besides the shared group.
    """

    def __init__(
        self,
        folder: Path,
        broker_url: str,
        db: PgDatabase,
        fleet: Registered,
        n: int = 3,
        *,
        dispatch: dict[str, Any] | None = None,
        cluster: dict[str, Any] | None = None,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        section = {
            "dock_rate_per_s": 1e6,
            "dock_burst": 1_000_000,
            "ack_timeout_s": 3.0,
            "stale_after_s": 10.0,
            **(dispatch or {}),
        }
        tokens = [{"name": "dispatcher-1", "role": "dispatcher", "token": TOKEN}]
        self.instances = [
            DispatchProcess(
                folder,
                broker_url,
                fleet,
                db_url=db.url,
                name=f"dispatch-{i}",
                env={
                    "OUTRIDER_DISPATCH_DISPATCH": json.dumps(section),
                    "OUTRIDER_DISPATCH_CLUSTER": json.dumps(
                        {
                            "shared_group": "dispatch",
                            "instance": f"dispatch-{i}",
                            "lease_s": 10.0,
                            "sweep_s": 1.0,
                            **(cluster or {}),
                        }
                    ),
                    "OUTRIDER_DISPATCH_TOKENS": json.dumps(tokens),
                    "OUTRIDER_DISPATCH_LIMITS": json.dumps(UNLIMITED),
                },
            )
            for i in range(n)
        ]

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.instances]

    def client(self, i: int) -> httpx.AsyncClient:
        """A dispatcher's HTTP client of instance ``i``."""
        headers = {"Authorization": f"Bearer {TOKEN}"}
        return httpx.AsyncClient(base_url=self.instances[i].url, headers=headers, timeout=300.0)

    async def start(self) -> None:
        """Start every instance (one after the other: the first migrates the store) and wait
        until each is ready."""
        for p in self.instances:
            await p.start()
            await p.ready()

    async def restart(self, i: int) -> None:
        """Start instance ``i`` again, under its name, and wait until it is ready."""
        await self.instances[i].start()
        await self.instances[i].ready()

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """Kill them all."""
        for p in self.instances:
            with contextlib.suppress(ProcessLookupError):
                await p.kill()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


async def gather_limited(coros: list[Any], limit: int) -> list[Any]:
    """Await ``coros`` with at most ``limit`` running at once; their results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with gate:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coros)))
