"""Fixtures of the security tests: Mosquitto as ``outrider certs init`` sets it up for service."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from outrider.certs import init
from sim.net import free_tcp_port
from tests.dispatch.conftest import dispatch_service, keys, make_settings, public_key
from tests.edge.conftest import listener

__all__ = [
    "Observer",
    "SecureBroker",
    "dispatch_service",
    "keys",
    "listener",
    "make_settings",
    "observing",
    "public_key",
]

DOCKS = ["dock-01", "dock-02"]


class SecureBroker:
    """A TLS Mosquitto with passwords and the ACL, from a directory made by ``certs init``.

    It can be stopped and started again on the same port, and told to reload (SIGHUP).
    """

    def __init__(self, directory: Path, port: int) -> None:
        self.dir, self.port = directory, port
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"mqtts://localhost:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.dir / "ca.crt"

    def secret(self, user: str) -> Path:
        return self.dir / f"{user}.secret"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "mosquitto",
            "-c",
            str(self.dir / "mosquitto.conf"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with asyncio.timeout(10):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    writer.close()
                    return
                except OSError:
                    await asyncio.sleep(0.05)

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            await proc.wait()

    def reload(self) -> None:
        """Make Mosquitto reread its password file and ACL, as an operator would."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)

    def client(
        self, user: str | None, *, password: str | None = None, tls: bool = True
    ) -> aiomqtt.Client:
        if user is not None and password is None:
            password = self.secret(user).read_text().strip()
        return aiomqtt.Client(
            "localhost",
            self.port,
            username=user,
            password=password,
            identifier=f"{user}-{uuid.uuid4().hex[:8]}",
            tls_params=aiomqtt.TLSParameters(ca_certs=str(self.ca_file)) if tls else None,
            timeout=3,
        )

    def edge_mqtt(self, dock_id: str) -> dict[str, Any]:
        """The ``[mqtt]`` section of an edge in service: TLS, its username and password file."""
        return {
            "url": self.url,
            "username": dock_id,
            "password_file": self.secret(dock_id),
            "ca_file": self.ca_file,
            "backoff_initial_s": 0.1,
            "backoff_max_s": 1.0,
        }

    def dispatch_settings(self) -> dict[str, Any]:
        """Dispatch's broker settings in service: TLS, the ``dispatch`` user, its password file."""
        return {
            "mqtt_url": self.url,
            "mqtt_username": "dispatch",
            "mqtt_password_file": self.secret("dispatch"),
            "mqtt_ca_file": self.ca_file,
        }


@pytest.fixture
async def secure_broker(tmp_path: Path) -> AsyncIterator[SecureBroker]:
    if not shutil.which("mosquitto"):
        pytest.skip("mosquitto is not installed")
    port = free_tcp_port()
    init(tmp_path / "broker", DOCKS, port=port)
    broker = SecureBroker(tmp_path / "broker", port)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


class Observer:
    """A client with dispatch's credentials that records every message on ``dfr/v1/#``."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.messages: list[tuple[str, bytes]] = []
        self._changed = asyncio.Condition()

    async def run(self) -> None:
        async for message in self.client.messages:
            payload = message.payload
            data = payload if isinstance(payload, bytes | bytearray) else b""
            async with self._changed:
                self.messages.append((str(message.topic), bytes(data)))
                self._changed.notify_all()

    def acks(self) -> list[dict[str, Any]]:
        return [json.loads(p) for t, p in self.messages if t.endswith("/ack")]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(p) for t, p in self.messages if t.endswith("/events")]

    async def wait(self, predicate: Callable[[], Any], within: float = 15.0) -> Any:
        async with asyncio.timeout(within), self._changed:
            while not (value := predicate()):
                await self._changed.wait()
            return value

    async def ack_for(self, cmd_id: str) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            return next((a for a in self.acks() if a.get("cmd_id") == cmd_id), None)

        result: dict[str, Any] = await self.wait(find)
        return result


@contextlib.asynccontextmanager
async def observing(broker: SecureBroker) -> AsyncIterator[Observer]:
    """An :class:`Observer` subscribed to everything, for the length of the block."""
    async with broker.client("dispatch") as client:
        await client.subscribe("dfr/v1/#", qos=1)
        observer = Observer(client)
        async with asyncio.TaskGroup() as tasks:
            task = tasks.create_task(observer.run())
            try:
                yield observer
            finally:
                task.cancel()
