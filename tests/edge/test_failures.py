"""Failures in flight: broker outage, MAVLink loss, battery sag, the edge itself killed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sim.broker import LocalBroker
from tests.edge.conftest import Listener
from tests.edge.helpers import (
    CONFIGS,
    FULL_SORTIE,
    HOME,
    RETURN_HOME,
    command,
    dispatch,
    dock_with_vehicle,
    flown_out,
    near,
    send,
    sim_vehicle,
    truth_at_home,
)
from tests.keys import signing_env


async def test_a_broker_outage_in_transit_loses_no_event_and_repeats_none(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with (
        sim_vehicle() as vehicle,
        dock_with_vehicle(broker, listener, vehicle, tmp_path) as agent,
    ):
        await send(listener, dispatch(near(1.5), duration_s=2))
        await listener.event("en_route", 30)
        await asyncio.sleep(0.5)  # let the listener's PUBACKs land: else the broker redelivers
        await broker.stop()
        await agent.vehicle.wait_for(  # re-checked on every telemetry update
            lambda _: agent.machine.phase == "on_scene", timeout_s=60, what="on scene, unseen"
        )
        assert agent.link is not None and not agent.link.connected.is_set()
        assert len(agent.outbox) >= 1
        await broker.start()
        await listener.event("ready", 120)
        events = listener.events()
        assert [e["type"] for e in events] == FULL_SORTIE
        assert len({e["id"] for e in events}) == len(events)
        await truth_at_home(vehicle)


async def test_a_mavlink_outage_raises_failsafe_events_and_the_vehicle_comes_home(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with sim_vehicle() as vehicle, dock_with_vehicle(broker, listener, vehicle, tmp_path):
        await send(listener, dispatch(near(1.5), duration_s=60))
        await flown_out(listener, 300)
        await vehicle.inject("link_loss:14")  # longer than COM_DL_LOSS_T: PX4 returns
        lost = await listener.event("vehicle_link_lost", 15)
        restored = await listener.event("vehicle_link_restored", 30)
        assert restored["detail"]["down_s"] >= lost["detail"]["silent_s"]
        failsafe = await listener.event("failsafe", 30)
        assert failsafe["detail"]["reason"] in ("autopilot_mode", "vehicle_link_lost")
        await listener.event("docked", 120)
        types = listener.event_types()
        assert "on_scene" not in types and types[-len(RETURN_HOME) :] == RETURN_HOME
        await truth_at_home(vehicle)


async def test_a_battery_sag_in_transit_turns_the_sortie_home(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with sim_vehicle() as vehicle, dock_with_vehicle(broker, listener, vehicle, tmp_path):
        await send(listener, dispatch(near(1.5), duration_s=60))
        await flown_out(listener, 300)
        await vehicle.inject("battery_sag", to_pct=22)
        failsafe = await listener.event("failsafe", 30)
        assert failsafe["detail"]["reason"] in ("battery_low", "autopilot_mode")
        await listener.event("docked", 120)
        types = listener.event_types()
        assert types[types.index("failsafe") + 1] == "returning"
        assert "on_scene" not in types
        await truth_at_home(vehicle)


async def _edge_process(config: Path, state_dir: Path, broker: LocalBroker, vehicle_url: str):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "OUTRIDER_DOCK__HARDWARE__LID_TIME_S": "0.3",
        "OUTRIDER_FLIGHT__TRANSIT_ALT_M": "40",
        "OUTRIDER_FLIGHT__CRUISE_MPS": "12",
        "OUTRIDER_DOCK__READY_PCT": "90",
        **signing_env("dock-01"),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "outrider", "edge", "--config", str(config),
        "--mqtt", broker.url, "--vehicle", vehicle_url, "--state-dir", str(state_dir),
        env=env, stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def test_an_edge_killed_in_transit_is_restarted_and_brings_the_vehicle_home(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    config = CONFIGS / "dock-01.toml"
    async with sim_vehicle() as vehicle:
        edge = await _edge_process(config, tmp_path, broker, vehicle.url)
        try:
            await listener.wait(
                lambda: any(m.json()["ready"] for m in listener.of("state")), 60, "ready"
            )
            ack = await send(listener, dispatch(near(1.5), duration_s=60))
            assert ack["ok"], ack
            await flown_out(listener, 300)
            edge.send_signal(signal.SIGKILL)
            await edge.wait()
            await listener.wait(
                lambda: listener.of("availability")[-1].payload == b"offline", 30, "last will"
            )
            truth = await vehicle.truth()
            assert truth["armed"] and not truth["landed"]
            edge = await _edge_process(config, tmp_path, broker, vehicle.url)
            resumed = await listener.event("resumed", 60)
            assert (
                resumed["sortie_id"] == ack["sortie_id"]
                and resumed["detail"]["found"] == "airborne"
            )
            await listener.event("docked", 120)
            types = listener.event_types()
            after = types[types.index("resumed") + 1 :]
            assert after[-len(RETURN_HOME) :] == RETURN_HOME and "returning" in after
            await truth_at_home(vehicle, HOME)
        finally:
            if edge.returncode is None:
                edge.send_signal(signal.SIGTERM)
                await asyncio.wait_for(edge.wait(), 20)


async def test_a_bug_in_a_flight_leg_becomes_a_failsafe_and_the_vehicle_comes_home(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with (
        sim_vehicle() as vehicle,
        dock_with_vehicle(broker, listener, vehicle, tmp_path) as agent,
    ):

        async def broken() -> None:
            raise ZeroDivisionError("division by zero")

        assert agent.runner is not None
        agent.runner.pilot._fly_on_scene = broken  # type: ignore[method-assign]
        await send(listener, dispatch(near(1.0), duration_s=30))
        failsafe = await listener.event("failsafe", 120)
        assert failsafe["detail"]["reason"] == "leg_error"
        assert "ZeroDivisionError" in failsafe["detail"]["error"]
        await listener.event("docked", 120)
        assert listener.event_types()[-len(RETURN_HOME) :] == RETURN_HOME
        await truth_at_home(vehicle)
        ping = await send(listener, command("ping"))
        assert ping["ok"], ping
