"""Floods and oversized payloads on MQTT are bounded and counted, on the edge and in dispatch."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.comms.link import CMD_BURST, CMD_RATE_PER_S
from edge.comms.mqtt import counting_queue
from edge.ratelimit import Budgets, TokenBucket
from sim.broker import LocalBroker
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.dispatch.edges import EdgeSpec, ScriptedEdge
from tests.edge.conftest import Listener
from tests.edge.helpers import command, edge_config, running_agent
from tests.keys import signed
from tests.security.conftest import SecureBroker, observing


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(0.5, 100),
    burst=st.integers(1, 50),
    gaps=st.lists(st.floats(0, 2), min_size=1, max_size=300),
)
def test_a_token_bucket_never_lets_more_through_than_burst_plus_rate_times_time(
    rate: float, burst: int, gaps: list[float]
) -> None:
    clock = Clock()
    bucket = TokenBucket(rate, burst, clock)
    taken = 0
    for gap in gaps:
        clock.t += gap
        taken += bucket.take()
    assert taken <= burst + rate * clock.t + 1e-9
    assert taken + bucket.refused == len(gaps)


def test_budgets_are_per_key_and_forget_the_least_recently_used() -> None:
    clock = Clock()
    budgets = Budgets(rate=1, burst=2, max_keys=2, clock=clock)
    assert [budgets.take("a") for _ in range(3)] == [True, True, False]
    assert budgets.take("b") and budgets.refused("a") == 1
    budgets.take("c")  # "a" is forgotten; a new bucket starts full
    assert budgets.refused("a") == 0 and budgets.take("a")


def test_a_full_receive_queue_drops_and_counts_instead_of_raising() -> None:
    dropped: list[None] = []
    queue = counting_queue(lambda: dropped.append(None))(maxsize=2)
    for i in range(5):
        queue.put_nowait(i)  # type: ignore[arg-type]
    assert queue.qsize() == 2 and len(dropped) == 3


async def test_a_command_flood_is_cut_to_the_edges_budget_counted_and_logged(
    broker: LocalBroker, listener: Listener, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = edge_config(broker, tmp_path, vehicle={"connect_timeout_s": 0.5})
    flood = 1500
    async with running_agent(config) as agent:
        assert agent.link is not None
        await listener.wait(lambda: agent.link and agent.link.connected.is_set(), 10, "connected")
        started = asyncio.get_running_loop().time()
        with caplog.at_level(logging.WARNING, logger="edge.comms.link"):
            async with aiomqtt.Client(broker.host, broker.port) as flooder:
                for i in range(flood):
                    payload = json.dumps(command("ping", id=f"flood-{i}")).encode()
                    await flooder.publish("dfr/v1/dock-01/cmd", payload, qos=0)

            def all_seen() -> bool:
                answered = len(listener.of("ack"))
                return answered + agent.link.cmd_refused >= flood  # type: ignore[union-attr]

            await listener.wait(all_seen, 30, "every flooded command acked or counted")
        elapsed = asyncio.get_running_loop().time() - started
        answered = len(listener.of("ack"))
        assert answered <= CMD_BURST + CMD_RATE_PER_S * elapsed + 1
        assert agent.link.cmd_refused == flood - answered > flood // 2
        assert any("command flood" in r.getMessage() for r in caplog.records)
        assert len(agent.outbox) < CMD_BURST + CMD_RATE_PER_S * elapsed + 1
        agent.link.cmd_budget.tokens = 1.0  # the flood is over: a real command goes through
        ack = await _send(listener, command("ping", id="after-the-flood"))
        assert ack["ok"], ack


async def _send(listener: Listener, cmd: dict[str, Any]) -> dict[str, object]:
    await listener.publish("dfr/v1/dock-01/cmd", json.dumps(signed(cmd)).encode())
    return await listener.ack_for(str(cmd["id"]))


async def test_an_oversized_command_is_refused_too_large_and_a_huge_one_never_leaves_the_broker(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    config = edge_config(
        secure_broker,  # type: ignore[arg-type]
        tmp_path,
        mqtt=secure_broker.edge_mqtt("dock-01"),
        vehicle={"connect_timeout_s": 0.5},
    )
    big = command("ping", body={"pad": "x" * 100_000})
    huge = command("ping", body={"pad": "x" * 300_000})
    async with running_agent(config) as agent, observing(secure_broker) as seen:
        async with secure_broker.client("dispatch") as sender:
            await sender.publish("dfr/v1/dock-01/cmd", json.dumps(big).encode(), qos=1)
            ack = await seen.wait(lambda: next(iter(seen.acks()), None))
        assert (ack["ok"], ack["code"], ack["cmd_id"]) == (False, "too_large", None)
        with pytest.raises(aiomqtt.MqttError):
            async with secure_broker.client("dispatch") as sender:
                await sender.publish("dfr/v1/dock-01/cmd", json.dumps(huge).encode(), qos=1)
        async with secure_broker.client("dispatch") as sender:
            ping = json.dumps(signed(command("ping"))).encode()
            await sender.publish("dfr/v1/dock-01/cmd", ping, qos=1)
            await seen.wait(lambda: len(seen.acks()) == 2)
        assert [a["code"] for a in seen.acks()] == ["too_large", "accepted"]
        assert agent.link is not None and agent.link.connects == 1


async def test_a_flooding_dock_is_cut_to_its_budget_in_dispatch_and_counted_in_metrics(
    broker: LocalBroker, make_settings, public_key
) -> None:
    settings = make_settings(dispatch={"dock_rate_per_s": 20.0, "dock_burst": 50})
    async with (
        RunningDispatch(settings) as service,
        ScriptedEdge(broker.url, EdgeSpec("dock-02", 51.5, -0.1), public_key),
        aiomqtt.Client(broker.host, broker.port) as rogue,
    ):
        for i in range(2000):
            await rogue.publish("dfr/v1/dock-01/telemetry", b'{"v": 1, "n": %d}' % i, qos=0)
        await rogue.publish("dfr/v1/dock-03/state", b"{" + b" " * 70_000 + b"}", qos=1)
        metrics = service.runtime.metrics

        def counted(kind: str, code: str) -> float:
            return float(metrics.rejected.labels(kind, code)._value.get())

        await wait_for(lambda: counted("state", "too_large") == 1, limit_s=20)
        await wait_for(lambda: counted("telemetry", "rate_limited") >= 1900, limit_s=20)
        assert counted("telemetry", "invalid_field") <= 50 + 20 * 20
        async with service.client("metrics") as scraper:
            text = (await scraper.get("/metrics")).text
        assert 'dispatch_mqtt_rejected_total{code="rate_limited",kind="telemetry"}' in text
        view = await wait_for(lambda: service.runtime.fleet.get("dock-02"))
        assert view.state is not None  # the well-behaved dock is still heard


def test_a_full_receive_queue_keeps_a_message_still_to_be_acknowledged() -> None:
    dropped: list[None] = []
    queue = counting_queue(lambda: dropped.append(None))(maxsize=2)
    for mid in range(3):
        queue.put_nowait(aiomqtt.Message("dfr/v1/a/telemetry", b"{}", 0, False, mid, None))
    queue.put_nowait(aiomqtt.Message("dfr/v1/a/events", b"{}", 1, False, 9, None))
    assert queue.qsize() == 3 and len(dropped) == 1
