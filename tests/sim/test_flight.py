"""Flying the sim vehicle through real MAVSDK: the calls an edge makes, answered as PX4 does."""

from __future__ import annotations

import asyncio

import pytest
from mavsdk.plugins.action import ActionError
from mavsdk.plugins.mission_raw import MissionRawError

from edge.geo import LatLon, destination, distance_m
from sim.mavsdk_pilot import Pilot, Waypoint, mission_items
from sim.vehicle import SimVehicleProcess, launch
from tests.sim.conftest import HOME, HOME_ALT, SPEED


def here(pos: object) -> LatLon:
    return LatLon(pos.latitude_deg, pos.longitude_deg)  # type: ignore[attr-defined]


async def test_mavsdk_connects_sees_px4_and_reports_health_ok(
    vehicle: SimVehicleProcess, pilot: Pilot
) -> None:
    assert (await pilot.system.autopilot_type()).name == "PX4"  # type: ignore[union-attr]
    health = await pilot.first(pilot.telemetry.subscribe_health())
    assert health.is_global_position_ok and health.is_home_position_ok and health.is_armable
    home = await pilot.first(pilot.telemetry.subscribe_home())
    assert distance_m(LatLon(home.latitude_deg, home.longitude_deg), HOME) < 0.5
    assert abs(home.absolute_altitude_m - HOME_ALT) < 0.1
    mode = await pilot.first(pilot.telemetry.subscribe_flight_mode())
    assert mode.name == "HOLD"
    assert not await pilot.first(pilot.telemetry.subscribe_armed())


async def test_armed_vehicle_takes_off_to_the_set_altitude_and_holds_over_home(
    vehicle: SimVehicleProcess, pilot: Pilot
) -> None:
    await pilot.call("rate", pilot.telemetry.set_rate_landed_state(10.0))
    await pilot.arm()
    with pilot.collect(pilot.telemetry, "landed_state") as states:
        await pilot.takeoff(15.0)
        await pilot.expect(states, lambda s: s.name == "TAKING_OFF")
        await pilot.expect(states, lambda s: s.name == "IN_AIR")
    await pilot.wait_mode("HOLD", timeout_s=30)
    pos = await pilot.wait_altitude(15.0, tol_m=1.0)
    assert distance_m(here(pos), HOME) < 1.0
    assert await pilot.first(pilot.telemetry.subscribe_in_air(), lambda v: v)
    truth = await vehicle.truth()
    assert truth["armed"] and abs(truth["alt_rel_m"] - 15.0) < 1.0


async def test_three_waypoint_mission_reports_progress_and_ends_over_the_last_point(
    vehicle: SimVehicleProcess, pilot: Pilot
) -> None:
    route = [destination(HOME, b, d) for b, d in ((0, 120), (90, 160), (150, 200))]
    items = mission_items([Waypoint(p.lat, p.lon, 20.0, 12.0) for p in route])
    await pilot.upload(items)
    await pilot.arm()
    seen: list[int] = []
    with pilot.collect(pilot.mission, "mission_progress") as progress:
        await pilot.start_mission()
        while not seen or seen[-1] < len(items):
            update = await pilot.expect(progress, lambda p: p.current not in seen)
            seen.append(update.current)
    assert seen[0] <= 1 and seen[-1] == len(items)
    assert {2, 4} <= set(seen)  # each waypoint follows its DO_CHANGE_SPEED
    pos = await pilot.position()
    assert distance_m(here(pos), route[-1]) < 5.0
    assert abs(pos.relative_altitude_m - 20.0) < 1.5
    assert await pilot.call("finished", pilot.mission.is_mission_finished())


@pytest.mark.parametrize("rule", ["any_frame", "global_int_only"])
async def test_mission_start_right_after_upload_is_refused_like_px4(rule: str) -> None:
    async with (
        # PX4 refuses for a few tens of milliseconds; a longer window keeps this test certain
        launch(speed_factor=SPEED, mission_start_delay_s=1.0, frame_rule=rule) as vehicle,
        Pilot(vehicle.url, timeout_s=20) as pilot,
    ):
        await pilot.wait_healthy()
        await _start_right_after_upload(vehicle, pilot, acked_first=rule != "any_frame")


async def _start_right_after_upload(
    vehicle: SimVehicleProcess, pilot: Pilot, *, acked_first: bool
) -> None:
    point = destination(HOME, 45, 100)
    await pilot.upload(mission_items([Waypoint(point.lat, point.lon, 10.0)]))
    await pilot.arm()
    with pilot.status_texts() as texts:
        start = pilot.call("start", pilot.mission.start_mission())
        if acked_first:  # PX4 before 2026-05: MAVSDK reports success...
            await start
        else:  # PX4 main refuses at once
            with pytest.raises(MissionRawError):
                await start
        text = await pilot.expect_text(texts, "not available")
    assert "Mission" in text  # ...and PX4 says why
    assert (await vehicle.truth())["mode"] == "HOLD"
    assert await pilot.start_mission() >= 1  # a later start engages the mission
    assert (await vehicle.truth())["mode"] == "MISSION"


