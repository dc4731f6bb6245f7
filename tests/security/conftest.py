"""Fixtures of the security tests: Mosquitto as ``outrider certs init`` sets it up for service."""

from __future__ import annotations

import asyncio
import base64
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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dispatch.config import DispatchSettings, load_settings
from edge.protocol.commands import canonical_json
from outrider.certs import init
from sim.net import free_tcp_port
from tests.dispatch.conftest import (
    TOKENS,
    dispatch_service,
    edge_factory,
    keys,
    make_settings,
    postgres_url,
    public_key,
)
from tests.edge.conftest import listener
from tests.keys import dispatch_key_files, registered

__all__ = [
    "Observer",
    "SecureBroker",
    "dispatch_service",
    "edge_factory",
    "forge",
    "keys",
    "listener",
    "make_settings",
    "observing",
    "postgres_url",
    "public_key",
    "service_settings",
]

# dock-09 has broker credentials but is not registered in dispatch: a dock that does not exist
DOCKS = ["dock-01", "dock-02", "dock-09"]


class SecureBroker:
    """A TLS Mosquitto with passwords and the ACL, from a directory made by ``certs init``.

    It can be stopped and started again on the same port, and told to reload (SIGHUP).
    """

    def __init__(self, directory: Path, port: int, plain_port: int | None = None) -> None:
        self.dir, self.port, self.plain_port = directory, port, plain_port
        self.proc: asyncio.subprocess.Process | None = None
        if plain_port is not None:
            # A loopback listener without TLS, under the same passwords and ACL (they are
            # global with per_listener_settings false): for test clients that speak plain MQTT.
            conf = self.dir / "mosquitto.conf"
            conf.write_text(conf.read_text() + f"listener {plain_port} 127.0.0.1\n")

    @property
    def url(self) -> str:
        return f"mqtts://localhost:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.dir / "ca.crt"

    def secret(self, user: str) -> Path:
        return self.dir / f"{user}.secret"

    def plain_url(self, user: str) -> str:
        """``mqtt://user:password@127.0.0.1:port`` of the plain listener, as ``user``."""
        assert self.plain_port is not None
        password = self.secret(user).read_text().strip()
        return f"mqtt://{user}:{password}@127.0.0.1:{self.plain_port}"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "mosquitto",
            "-c",
            str(self.dir / "mosquitto.conf"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        # Ready once it answers an MQTT CONNECT (a refusal will do), not merely once its port
        # is open: a reload (SIGHUP) that reaches a broker still starting up can be lost.
        async with asyncio.timeout(15):
            while True:
                try:
                    async with self.client(None):
                        return
                except aiomqtt.MqttError as exc:
                    if "authori" in str(exc):
                        return
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
    broker = SecureBroker(tmp_path / "broker", port, free_tcp_port())
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


def service_settings(broker: SecureBroker, tmp_path: Path, **overrides: Any) -> DispatchSettings:
    """Dispatch as in service: its own broker user under the ACL, dock-01 and dock-02 registered
    with their keys (dock-09 has a broker password but is no dock of this dispatch)."""
    dispatch = {"ack_timeout_s": 3.0, "stale_after_s": 5.0, **overrides.pop("dispatch", {})}
    base: dict[str, Any] = {
        "mqtt_url": broker.plain_url("dispatch"),
        "mqtt_client_id": f"dispatch-{uuid.uuid4().hex[:8]}",
        "db_url": f"sqlite:///{tmp_path / 'dispatch.db'}",
        "signing_key": dispatch_key_files()[0],
        "secret": "security-suite-secret-0123456789abcdef",
        "log_format": "text",
        "dispatch": dispatch,
        "tokens": [{"name": f"{r}-1", "role": r, "token": t} for r, t in TOKENS.items()],
        "docks": registered("dock-01", "dock-02"),
    }
    return load_settings(None, **{**base, **overrides})


async def forge(
    client: aiomqtt.Client,
    topic: str,
    message: dict[str, Any] | bytes,
    key: Ed25519PrivateKey | None = None,
    *,
    retain: bool = False,
) -> None:
    """Publish ``message`` as a forger would: as given, or signed with ``key`` (not the dock's)."""
    if isinstance(message, bytes):
        payload = message
    else:
        body = {k: v for k, v in message.items() if k != "sig"}
        if key is not None:
            body["sig"] = base64.b64encode(key.sign(canonical_json(body))).decode()
        payload = json.dumps(body).encode()
    await client.publish(topic, payload, qos=1, retain=retain)
