"""Rotation without downtime: broker passwords, the server certificate, dispatch's signing key."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from dispatch.bus import MqttBus
from dispatch.keys import PUBLIC_NAME, init_keys
from edge.comms.dispatcher import CommandDispatcher, Outcome
from edge.comms.mqtt import Ack as MqttAck
from edge.comms.mqtt import BrokerSettings
from edge.errors import ConfigError
from edge.outbox import Outbox
from edge.protocol import Ack, Command, parse_command
from edge.protocol.signing import load_private_key, load_public_keys, sign
from outrider.certs import add_client, renew_server
from tests.edge.helpers import edge_config, running_agent
from tests.security.conftest import SecureBroker

ONLINE = ("dfr/v1/dock-01/availability", b"online")


async def test_new_passwords_and_a_new_server_certificate_are_picked_up_at_the_next_connect(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    config = edge_config(
        secure_broker,  # type: ignore[arg-type]
        tmp_path / "edge",
        mqtt=secure_broker.edge_mqtt("dock-01"),
        vehicle={"connect_timeout_s": 0.5},
    )
    settings = secure_broker.dispatch_settings()
    broker = BrokerSettings.from_url(
        settings["mqtt_url"],
        username="dispatch",
        password_file=settings["mqtt_password_file"],
        ca_file=settings["mqtt_ca_file"],
    )
    bus = MqttBus(broker, ["dfr/v1/+/availability"], persistent=True)
    heard: list[tuple[str, bytes]] = []
    changed = asyncio.Condition()

    async def receive(topic: str, payload: bytes, ack: MqttAck) -> None:
        async with changed:
            heard.append((topic, payload))
            changed.notify_all()
        ack()

    async def online_since(mark: int) -> None:
        async with asyncio.timeout(30), changed:
            await changed.wait_for(lambda: ONLINE in heard[mark:])

    async with running_agent(config) as agent, asyncio.TaskGroup() as tasks:
        task = tasks.create_task(bus.run(receive))
        assert agent.link is not None
        await online_since(0)
        old = {u: secure_broker.secret(u).read_text().strip() for u in ("dock-01", "dispatch")}
        for user in old:
            add_client(secure_broker.dir, user)  # new password file entry and <user>.secret
        renew_server(secure_broker.dir, ["localhost", "127.0.0.1"])
        mark = len(heard)
        await secure_broker.stop()  # a restart: every client reconnects to the new setup
        await secure_broker.start()
        await online_since(mark)  # the edge is back, and dispatch hears it
        assert agent.link.connects == 2
        for user, password in old.items():
            with pytest.raises(aiomqtt.MqttError, match=r"[Nn]ot authori"):
                async with secure_broker.client(user, password=password):
                    pass
        task.cancel()


def _command(key: Ed25519PrivateKey, cmd_id: str) -> bytes:
    now = datetime.now(UTC)
    cmd = {
        "v": 1,
        "id": cmd_id,
        "type": "ping",
        "dock_id": "dock-01",
        "issued_at": now.isoformat(),
        "expires_at": (now + timedelta(seconds=60)).isoformat(),
        "body": {},
    }
    return sign(parse_command(json.dumps(cmd).encode()), key).model_dump_json().encode()


async def _codes(public_file: Path, commands: list[bytes], state: Path) -> list[str]:
    async def pong(cmd: Command, received: float) -> Outcome:
        return Outcome()

    acks: list[Ack] = []
    with Outbox(state / "edge.sqlite3") as box:
        dispatcher = CommandDispatcher(
            "dock-01",
            {"ping": pong},
            box,
            acks.append,
            public_key=load_public_keys(public_file),
        )
        for payload in commands:
            await dispatcher.handle(payload)
    return [a.code.value for a in acks]


async def test_a_dispatch_key_rotation_refuses_nothing_while_edges_trust_both_keys(
    tmp_path: Path,
) -> None:
    old_private, old_public = init_keys(tmp_path / "old")
    new_private, new_public = init_keys(tmp_path / "new")
    old, new = load_private_key(old_private), load_private_key(new_private)
    both = tmp_path / "edge" / PUBLIC_NAME
    both.parent.mkdir()
    both.write_bytes(old_public.read_bytes() + new_public.read_bytes())  # step 1 on every edge
    during = await _codes(both, [_command(old, "a"), _command(new, "b")], tmp_path / "edge")
    assert during == ["accepted", "accepted"]
    both.write_bytes(new_public.read_bytes())  # step 3, once dispatch signs with the new key
    after = await _codes(both, [_command(old, "c"), _command(new, "d")], tmp_path / "edge")
    assert after == ["bad_signature", "accepted"]


def test_a_public_key_file_with_anything_but_ed25519_keys_is_a_config_error(
    tmp_path: Path,
) -> None:
    _, public = init_keys(tmp_path)
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    ec_pem = ec_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    broken = tmp_path / "broken.pem"
    for content in (b"", b"not a key", public.read_bytes() + ec_pem):
        broken.write_bytes(content)
        with pytest.raises(ConfigError):
            load_public_keys(broken)
    assert len(load_public_keys(public)) == 1
