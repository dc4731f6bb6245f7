"""Whole sorties through the real broker, the sim vehicle and MAVSDK: dispatch to dock."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from edge.geo import LatLon, distance_m
from edge.protocol import State
from sim.broker import LocalBroker
from sim.vehicle import SimVehicleProcess
from tests.edge.conftest import Listener
from tests.edge.helpers import (
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


async def test_a_dispatch_flies_the_whole_sortie_and_reports_each_step_once_in_order(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with sim_vehicle() as vehicle, dock_with_vehicle(broker, listener, vehicle, tmp_path):
        ack = await send(listener, dispatch(near(1.0), incident="INC-7", duration_s=2))
        assert (ack["ok"], ack["code"]) == (True, "accepted") and ack["sortie_id"]
        await listener.event("ready", 120)
        events = listener.events()
        assert [e["type"] for e in events] == FULL_SORTIE
        assert len({e["id"] for e in events}) == len(events)
        assert {e["sortie_id"] for e in events[:-1]} == {ack["sortie_id"]}
        assert {e["incident_id"] for e in events[:-1]} == {"INC-7"}
        assert events[2]["detail"]["since_command_s"] < 5.0

        def phases() -> list[str]:
            return [State.model_validate_json(m.payload).phase for m in listener.of("state")]

        await listener.wait(lambda: phases()[-1] == "docked", 10, "state docked")
        for phase in ("preflight", "launching", "en_route", "on_scene", "returning", "landing"):
            assert phase in phases()
        flying = [m.json() for m in listener.of("telemetry") if m.json()["in_air"]]
        assert max(t["alt_rel_m"] for t in flying) > 35
        assert min(distance_m(LatLon(t["lat"], t["lon"]), near(1.0)) for t in flying) < 60
        await truth_at_home(vehicle)


@pytest.mark.parametrize(
    ("retask_in", "first_km", "second_km"), [("en_route", 1.2, 0.8), ("on_scene", 0.6, 1.0)]
)
async def test_a_retask_sends_the_drone_on_to_the_new_target(
    retask_in: str,
    first_km: float,
    second_km: float,
    broker: LocalBroker,
    listener: Listener,
    tmp_path: Path,
) -> None:
    """From on scene too, where the last mission's index must not pass for arrival."""
    second = near(second_km, bearing=170)

    def after_retask() -> list[str]:
        types = listener.event_types()
        return types[types.index("retasked") :] if "retasked" in types else []

    async with sim_vehicle() as vehicle, dock_with_vehicle(broker, listener, vehicle, tmp_path):
        await send(listener, dispatch(near(first_km), duration_s=60))
        await listener.event(retask_in, 60)
        body = {"target": {"lat": second.lat, "lon": second.lon}}
        ack = await send(listener, command("retask", body=body))
        assert ack["ok"], ack
        await listener.wait(lambda: "on_scene" in after_retask(), 90, "on scene again")
        truth = await vehicle.truth()
        assert distance_m(LatLon(truth["lat"], truth["lon"]), second) < 60
        await send(listener, command("recall"))
        await listener.event("docked", 90)
        types = listener.event_types()
        at = types.index("retasked")
        assert types[at - 1 : at + 3] == [retask_in, "retasked", "on_scene", "recalled"]
        await truth_at_home(vehicle)


async def test_a_recall_brings_it_home_and_a_second_dispatch_meanwhile_is_busy(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with sim_vehicle() as vehicle, dock_with_vehicle(broker, listener, vehicle, tmp_path):
        await send(listener, dispatch(near(1.5), duration_s=60))
        await listener.event("en_route", 30)
        busy = await send(listener, dispatch(near(0.5), incident="INC-2"))
        assert (busy["ok"], busy["code"]) == (False, "busy")
        assert (await send(listener, command("recall")))["ok"]
        await listener.event("ready", 60)
        types = listener.event_types()
        assert "on_scene" not in types
        rejected = types.index("rejected")
        assert types[rejected + 1 :] == ["recalled", "returning", *RETURN_HOME, "charging", "ready"]
        assert (await send(listener, command("recall")))["code"] == "not_flying"
        await truth_at_home(vehicle)


async def hovering(vehicle: SimVehicleProcess) -> dict[str, Any]:
    """The vehicle's ground truth once it has braked to a hover (checked every 0.2 s)."""
    for _ in range(100):
        truth = await vehicle.truth()
        if truth["ground_speed_mps"] < 0.2 and truth["mode"] == "HOLD":
            return truth
        await asyncio.sleep(0.2)
    raise AssertionError(f"vehicle never settled into a hover: {truth}")


async def test_abort_hold_hovers_where_it_is_until_abort_rtl_brings_it_home(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with sim_vehicle() as vehicle, dock_with_vehicle(broker, listener, vehicle, tmp_path):
        await send(listener, dispatch(near(1.5), duration_s=60))
        await listener.event("en_route", 30)
        assert (await send(listener, command("abort", body={"action": "hold"})))["ok"]
        await listener.event("aborted", 10)
        first = await hovering(vehicle)
        seen = len(listener.of("telemetry"))
        await listener.wait(lambda: len(listener.of("telemetry")) > seen + 4, 10, "telemetry")
        later = await vehicle.truth()
        moved = distance_m(LatLon(first["lat"], first["lon"]), LatLon(later["lat"], later["lon"]))
        assert moved < 5.0 and later["mode"] == "HOLD"
        assert (await send(listener, command("abort", body={"action": "rtl"})))["ok"]
        await listener.event("docked", 60)
        types = listener.event_types()
        assert types[types.index("en_route") + 1 :][:3] == ["aborted", "aborted", "returning"]
        await truth_at_home(vehicle)


async def test_abort_land_now_lands_where_it_is_and_the_dock_is_not_ready(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with (
        sim_vehicle() as vehicle,
        dock_with_vehicle(broker, listener, vehicle, tmp_path) as agent,
    ):
        await send(listener, dispatch(near(1.5), duration_s=60))
        await flown_out(listener, 300)
        assert (await send(listener, command("abort", body={"action": "land_now"})))["ok"]
        await listener.event("disarmed", 60)
        types = listener.event_types()
        assert types[types.index("en_route") + 1 :] == ["aborted", "landing", "landed", "disarmed"]
        truth = await vehicle.truth()
        assert truth["landed"] and distance_m(LatLon(truth["lat"], truth["lon"]), HOME) > 250
        state = agent.state()
        assert state.phase == "aborted" and not state.ready
        assert (await send(listener, command("recall")))["code"] == "not_flying"
        assert (await send(listener, dispatch(near(0.5))))["code"] == "busy"