async def test_goto_is_refused_for_its_frame_like_px4_of_2026_02_to_05() -> None:
    async with (
        launch(
            home=(HOME.lat, HOME.lon, HOME_ALT), speed_factor=SPEED, frame_rule="global_int_only"
        ) as vehicle,
        Pilot(vehicle.url, timeout_s=20) as pilot,
    ):
        await pilot.wait_healthy()
        await pilot.arm()
        await pilot.takeoff(10.0)
        await pilot.wait_altitude(10.0)
        target = destination(HOME, 90, 50)
        with pytest.raises(ActionError):
            await pilot.call(
                "goto", pilot.action.goto_location(target.lat, target.lon, HOME_ALT + 10, 0)
            )
        truth = await vehicle.truth()
        assert truth["home_dist_m"] < 1.0  # it did not move


@pytest.mark.parametrize("rule", ["any_frame", "any_global"])  # PX4 main, and before 2026-02
async def test_goto_and_orbit_fly_where_the_frame_rule_allows_them(rule: str) -> None:
    async with (
        launch(home=(HOME.lat, HOME.lon, HOME_ALT), speed_factor=SPEED, frame_rule=rule) as vehicle,
        Pilot(vehicle.url, timeout_s=20) as pilot,
    ):
        await pilot.wait_healthy()
        await pilot.arm()
        await pilot.takeoff(10.0)
        await pilot.wait_altitude(10.0)
        target = destination(HOME, 90, 80)
        await pilot.call(
            "goto", pilot.action.goto_location(target.lat, target.lon, HOME_ALT + 15, 0)
        )
        pos = await pilot.first(
            pilot.telemetry.subscribe_position(),
            lambda p: distance_m(here(p), target) < 1.0 and abs(p.relative_altitude_m - 15) < 1,
            what="goto target",
        )
        assert pos is not None
        centre = destination(HOME, 0, 60)
        await pilot.call(
            "orbit",
            pilot.action.do_orbit(25.0, 5.0, 0, centre.lat, centre.lon, HOME_ALT + 15),
        )
        await pilot.wait_mode("POSCTL", timeout_s=5)
        radii = []
        async for p in pilot.telemetry.subscribe_position():
            radii.append(distance_m(here(p), centre))
            if len(radii) > 150:
                break
        on_circle = radii[-50:]
        assert max(on_circle) - min(on_circle) < 3.0
        assert abs(sum(on_circle) / len(on_circle) - 25.0) < 2.0


async def test_rtl_climbs_flies_home_lands_and_disarms_itself(
    vehicle: SimVehicleProcess, pilot: Pilot
) -> None:
    point = destination(HOME, 200, 120)
    await pilot.upload(mission_items([Waypoint(point.lat, point.lon, 12.0, 12.0)]))
    await pilot.arm()
    await pilot.start_mission()
    await pilot.wait_mission_done()
    with pilot.collect(pilot.telemetry, "position") as positions:
        await pilot.call("rtl", pilot.action.return_to_launch())
        peak = await pilot.expect(positions, lambda p: p.relative_altitude_m > 29.0)
    # climbed to RTL_RETURN_ALT (30 m) before heading home
    assert distance_m(here(peak), HOME) > 110
    await pilot.wait_mode("RETURN_TO_LAUNCH", timeout_s=5)
    await pilot.wait_landed_and_disarmed(timeout_s=60)
    pos = await pilot.position()
    assert distance_m(here(pos), HOME) < 1.0
    assert pos.relative_altitude_m < 0.3


async def test_land_command_descends_where_it_is_and_disarms(
    vehicle: SimVehicleProcess, pilot: Pilot
) -> None:
    await pilot.arm()
    await pilot.takeoff(8.0)
    await pilot.wait_altitude(8.0)
    await pilot.land()
    await pilot.wait_mode("LAND", timeout_s=5)
    await pilot.wait_landed_and_disarmed(timeout_s=30)
    truth = await vehicle.truth()
    assert truth["landed"] and not truth["armed"] and truth["home_dist_m"] < 1.0


async def test_an_armed_vehicle_left_on_the_ground_disarms_after_com_disarm_prflt(
    vehicle: SimVehicleProcess, pilot: Pilot
) -> None:
    await pilot.call("param", pilot.param.set_param_float("COM_DISARM_PRFLT", 2.0))
    await pilot.arm()
    await pilot.first(pilot.telemetry.subscribe_armed(), lambda v: v)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await pilot.first(pilot.telemetry.subscribe_armed(), lambda v: not v, timeout_s=10)
    assert 1.5 < loop.time() - start < 5.0  # wall-clock seconds, whatever the speed factor
