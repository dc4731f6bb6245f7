"""A region of interest on the sim vehicle, as on PX4: the airframe yaws to face it, and
looks ahead again once it is cleared; the ROI and gimbal commands answered as PX4 SIH answers
them (measured on PX4 main of 2026-08-13, bb59c637)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from typing import Any

from mavsdk.asyncio.plugins.gimbal import (
    ControlMode,
    GimbalAsync,
    GimbalError,
    GimbalMode,
    SendMode,
)
from mavsdk.plugins.mission_raw import MissionItem

from edge.flight.mavlink_enums import (
    MAV_CMD_DO_GIMBAL_MANAGER_CONFIGURE,
    MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
    MAV_CMD_DO_MOUNT_CONFIGURE,
    MAV_CMD_DO_MOUNT_CONTROL,
    MAV_CMD_DO_SET_ROI_LOCATION,
    MAV_CMD_DO_SET_ROI_NONE,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_REQUEST_MESSAGE,
    MAV_FRAME_GLOBAL,
    MAV_FRAME_GLOBAL_INT,
    MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
)
from edge.flight.mission import Loiter, LookAhead, LookAt, MissionPlan, Waypoint
from edge.geo import LatLon, bearing_deg, destination
from sim.mavsdk_pilot import Pilot
from sim.vehicle import SimVehicleProcess
from tests.sim.conftest import HOME
from tests.sim.harness import Bench, waypoint

SCENE = destination(HOME, 90.0, 80.0)


def off_by(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def raw(plan: MissionPlan) -> list[MissionItem]:
    return [
        MissionItem(
            i,
            it.frame,
            it.command,
            int(i == 0),
            it.autocontinue,
            it.param1,
            it.param2,
            it.param3,
            it.param4,
            it.x,
            it.y,
            it.z,
            0,
        )
        for i, it in enumerate(plan.items())
    ]


async def heading_near(pilot: Pilot, want_deg: float, within: float = 4.0) -> float:
    """The first heading MAVSDK reports within ``within`` degrees of ``want_deg``."""
    found = await pilot.first(
        pilot.telemetry.subscribe_heading(),
        lambda h: off_by(h.heading_deg, want_deg) <= within,
        30.0,
        f"heading {want_deg:.0f}",
    )
    return float(found.heading_deg)


async def test_a_mission_roi_turns_the_hovering_airframe_to_face_it_and_clearing_it_looks_ahead(
    vehicle: SimVehicleProcess, pilot: Pilot
) -> None:
    above = destination(HOME, 0.0, 30.0)
    plan = MissionPlan(
        (Waypoint(above, 15.0, 8.0), LookAt(SCENE), Loiter(above, 15.0, 600.0)),
    )
    await pilot.upload(raw(plan))
    await pilot.arm()
    await pilot.start_mission()
    await pilot.wait_altitude(15.0, tol_m=1.0, timeout_s=30)
    await heading_near(pilot, bearing_deg(above, SCENE))
    for _ in range(150):  # settling over the waypoint, it keeps facing the scene
        truth = await vehicle.truth()
        here = LatLon(truth["lat"], truth["lon"])
        if off_by(truth["heading_deg"], bearing_deg(here, SCENE)) < 5.0:
            break
        await asyncio.sleep(0.2)
    assert off_by(truth["heading_deg"], bearing_deg(here, SCENE)) < 5.0

    away = destination(HOME, 270.0, 200.0)
    await pilot.upload(raw(MissionPlan((LookAhead(), Waypoint(away, 15.0, 8.0)))))
    await pilot.start_mission()
    await heading_near(pilot, bearing_deg(above, away))  # west-south-west, the way it flies


def test_roi_by_command_is_taken_in_any_frame_and_roi_none_clears_it() -> None:
    """PX4 main (2026-08-13) acknowledges DO_SET_ROI_LOCATION as COMMAND_INT in frames 0, 3, 6
    and 5 alike and as COMMAND_LONG; the mission then faces it."""
    bench = Bench(speed_factor=10.0)
    bench.send_param("MIS_TAKEOFF_ALT", 15.0)
    assert bench.arm() == 0
    assert bench.upload([waypoint(0, HOME.lat, HOME.lon, 15.0, p1=600.0)]) == 0
    bench.run(1.5)
    assert bench.set_mode(4, 4) == 0
    bench.run_until(lambda s: s.body.alt > 14.0, 60)
    x, y = round(SCENE.lat * 1e7), round(SCENE.lon * 1e7)
    for frame in (MAV_FRAME_GLOBAL, MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, MAV_FRAME_GLOBAL_INT):
        assert bench.command(MAV_CMD_DO_SET_ROI_LOCATION, frame=frame, x=x, y=y) == 0
    bench.run(2.0)  # 20 s simulated: time to turn
    assert off_by(math.degrees(bench.state.body.yaw), 90.0) < 2.0
    assert bench.command(MAV_CMD_DO_SET_ROI_LOCATION) == 2  # no place named: denied
    assert bench.command(MAV_CMD_DO_SET_ROI_NONE) == 0
    assert bench.state.roi is None
    assert bench.command(MAV_CMD_DO_SET_ROI_LOCATION, 0, 0, 0, 0, SCENE.lat, SCENE.lon, 0.0) == 0


def test_roi_by_command_in_px4_of_2026_02_to_05_only_in_global_int() -> None:
    bench = Bench(frame_rule="global_int_only")
    x, y = round(SCENE.lat * 1e7), round(SCENE.lon * 1e7)
    refused = bench.command(
        MAV_CMD_DO_SET_ROI_LOCATION, frame=MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, x=x, y=y
    )
    assert refused == 9  # UNSUPPORTED_MAV_FRAME
    assert bench.state.roi is None
    assert bench.command(MAV_CMD_DO_SET_ROI_LOCATION, frame=MAV_FRAME_GLOBAL_INT, x=x, y=y) == 0


def test_in_hold_a_roi_turns_nothing_and_gimbal_commands_go_unanswered_as_on_px4_sih() -> None:
    """PX4 SIH has no gimbal: its commander leaves the gimbal and mount commands to a gimbal
    module that does not run, so none is answered, and no gimbal manager is announced."""
    bench = Bench(speed_factor=10.0)
    bench.send_param("MIS_TAKEOFF_ALT", 15.0)
    assert bench.arm() == 0
    bench.command(MAV_CMD_NAV_TAKEOFF, *([math.nan] * 7))
    bench.run_until(lambda s: s.mode.value == "HOLD" and s.body.alt > 14.0, 60)
    yaw = math.degrees(bench.state.body.yaw)
    x, y = round(SCENE.lat * 1e7), round(SCENE.lon * 1e7)
    assert bench.command(MAV_CMD_DO_SET_ROI_LOCATION, frame=MAV_FRAME_GLOBAL_INT, x=x, y=y) == 0
    bench.run(1.0)
    assert off_by(math.degrees(bench.state.body.yaw), yaw) < 1.0  # hold keeps its heading
    for gimbal in (
        MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
        MAV_CMD_DO_GIMBAL_MANAGER_CONFIGURE,
        MAV_CMD_DO_MOUNT_CONTROL,
        MAV_CMD_DO_MOUNT_CONFIGURE,
    ):
        assert bench.answers(gimbal, -30.0, 0.0) == []  # no COMMAND_ACK at all
    assert bench.command(MAV_CMD_REQUEST_MESSAGE, 280) == 2  # GIMBAL_MANAGER_INFORMATION: denied
    assert not [m for m in bench.received if "GIMBAL" in m.get_type()]


async def test_mavsdk_gimbal_plugin_gets_what_px4_sih_gives_it(pilot: Pilot) -> None:
    """MAVSDK 4.1's gimbal plugin against PX4 main of 2026-08-13 (SIH): no gimbal listed;
    for gimbal 0 (all) control and angles time out unanswered, the ROI (sent as
    DO_SET_ROI_LOCATION) succeeds; any other id is refused by MAVSDK itself."""
    assert pilot.system is not None
    gimbal = GimbalAsync(pilot.system)
    assert (await gimbal.gimbal_list()).gimbals == []

    async def result(call: Awaitable[Any]) -> str:
        try:
            await call
        except GimbalError as exc:
            return str(exc).split(";")[0]
        return "SUCCESS"

    assert await result(gimbal.take_control(0, ControlMode.PRIMARY)) == "TIMEOUT"
    yaw_follow, once = GimbalMode.YAW_FOLLOW, SendMode.ONCE
    assert await result(gimbal.set_angles(0, 0.0, -30.0, 0.0, yaw_follow, once)) == "TIMEOUT"
    assert await result(gimbal.set_roi_location(0, SCENE.lat, SCENE.lon, 489.4)) == "SUCCESS"
    assert await result(gimbal.set_roi_location(1, SCENE.lat, SCENE.lon, 489.4)) == (
        "INVALID_ARGUMENT"
    )
