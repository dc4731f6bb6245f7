"""Ten sim vehicles at once, each flown through its own MAVSDK, all at full telemetry rate."""

from __future__ import annotations

import asyncio

from edge.geo import LatLon, destination, distance_m
from sim.mavsdk_pilot import Pilot, Waypoint, mission_items
from sim.vehicle import launch
from tests.sim.conftest import HOME, HOME_ALT

FLEET = 10


async def sortie(instance: int, results: dict[int, dict[str, float]]) -> None:
    """Out 80 m on a bearing of its own, back home, landed and disarmed."""
    target = destination(HOME, 36.0 * instance, 80.0)
    async with (
        launch(home=(HOME.lat, HOME.lon, HOME_ALT), speed_factor=20.0, instance=instance) as v,
        Pilot(v.url, timeout_s=60) as pilot,
    ):
        await pilot.wait_healthy()
        await pilot.upload(mission_items([Waypoint(target.lat, target.lon, 12.0, 10.0)]))
        await pilot.arm()
        await pilot.start_mission()
        await pilot.wait_mission_done()
        pos = await pilot.position()
        out = distance_m(LatLon(pos.latitude_deg, pos.longitude_deg), target)
        await pilot.call("rtl", pilot.action.return_to_launch())
        await pilot.wait_landed_and_disarmed(timeout_s=90)
        truth = await v.truth()
        results[instance] = {
            "off_target_m": out,
            "home_m": truth["home_dist_m"],
            "sysid": truth["sysid"],
            "garbage": truth["link"]["garbage"],
        }


async def test_ten_vehicles_fly_out_and_home_at_the_same_time() -> None:
    results: dict[int, dict[str, float]] = {}
    async with asyncio.TaskGroup() as tg:
        for instance in range(FLEET):
            tg.create_task(sortie(instance, results))
    assert sorted(results) == list(range(FLEET))
    assert sorted(r["sysid"] for r in results.values()) == list(range(1, FLEET + 1))
    for r in results.values():
        assert r["off_target_m"] < 3.0 and r["home_m"] < 1.0 and r["garbage"] == 0
