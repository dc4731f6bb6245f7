"""The running agent answers every command over MQTT, even with no vehicle connected."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.protocol import State
from sim.broker import LocalBroker
from tests.edge.conftest import Listener
from tests.edge.helpers import command, dispatch, edge_config, near, running_agent, send
from tests.keys import signed


async def test_without_a_vehicle_the_agent_is_online_not_ready_and_answers_with_codes(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    config = edge_config(broker, tmp_path, vehicle={"connect_timeout_s": 0.5})
    async with running_agent(config):
        await listener.wait(lambda: listener.of("availability"), 10, "online")
        ping = await send(listener, command("ping"))
        assert (ping["ok"], ping["code"]) == (True, "accepted")
        ack = await send(listener, dispatch(near(1.0)))
        assert (ack["ok"], ack["code"]) == (False, "vehicle_not_ready")
        assert any("MAVLink" in f["reason"] for f in ack["failures"])
        assert (await send(listener, command("recall")))["code"] == "not_flying"
        expired = command(  # inside the replay window, past its own expiry
            "ping",
            issued_at=(datetime.now(UTC) - timedelta(minutes=3)).isoformat(),
            expires_at=(datetime.now(UTC) - timedelta(minutes=2)).isoformat(),
        )
        assert (await send(listener, expired))["code"] == "expired"
        wrong = command("ping")
        wrong["dock_id"] = "dock-09"
        await listener.publish("dfr/v1/dock-01/cmd", json.dumps(wrong).encode())
        assert (await listener.ack_for(wrong["id"]))["code"] == "wrong_dock"
        await listener.publish("dfr/v1/dock-01/cmd", b"{not json")
        await listener.wait(
            lambda: any(m.json()["code"] == "malformed_json" for m in listener.of("ack")), 10
        )
        states = [State.model_validate_json(m.payload) for m in listener.of("state")]
        assert states and not states[-1].ready and states[-1].limits is not None
        assert states[-1].limits.max_range_m == config.limits.max_range_m
        events = listener.events()
        assert [e["type"] for e in events] == ["preflight_failed"]
        assert events[0]["incident_id"] == "INC-1"


async def test_a_command_is_carried_out_once_even_across_a_restart(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    config = edge_config(broker, tmp_path, vehicle={"connect_timeout_s": 0.5})
    ping = signed(command("ping"))
    async with running_agent(config):
        assert (await send(listener, ping))["code"] == "accepted"
    listener.messages.clear()
    async with running_agent(config):
        # the first run's ack may arrive once more (its outbox keeps it until the PUBACK)
        await listener.publish("dfr/v1/dock-01/cmd", json.dumps(ping).encode())

        def answers() -> list[str]:
            return [
                m.json()["code"] for m in listener.of("ack") if m.json()["cmd_id"] == ping["id"]
            ]

        await listener.wait(lambda: "replayed" in answers(), 15, "the replay refusal")
        assert set(answers()) <= {"accepted", "replayed"}
