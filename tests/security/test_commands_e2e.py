"""In service: edge and dispatch on the TLS broker with their own credentials, and every forged,
replayed, expired or misaddressed command refused by a real edge whose vehicle never arms."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dispatch.config import load_settings
from edge.agent import EdgeAgent
from edge.protocol.signing import load_private_key
from sim.vehicle import SimVehicleProcess
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.edge.helpers import (
    command,
    dispatch,
    edge_config,
    near,
    running_agent,
    sim_dock,
    sim_vehicle,
)
from tests.keys import registered, signed
from tests.security.conftest import SecureBroker, observing


def secure_edge(
    broker: SecureBroker, vehicle: SimVehicleProcess, state_dir: Path, public_key: Path
) -> Any:
    """dock-01 in service: mqtts with its own password, and dispatch's key required."""
    config = edge_config(
        broker,  # type: ignore[arg-type]
        state_dir,
        vehicle_url=vehicle.url,
        mqtt=broker.edge_mqtt("dock-01"),
        signing={"public_key": public_key, "window_s": 300},
    )
    return running_agent(config, dock=sim_dock(vehicle))


@pytest.fixture
async def dock_in_service(
    secure_broker: SecureBroker, keys: tuple[Path, Path], tmp_path: Path
) -> AsyncIterator[tuple[EdgeAgent, SimVehicleProcess]]:
    async with (
        sim_vehicle() as vehicle,
        secure_edge(secure_broker, vehicle, tmp_path / "edge", keys[1]) as agent,
    ):
        yield agent, vehicle


def as_wire(cmd: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """``cmd`` as dispatch would send it, signed with ``key``."""
    return signed(cmd, key)


async def test_edge_and_dispatch_speak_only_tls_with_their_own_credentials(
    secure_broker: SecureBroker,
    dock_in_service: tuple[EdgeAgent, SimVehicleProcess],
    keys: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    agent, _ = dock_in_service
    settings = load_settings(
        None,
        **secure_broker.dispatch_settings(),
        db_url=f"sqlite:///{tmp_path / 'dispatch.db'}",
        signing_key=keys[0],
        log_format="text",
        docks=registered("dock-01"),
    )
    async with RunningDispatch(settings) as service:
        rt = service.runtime

        def seen_ready() -> bool:
            view = rt.fleet.get("dock-01")
            return bool(view and view.state and view.state.ready and view.telemetry)

        await wait_for(seen_ready, limit_s=30)
        ping = rt.commander.build("ping", "dock-01", None, 30)
        ack = await rt.commander.send(ping, actor="user:test", incident_id=None, wait_s=10)
        assert ack is not None and ack.ok, ack
    assert agent.link is not None and agent.link.broker.tls
    assert agent.link.config.url.startswith("mqtts://")


async def test_forged_replayed_expired_misaddressed_and_unsigned_commands_never_arm_the_vehicle(
    secure_broker: SecureBroker,
    dock_in_service: tuple[EdgeAgent, SimVehicleProcess],
    keys: tuple[Path, Path],
) -> None:
    agent, vehicle = dock_in_service
    real_key = load_private_key(keys[0])
    stolen_password_key = Ed25519PrivateKey.generate()  # broker password, but not the key
    now = datetime.now(UTC)
    target = near(1.0)
    tampered = as_wire(dispatch(target), real_key)
    tampered["body"]["target"]["lat"] += 0.01
    ping = as_wire(command("ping"), real_key)
    captured_long_ago = as_wire(
        dispatch(
            target,
            issued_at=(now - timedelta(minutes=20)).isoformat(),
            expires_at=(now + timedelta(days=1)).isoformat(),
        ),
        real_key,
    )
    expired = as_wire(
        dispatch(
            target,
            issued_at=(now - timedelta(seconds=90)).isoformat(),
            expires_at=(now - timedelta(seconds=30)).isoformat(),
        ),
        real_key,
    )
    cases = [
        (dispatch(target), "unsigned"),
        (as_wire(dispatch(target), stolen_password_key), "bad_signature"),
        (tampered, "bad_signature"),
        (ping, "accepted"),
        (ping, "replayed"),
        (captured_long_ago, "replayed"),
        (expired, "expired"),
        (as_wire(dispatch(target, dock_id="dock-02"), real_key), "wrong_dock"),
    ]
    await wait_for(lambda: agent.state().ready, limit_s=30)
    async with observing(secure_broker) as seen, secure_broker.client("dispatch") as attacker:
        codes = []
        for cmd, _ in cases:
            await attacker.publish("dfr/v1/dock-01/cmd", json.dumps(cmd).encode(), qos=1)
            await seen.wait(lambda: len(seen.acks()) > len(codes))
            codes.append(seen.acks()[-1]["code"])
        assert codes == [code for _, code in cases]
        assert all(a["cmd_id"] == c["id"] for a, (c, _) in zip(seen.acks(), cases, strict=True))
        assert seen.events() == []
    truth = await vehicle.truth()
    assert not truth["armed"] and truth["landed"] and truth["mission_count"] == 0
    assert truth["home_dist_m"] < 1.0 and truth["battery_used_wh"] == 0
    assert agent.dock.status().lid == "closed" and agent.machine.sortie_id is None
