"""Every injected fault, seen through MAVSDK as an edge would see it, with PX4's reaction."""

from __future__ import annotations

import pytest
from mavsdk.plugins.action import ActionError

from edge.geo import LatLon, destination, distance_m
from sim.mavsdk_pilot import Pilot, Waypoint, mission_items
from sim.vehicle import SimVehicleProcess, launch
from tests.sim.conftest import HOME, HOME_ALT

FAST = 20.0


def here(pos: object) -> LatLon:
    return LatLon(pos.latitude_deg, pos.longitude_deg)  # type: ignore[attr-defined]


async def fly_out(pilot: Pilot, bearing: float = 120.0, dist: float = 100.0) -> LatLon:
    """Start a one-leg mission at 15 m and return once the vehicle is on its way."""
    far = destination(HOME, bearing, dist)
    await pilot.upload(mission_items([Waypoint(far.lat, far.lon, 15.0, 10.0)]))
    await pilot.arm()
    await pilot.start_mission()
    await pilot.first(
        pilot.telemetry.subscribe_position(),
        lambda p: distance_m(here(p), HOME) > 40.0,
        what="on the way out",
    )
    return far


@pytest.fixture
async def fast_vehicle() -> SimVehicleProcess:  # type: ignore[misc]
    async with launch(home=(HOME.lat, HOME.lon, HOME_ALT), speed_factor=FAST) as v:
        yield v


@pytest.fixture
async def fast_pilot(fast_vehicle: SimVehicleProcess) -> Pilot:  # type: ignore[misc]
    async with Pilot(fast_vehicle.url, timeout_s=20) as p:
        await p.wait_healthy()
        yield p


async def test_link_loss_drops_mavsdk_and_nav_dll_act_brings_the_vehicle_home(
    fast_vehicle: SimVehicleProcess, fast_pilot: Pilot
) -> None:
    pilot = fast_pilot
    await pilot.call("param", pilot.param.set_param_int("NAV_DLL_ACT", 2))
    await pilot.call("param", pilot.param.set_param_int("COM_DL_LOSS_T", 2))
    await fly_out(pilot)
    await fast_vehicle.inject("link_loss:5")
    assert not await pilot.first(pilot.system.is_connected_state(), lambda c: not c)  # type: ignore[union-attr]
    truth = await fast_vehicle.truth()  # the control socket still works during the loss
    assert truth["mode"] == "RETURN_TO_LAUNCH" and truth["data_link_lost"]
    assert await pilot.first(pilot.system.is_connected_state(), lambda c: c)  # type: ignore[union-attr]
    await pilot.wait_landed_and_disarmed(timeout_s=60)
    truth = await fast_vehicle.truth()
    assert truth["home_dist_m"] < 1.0 and truth["mode"] == "HOLD"  # PX4's mode once disarmed


async def test_gps_loss_fails_health_refuses_arming_and_lands_in_flight(
    fast_vehicle: SimVehicleProcess, fast_pilot: Pilot
) -> None:
    pilot = fast_pilot
    await fast_vehicle.inject("gps_loss")
    health = await pilot.first(
        pilot.telemetry.subscribe_health(), lambda h: not h.is_global_position_ok
    )
    assert not health.is_local_position_ok
    with pytest.raises(ActionError):
        await pilot.arm()
    await fast_vehicle.clear("gps_loss")
    await pilot.wait_healthy()
    await fly_out(pilot)
    with pilot.status_texts() as texts:
        await fast_vehicle.inject("gps_loss")
        await pilot.expect_text(texts, "Failsafe activated")  # landing at once, as PX4 does
    await pilot.first(pilot.telemetry.subscribe_armed(), lambda a: not a, timeout_s=60)
    truth = await fast_vehicle.truth()
    assert truth["landed"] and truth["failsafe"] is None and truth["home_dist_m"] > 30.0


async def test_battery_sag_to_critical_holds_then_emergency_lands_with_com_low_bat_act_3(
    fast_vehicle: SimVehicleProcess, fast_pilot: Pilot
) -> None:
    pilot = fast_pilot
    await pilot.call("param", pilot.param.set_param_int("COM_LOW_BAT_ACT", 3))
    await fly_out(pilot)
    with pilot.status_texts() as texts:
        await fast_vehicle.inject("battery_sag", to_pct=6.0)
        await pilot.expect_text(texts, "Critical battery")
        await pilot.expect_text(texts, "entering Hold for 5 seconds")
        # draining on at 20x, it soon reaches BAT_EMERGEN_THR (5 %) and lands where it is
        await pilot.expect_text(texts, "Emergency battery level", timeout_s=20)
    battery = await pilot.first(
        pilot.telemetry.subscribe_battery(), lambda b: b.remaining_percent <= 5.0
    )
    assert battery.remaining_percent >= 0.0
    await pilot.wait_landed_and_disarmed(timeout_s=30)
    assert (await fast_vehicle.truth())["home_dist_m"] > 5.0  # came down short of home


async def test_a_fast_draining_battery_shows_in_mavsdk_battery_telemetry(
    fast_vehicle: SimVehicleProcess, fast_pilot: Pilot
) -> None:
    pilot = fast_pilot
    await pilot.arm()
    await pilot.takeoff(5.0)
    await pilot.wait_altitude(5.0)
    start = (await fast_vehicle.truth())["battery_pct"]
    await fast_vehicle.inject("battery_sag:drain=30")
    drained = await pilot.first(
        pilot.telemetry.subscribe_battery(), lambda b: b.remaining_percent < start - 10
    )
    assert drained.remaining_percent < start - 10


async def test_a_vehicle_started_refusing_to_arm_is_not_armable_until_the_fault_clears() -> None:
    async with (
        launch(speed_factor=FAST, faults=["refuse_arm"]) as vehicle,
        Pilot(vehicle.url, timeout_s=20) as pilot,
    ):
        health = await pilot.first(
            pilot.telemetry.subscribe_health(), lambda h: h.is_home_position_ok
        )
        assert not health.is_armable
        with pilot.status_texts() as texts:
            with pytest.raises(ActionError):
                await pilot.arm()
            await pilot.expect_text(texts, "Arming denied")
        await vehicle.clear("refuse_arm")
        await pilot.wait_healthy()
        await pilot.arm()
        assert (await vehicle.truth())["armed"]
