"""The service broker, as `outrider certs init` sets it up, enforces who may say and hear what."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import aiomqtt
import pytest

from outrider.certs import add_client, init
from tests.security.conftest import SecureBroker


async def _collect(client: aiomqtt.Client, until: bytes) -> list[tuple[str, bytes]]:
    seen: list[tuple[str, bytes]] = []
    async with asyncio.timeout(5):
        async for msg in client.messages:
            seen.append((str(msg.topic), bytes(msg.payload)))  # type: ignore[arg-type]
            if msg.payload == until:
                return seen
    return seen


async def test_a_dock_cannot_publish_as_another_dock_or_send_commands(
    secure_broker: SecureBroker,
) -> None:
    async with (
        secure_broker.client("dispatch") as dispatch,
        secure_broker.client("dock-01") as dock,
    ):
        await dispatch.subscribe("dfr/v1/#", qos=1)
        await dock.publish("dfr/v1/dock-02/state", b"forged", qos=1)
        await dock.publish("dfr/v1/dock-01/cmd", b"self-command", qos=1)
        await dock.publish("dfr/v1/dock-01/state", b"own", qos=1)
        seen = await _collect(dispatch, until=b"own")
    assert seen == [("dfr/v1/dock-01/state", b"own")]


async def test_a_dock_cannot_read_another_docks_commands(secure_broker: SecureBroker) -> None:
    async with (
        secure_broker.client("dispatch") as dispatch,
        secure_broker.client("dock-01") as dock,
    ):
        await dock.subscribe("dfr/v1/dock-02/cmd", qos=1)
        await dock.subscribe("dfr/v1/+/cmd", qos=1)
        await dock.subscribe("dfr/v1/dock-01/cmd", qos=1)
        await dispatch.publish("dfr/v1/dock-02/cmd", b"for-02", qos=1)
        await dispatch.publish("dfr/v1/dock-01/cmd", b"for-01", qos=1)
        seen = await _collect(dock, until=b"for-01")
    assert [payload for _, payload in seen] == [b"for-01"]


async def test_anonymous_and_wrong_password_clients_are_refused(
    secure_broker: SecureBroker,
) -> None:
    with pytest.raises(aiomqtt.MqttError, match=r"[Nn]ot authori"):
        async with secure_broker.client(None):
            pass
    with pytest.raises(aiomqtt.MqttError, match=r"[Nn]ot authori"):
        async with secure_broker.client("dock-01", password="guess"):
            pass


async def test_plaintext_is_refused_on_the_tls_port(secure_broker: SecureBroker) -> None:
    with pytest.raises(aiomqtt.MqttError):
        async with secure_broker.client("dock-01", tls=False):
            pass


async def test_a_client_that_does_not_trust_the_ca_does_not_connect(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    init(other, [])
    client = aiomqtt.Client(
        "localhost",
        secure_broker.port,
        username="dock-01",
        password=(secure_broker.dir / "dock-01.secret").read_text().strip(),
        tls_params=aiomqtt.TLSParameters(ca_certs=str(other / "ca.crt")),
        timeout=5,
    )
    with pytest.raises((aiomqtt.MqttError, ssl.SSLError)):
        async with client:
            pass


async def test_a_rotated_password_replaces_the_old_one_after_reload(
    secure_broker: SecureBroker,
) -> None:
    old = (secure_broker.dir / "dock-02.secret").read_text().strip()
    add_client(secure_broker.dir, "dock-02")
    secure_broker.reload()
    refused = False
    async with asyncio.timeout(30):
        while not refused:  # the reload is asynchronous inside the broker
            try:
                # A TLS handshake caught by the reload can stall; give each attempt its own limit.
                async with asyncio.timeout(3), secure_broker.client("dock-02", password=old):
                    pass
            except TimeoutError:
                continue
            except aiomqtt.MqttError as exc:
                refused = "authori" in str(exc)
    async with secure_broker.client("dock-02"):
        pass


def test_init_refuses_to_overwrite_a_ca_without_force(tmp_path: Path) -> None:
    from edge.errors import ConfigError

    init(tmp_path, ["dock-01"])
    ca = (tmp_path / "ca.crt").read_bytes()
    with pytest.raises(ConfigError, match="already holds a CA"):
        init(tmp_path, ["dock-01"])
    init(tmp_path, ["dock-01"], force=True)
    assert (tmp_path / "ca.crt").read_bytes() != ca
    assert (tmp_path / "ca.key").stat().st_mode & 0o077 == 0
