"""A region of interest on the sim vehicle, as on PX4: the airframe yaws to face it, and
looks ahead again once it is cleared."""

from __future__ import annotations

import math

from mavsdk.plugins.mission_raw import MissionItem

from edge.flight.mavlink_enums import (
    MAV_CMD_DO_SET_ROI_LOCATION,
    MAV_CMD_DO_SET_ROI_NONE,
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
    truth = await vehicle.truth()
    here = LatLon(truth["lat"], truth["lon"])
    assert off_by(truth["heading_deg"], bearing_deg(here, SCENE)) < 5.0

    away = destination(HOME, 270.0, 200.0)
    await pilot.upload(raw(MissionPlan((LookAhead(), Waypoint(away, 15.0, 8.0)))))
    await pilot.start_mission()
    await heading_near(pilot, bearing_deg(above, away))  # west-south-west, the way it flies


def test_roi_by_command_is_taken_in_px4s_frame_only_and_roi_none_clears_it() -> None:
    bench = Bench(speed_factor=10.0)
    bench.send_param("MIS_TAKEOFF_ALT", 15.0)
    assert bench.arm() == 0
    assert bench.upload([waypoint(0, HOME.lat, HOME.lon, 15.0, p1=600.0)]) == 0
    bench.run(1.5)
    assert bench.set_mode(4, 4) == 0
    bench.run_until(lambda s: s.body.alt > 14.0, 60)
    x, y = round(SCENE.lat * 1e7), round(SCENE.lon * 1e7)
    refused = bench.command(
        MAV_CMD_DO_SET_ROI_LOCATION, frame=MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, x=x, y=y
    )
    assert refused == 9  # UNSUPPORTED_MAV_FRAME, as PX4 main answers
    assert bench.state.roi is None
    assert bench.command(MAV_CMD_DO_SET_ROI_LOCATION, frame=MAV_FRAME_GLOBAL_INT, x=x, y=y) == 0
    bench.run(2.0)  # 20 s simulated: time to turn
    assert off_by(math.degrees(bench.state.body.yaw), 90.0) < 2.0
    assert bench.command(MAV_CMD_DO_SET_ROI_LOCATION) == 2  # no place named: denied
    assert bench.command(MAV_CMD_DO_SET_ROI_NONE) == 0
    assert bench.state.roi is None
