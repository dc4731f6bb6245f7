"""The cellular-style link proxy really delays, stalls and cuts MQTT traffic."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from sim.broker import LocalBroker
from sim.linkproxy import LinkProxy


async def _roundtrip(proxy: LinkProxy, broker: LocalBroker) -> float:
    loop = asyncio.get_running_loop()
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        aiomqtt.Client("127.0.0.1", proxy.port) as pub,
    ):
        await sub.subscribe("t", qos=1)
        start = loop.time()
        await pub.publish("t", b"x", qos=1)
        async with asyncio.timeout(10):
            await anext(sub.messages)
        return loop.time() - start


async def test_delay_slows_every_message_by_about_the_delay(broker: LocalBroker) -> None:
    async with LinkProxy(broker.host, broker.port) as proxy:
        fast = await _roundtrip(proxy, broker)
        proxy.conditions.delay_s = 0.3
        slow = await _roundtrip(proxy, broker)
    assert slow >= 0.3 > fast


async def test_a_stall_holds_traffic_until_released(broker: LocalBroker) -> None:
    async with (
        LinkProxy(broker.host, broker.port) as proxy,
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        aiomqtt.Client("127.0.0.1", proxy.port) as pub,
    ):
        await sub.subscribe("t", qos=0)
        proxy.stall()
        await pub.publish("t", b"held", qos=0)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await anext(sub.messages)
        proxy.restore()
        async with asyncio.timeout(5):
            assert (await anext(sub.messages)).payload == b"held"


async def test_a_cut_drops_the_connection_and_refuses_new_ones_until_restored(
    broker: LocalBroker,
) -> None:
    async with LinkProxy(broker.host, broker.port) as proxy:
        client = aiomqtt.Client("127.0.0.1", proxy.port, timeout=2)
        async with client:
            proxy.cut()
            with pytest.raises(aiomqtt.MqttError):
                async with asyncio.timeout(5):
                    await client.subscribe("t")
                    async for _ in client.messages:
                        pass
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client("127.0.0.1", proxy.port, timeout=2):
                pass
        proxy.restore()
        async with aiomqtt.Client("127.0.0.1", proxy.port, timeout=2):
            pass
        assert proxy.connections_total == 2
