"""Hypothesis against the running agent's command handler: every input gets a coded ack."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.agent import EdgeAgent
from edge.errors import ProtocolError
from edge.protocol import AckCode
from sim.broker import LocalBroker
from tests.edge.conftest import Listener
from tests.edge.helpers import command, edge_config, running_agent, send
from tests.keys import signed

NOW = datetime.now(UTC)
numbers = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
points = st.fixed_dictionaries({"lat": numbers | json_values, "lon": numbers | json_values})
bodies = st.fixed_dictionaries(
    {},
    optional={
        "incident_id": st.text(max_size=20) | json_values,
        "target": points | json_values,
        "alt_rel_m": numbers | json_values,
        "on_scene": st.fixed_dictionaries(
            {},
            optional={
                "pattern": st.sampled_from(["orbit", "hold", "spiral"]),
                "radius_m": numbers,
                "duration_s": numbers,
                "speed_mps": numbers,
            },
        ),
        "action": st.sampled_from(["hold", "land_now", "rtl", "dance"]) | json_values,
    },
)
commands = st.builds(
    lambda kind, body, dock, sig: {
        **command(kind, dock, body),
        "issued_at": NOW.isoformat(),
        "expires_at": (NOW + timedelta(hours=1)).isoformat(),
        "sig": sig,
    },
    st.sampled_from(["dispatch", "retask", "recall", "abort", "ping"]) | st.text(max_size=8),
    bodies | json_values,
    st.sampled_from(["dock-01", "dock-02"]),
    st.none() | st.text(max_size=20),
)


def signed_if_valid(cmd: dict[str, object]) -> bytes:
    """The command signed by dispatch's key when it parses, so it reaches its handler."""
    try:
        return json.dumps(signed(cmd)).encode()
    except ProtocolError:
        return json.dumps(cmd).encode()


payloads = (
    st.binary(max_size=200)
    | commands.map(lambda c: json.dumps(c).encode())
    | commands.map(signed_if_valid)
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(batch=st.lists(payloads, min_size=40, max_size=60))
async def test_no_command_crashes_the_agent_and_each_gets_a_coded_ack(
    broker: LocalBroker, listener: Listener, tmp_path: Path, batch: list[bytes]
) -> None:
    config = edge_config(broker, tmp_path, vehicle={"connect_timeout_s": 0.3})
    async with running_agent(config) as agent:
        assert isinstance(agent, EdgeAgent) and agent.dispatcher is not None
        for payload in batch:
            ack = await agent.dispatcher.handle(payload)
            assert ack.code in set(AckCode) and ack.ok == (ack.code == "accepted")
            assert ack.code != "internal_error", ack.reason
        assert agent.machine.phase == "docked" and agent.runner is not None
        assert not agent.runner.busy
        alive = await send(listener, command("ping"))
        assert alive["ok"]
        assert agent.link is not None
        outbox = agent.link.outbox
        await listener.wait(lambda: len(outbox) == 0, 30, "every ack published")
