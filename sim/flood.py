"""A fleet flooding dispatch with events, and a dispatch process to kill: the ingest rehearsal.

:class:`Fleet` is a crowd of docks with keys of their own that publish signed ``events`` (QoS 1)
as fast as the broker takes them; :class:`DispatchProcess` is ``outrider dispatch`` as a child
process on a SQLite file, with those docks registered, that can be killed outright (SIGKILL)
and started again; :func:`stored_events` reads what it stored. Tests and ``outrider bench
ingest`` use them to count events lost or stored twice across a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
import uuid
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.comms.mqtt import make_client, parse_mqtt_url
from edge.protocol import Event, EventType, Kind, topic
from edge.protocol.signing import public_key_text, sign_message
from sim.net import free_tcp_port

__all__ = ["DispatchProcess", "Fleet", "stored_events"]

ROOT = Path(__file__).resolve().parents[1]


class Registered(Protocol):
    """Docks that dispatch is told to accept messages from."""

    def registered(self) -> list[dict[str, str]]:
        """Dispatch's ``docks`` entries."""
        ...


class Fleet:
    """``size`` docks (``flood-00``...), each with an Ed25519 key of its own."""

    def __init__(self, size: int = 10) -> None:
        self.keys = {f"flood-{i:02d}": Ed25519PrivateKey.generate() for i in range(size)}

    def registered(self) -> list[dict[str, str]]:
        """Dispatch's ``docks`` entries for these docks."""
        return [
            {"id": d, "public_key": public_key_text(k.public_key())} for d, k in self.keys.items()
        ]

    def events(self, n: int) -> list[tuple[str, bytes]]:
        """``n`` signed events as ``(topic, payload)``, dealt round the docks, one sortie each."""
        docks = list(self.keys)
        sorties = {d: f"S-{uuid.uuid4().hex[:12]}" for d in docks}
        out = []
        for i in range(n):
            dock = docks[i % len(docks)]
            ev = Event(
                id=uuid.uuid4().hex,
                dock_id=dock,
                sortie_id=sorties[dock],
                type=EventType.EN_ROUTE,
                detail={"n": i},
            )
            out.append((topic(dock, Kind.EVENTS), sign_message(ev, self.keys[dock])))
        return out


async def publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    """Publish ``messages`` at QoS 1, each confirmed by the broker before the next."""
    client = make_client(
        parse_mqtt_url(url),
        client_id=f"flood-{uuid.uuid4().hex[:8]}",
        persistent=False,
        keepalive_s=30,
        timeout_s=30.0,
    )
    async with client:
        for name, payload in messages:
            await client.publish(name, payload, qos=1)


class DispatchProcess:
    """``outrider dispatch`` as a child process, on ``broker_url`` and a SQLite file in ``folder``.

    Args:
        folder: holds its database, signing key (shared by the instances started there) and
            log (``<name>.log``).
        broker_url: the broker.
        fleet: the docks it accepts messages from.
        batch_max: most reported messages it stores in one transaction.
        db_url: its store, instead of the SQLite file in ``folder``.
        name: names its log and MQTT session (the same again after a restart).
        env: more ``OUTRIDER_DISPATCH_*`` settings.
    """

    def __init__(
        self,
        folder: Path,
        broker_url: str,
        fleet: Registered,
        batch_max: int = 200,
        *,
        db_url: str | None = None,
        name: str = "dispatch",
        env: dict[str, str] | None = None,
    ) -> None:
        self.folder = folder
        self.name = name
        self.db = folder / "dispatch.db"
        self.port = free_tcp_port()
        key = folder / "dispatch_ed25519.pem"
        if not key.exists():  # the instances of one service sign with one key
            key.write_bytes(
                Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "OUTRIDER_DISPATCH_MQTT_URL": broker_url,
            "OUTRIDER_DISPATCH_MQTT_CLIENT_ID": f"{name}-{uuid.uuid4().hex[:8]}",
            "OUTRIDER_DISPATCH_DB_URL": db_url or f"sqlite:///{self.db}",
            "OUTRIDER_DISPATCH_SIGNING_KEY": str(key),
            "OUTRIDER_DISPATCH_PORT": str(self.port),
            "OUTRIDER_DISPATCH_SECRET": uuid.uuid4().hex * 2,
            "OUTRIDER_DISPATCH_LOG_FORMAT": "text",
            "OUTRIDER_DISPATCH_DOCKS": json.dumps(fleet.registered()),
            "OUTRIDER_DISPATCH_DISPATCH": json.dumps(
                {"dock_rate_per_s": 1e6, "dock_burst": 1_000_000, "store_batch_max": batch_max}
            ),
            **(env or {}),
        }
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start it and wait until it answers on its port."""
        with (self.folder / f"{self.name}.log").open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "outrider",
                "dispatch",
                cwd=self.folder,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        async with asyncio.timeout(30):
            while True:
                if self._proc.returncode is not None:
                    raise RuntimeError(f"dispatch exited with {self._proc.returncode}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                return

    async def ready(self, path: str = "/readyz", limit_s: float = 30.0) -> None:
        """Wait until it answers ``path`` with 200 (store and broker both up)."""
        async with httpx.AsyncClient(base_url=self.url) as http, asyncio.timeout(limit_s):
            while True:
                if (await http.get(path)).status_code == 200:
                    return
                await asyncio.sleep(0.05)  # polling a process over HTTP: no event to wait on

    async def kill(self) -> None:
        """SIGKILL: no chance to store, acknowledge or disconnect."""
        await self._stop(signal.SIGKILL)

    async def terminate(self) -> int | None:
        """SIGTERM, as a deploy does; returns the exit code."""
        return await self._stop(signal.SIGTERM)

    async def _stop(self, sig: signal.Signals) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return proc.returncode if proc else None
        proc.send_signal(sig)
        try:
            return await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            return await proc.wait()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.kill()


def stored_events(db: Path) -> tuple[int, int]:
    """``(events stored, audit rows of events)`` in the database at ``db`` (0, 0 before it
    exists); an event stored twice would show as an audit row too many."""
    if not db.exists():
        return 0, 0
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        try:
            events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            audits = conn.execute(
                "SELECT count(*) FROM audit WHERE action LIKE 'event.%'"
            ).fetchone()[0]
        except sqlite3.OperationalError:  # not migrated yet
            return 0, 0
    return int(events), int(audits)
