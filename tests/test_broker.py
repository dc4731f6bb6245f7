"""The test broker is a real MQTT broker: QoS 1 delivery, retained messages, restarts."""

from __future__ import annotations

import asyncio
import shutil

import aiomqtt
import pytest

from sim.broker import EmbeddedBroker, LocalBroker, MosquittoBroker

KINDS = [EmbeddedBroker] + ([MosquittoBroker] if shutil.which("mosquitto") else [])


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
async def test_broker_delivers_retained_messages_and_survives_a_restart(
    kind: type[LocalBroker],
) -> None:
    async with kind() as broker:
        async with aiomqtt.Client(broker.host, broker.port) as pub:
            await pub.publish("dfr/v1/dock-01/state", b"{}", qos=1, retain=True)
        async with aiomqtt.Client(broker.host, broker.port) as sub:
            await sub.subscribe("dfr/v1/+/state", qos=1)
            async with asyncio.timeout(5):
                msg = await anext(sub.messages)
            assert msg.retain and msg.payload == b"{}"
        await broker.restart()
        async with aiomqtt.Client(broker.host, broker.port) as again:
            await again.publish("dfr/v1/dock-01/events", b"x", qos=1)
