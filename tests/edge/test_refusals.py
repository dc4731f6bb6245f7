"""Every refusal code from a running dock with its vehicle connected, over MQTT."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.geo import LatLon
from sim.broker import LocalBroker
from tests.edge.conftest import Listener
from tests.edge.helpers import (
    command,
    dispatch,
    dock_with_vehicle,
    near,
    send,
    sim_dock,
    sim_vehicle,
)
from tests.keys import signed as signed_by

TOWER_OF_LONDON = LatLon(51.5082, -0.0770)


async def test_a_dock_refuses_what_it_cannot_fly_with_the_reason_and_flies_nothing(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with sim_vehicle(battery_pct=97) as vehicle:
        dock = sim_dock(vehicle)
        async with dock_with_vehicle(broker, listener, vehicle, tmp_path, dock=dock) as agent:

            async def code(cmd: dict) -> str:  # type: ignore[type-arg]
                ack = await send(listener, cmd)
                assert not ack["ok"] and ack["reason"]
                return str(ack["code"])

            assert await code(dispatch(TOWER_OF_LONDON)) == "no_fly"
            assert await code(dispatch(near(7.5))) == "out_of_range"
            assert await code(dispatch(near(1.0), alt=110)) == "above_ceiling"
            assert await code(dispatch(near(5.5), duration_s=3600)) == "battery_low"
            dock.set_wind(15.0, 240)
            assert await code(dispatch(near(1.0))) == "wind_high"
            dock.set_wind(None)
            assert await code(dispatch(near(1.0))) == "dock_not_ready"
            dock.set_wind(3.0, 240)
            await dock.open_lid(5)
            assert await code(dispatch(near(1.0))) == "dock_not_ready"
            await dock.close_lid(5)
            await vehicle.inject("refuse_arm")
            await listener.wait(lambda: not agent.vehicle.state.armable, 10, "pre-arm failure")
            assert await code(dispatch(near(1.0))) == "vehicle_not_ready"
            await vehicle.clear()
            await listener.wait(lambda: agent.state().ready, 10, "ready again")
            for kind, body in (("recall", {}), ("abort", {"action": "rtl"})):
                assert await code(command(kind, body=body)) == "not_flying"
            retask = {"target": {"lat": 51.5, "lon": -0.1}}
            assert await code(command("retask", body=retask)) == "not_flying"
            assert await code(command("launch")) == "unknown_type"
        truth = await vehicle.truth()
        assert not truth["armed"] and truth["landed"]
        failed = [e for e in listener.events() if e["type"] == "preflight_failed"]
        assert len(failed) == 8 and all(e["detail"]["failures"] for e in failed)


async def test_with_a_dispatch_key_configured_only_signed_fresh_commands_count(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    key = Ed25519PrivateKey.generate()
    pem = tmp_path / "dispatch.pub"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    async with (
        sim_vehicle() as vehicle,
        dock_with_vehicle(
            broker, listener, vehicle, tmp_path, signing={"public_key": pem, "window_s": 60}
        ),
    ):

        def signed(cmd: dict) -> dict:  # type: ignore[type-arg]
            return signed_by(cmd, key)

        assert (await send(listener, command("ping"), sign=False))["code"] == "unsigned"
        forged = signed(command("ping"))
        forged["body"] = {"extra": 1}
        forged["type"] = "recall"
        assert (await send(listener, forged))["code"] == "bad_signature"
        ping = signed(command("ping"))
        assert (await send(listener, ping))["code"] == "accepted"
        listener.messages.clear()
        assert (await send(listener, ping))["code"] == "replayed"
        old = signed(
            command("ping", issued_at="2026-01-01T00:00:00Z", expires_at="2099-01-01T00:00:00Z")
        )
        assert (await send(listener, old))["code"] == "replayed"


async def test_an_arm_refused_after_preflight_calls_the_launch_off_and_closes_the_lid(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with sim_vehicle() as vehicle:
        dock = sim_dock(vehicle, lid_time_s=2.0)
        async with dock_with_vehicle(broker, listener, vehicle, tmp_path, dock=dock) as agent:
            assert (await send(listener, dispatch(near(1.0))))["ok"]
            await vehicle.inject("refuse_arm")  # while the lid is still opening
            failed = await listener.event("preflight_failed", 30)
            assert "arm" in failed["detail"]["reason"]
            assert listener.event_types() == [
                "accepted",
                "lid_open",
                "lid_closed",
                "preflight_failed",
            ]
            assert dock.status().lid == "closed"
            assert agent.machine.phase == "docked" and agent.machine.sortie_id is None
        truth = await vehicle.truth()
        assert not truth["armed"] and truth["landed"]
