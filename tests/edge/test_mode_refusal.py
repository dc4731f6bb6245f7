"""A mission started right after its upload: PX4 main refuses it at once ("Switching to Mission
is currently not available", TEMPORARILY_REJECTED), PX4 before 2026-05 acknowledged it and
refused it a moment later. The edge sends the start again in both cases until mission mode is
seen."""

from __future__ import annotations

import pytest

from edge.config import VehicleConfig
from edge.flight.mavsdk_vehicle import MavsdkVehicle
from edge.flight.mission import MissionPlan, Waypoint
from edge.flight.vehicle import FlightMode
from edge.geo import LatLon, destination
from sim.vehicle import launch

HOME = LatLon(47.397742, 8.545594)
pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("rule", ["any_frame", "global_int_only"])
async def test_the_edge_starts_a_fresh_mission_through_px4s_refusal(rule: str) -> None:
    async with (
        # PX4 refuses for a few tens of milliseconds; a longer window makes the refusal certain
        launch(
            home=(HOME.lat, HOME.lon, 489.4),
            speed_factor=5.0,
            mission_start_delay_s=1.0,
            frame_rule=rule,
        ) as sim,
        MavsdkVehicle(VehicleConfig(url=sim.url, mode_timeout_s=10.0)) as vehicle,
    ):
        await vehicle.wait_for(lambda s: s.connected and s.armable, timeout_s=60, what="ready")
        point = destination(HOME, 45.0, 60.0)
        await vehicle.upload(MissionPlan((Waypoint(point, 10.0, 5.0),)))
        await vehicle.arm()
        await vehicle.start_mission()
        assert vehicle.state.flight_mode == FlightMode.MISSION
        assert (await sim.truth())["mode"] == "MISSION"
