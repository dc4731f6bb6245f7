"""The MQTT link against a real broker: online/offline, commands in, nothing lost in outages."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from pathlib import Path

from edge.comms.link import MqttLink
from edge.comms.mqtt import Backoff
from edge.config import MqttConfig
from edge.outbox import Outbox
from edge.protocol import Event, EventType, Kind, Phase, Position, State
from sim.broker import LocalBroker
from tests.edge.conftest import Listener


@contextlib.asynccontextmanager
async def running_link(
    broker: LocalBroker, tmp_path: Path, received: list[bytes] | None = None
) -> AsyncIterator[MqttLink]:
    box = Outbox(tmp_path / "e.sqlite3")
    box.open()

    async def receive(payload: bytes) -> None:
        if received is not None:
            received.append(payload)

    config = MqttConfig(url=broker.url, backoff_initial_s=0.1, backoff_max_s=0.5, keepalive_s=5)
    link = MqttLink(config, "dock-01", box, receive)
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(link.run())
        try:
            yield link
        finally:
            task.cancel()
    box.close()


def event(n: int) -> Event:
    return Event(id=f"e{n}", dock_id="dock-01", type=EventType.EN_ROUTE, detail={"n": n})


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    backoff = Backoff(0.5, 8.0, rng=random.Random(1))
    delays = [backoff.next() for _ in range(12)]
    assert all(0.25 <= d <= 8.0 for d in delays)
    assert delays[0] <= 0.5 and max(delays) > 4.0
    assert delays[-1] <= 8.0


async def test_the_link_says_online_takes_commands_and_says_offline_when_stopped(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    received: list[bytes] = []
    async with running_link(broker, tmp_path, received) as link:
        await asyncio.wait_for(link.connected.wait(), 10)
        await listener.wait(lambda: listener.of("availability"), 10, "online")
        assert listener.of("availability")[-1].payload == b"online"
        await listener.publish("dfr/v1/dock-01/cmd", b'{"hello": 1}')
        await listener.publish("dfr/v1/dock-02/cmd", b"not for us")
        await listener.wait(lambda: received, 10, "command")
        link.send(Kind.EVENTS, event(1))
        await listener.wait(lambda: listener.of("events"), 10, "event")
    await listener.wait(lambda: listener.of("availability")[-1].payload == b"offline", 10)
    assert received == [b'{"hello": 1}']


async def test_state_is_retained_and_sent_again_after_every_connect(
    broker: LocalBroker, tmp_path: Path
) -> None:
    state = State(
        dock_id="dock-01", phase=Phase.DOCKED, ready=True, home=Position(lat=51.5, lon=-0.1)
    )
    async with running_link(broker, tmp_path) as link:
        link.set_state(state)
        await asyncio.wait_for(link.connected.wait(), 10)
        async with Listener(broker) as late:  # joins after the publish: sees the retained copy
            found = await late.wait(lambda: late.of("state"), 10, "retained state")
            assert found[0].retain and found[0].json()["phase"] == "docked"


async def test_events_queued_while_the_broker_is_down_arrive_once_and_in_order(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with running_link(broker, tmp_path) as link:
        await asyncio.wait_for(link.connected.wait(), 10)
        for n in range(5):
            link.send(Kind.EVENTS, event(n))
        await listener.wait(lambda: len(listener.of("events")) == 5, 10, "first events")
        await asyncio.sleep(0.5)  # let the listener's PUBACKs land: else the broker redelivers
        await broker.stop()
        await asyncio.sleep(0.3)
        for n in range(5, 25):
            link.send(Kind.EVENTS, event(n))
        assert not link.connected.is_set() and len(link.outbox) == 20
        await broker.start()
        await listener.wait(lambda: len(listener.of("events")) >= 25, 30, "queued events")
        await asyncio.sleep(0.3)
        assert [e["id"] for e in listener.events()] == [f"e{n}" for n in range(25)]
        assert len(link.outbox) == 0 and link.connects >= 2


async def test_events_written_before_a_crash_are_sent_by_the_next_process(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    box = Outbox(tmp_path / "e.sqlite3")
    with box:
        box.put("dfr/v1/dock-01/events", event(1).model_dump_json().encode())
    async with running_link(broker, tmp_path):
        await listener.wait(lambda: listener.of("events"), 10, "leftover event")
    assert listener.events()[0]["id"] == "e1"
