"""MAVSDK flight scenarios that run alike against PX4 SITL and the sim vehicle, and what they saw.

Each scenario flies through a :class:`~sim.mavsdk_pilot.Pilot` only (no ground truth), so the
same code measures both autopilots; the result is a dict of observations to compare.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mavsdk.plugins.action import ActionError

from edge.geo import LatLon, destination, distance_m
from sim.mavsdk_pilot import Pilot, Waypoint, mission_items

Observed = dict[str, Any]
Scenario = Callable[[Pilot, LatLon], Awaitable[Observed]]


def here(pos: Any) -> LatLon:
    return LatLon(pos.latitude_deg, pos.longitude_deg)


async def _texts_during(pilot: Pilot, action: Awaitable[Any], settle_s: float) -> list[str]:
    with pilot.status_texts() as queue:
        await action
        await asyncio.sleep(settle_s)  # collect what the autopilot says afterwards
        texts = []
        while not queue.empty():
            texts.append(queue.get_nowait().text.strip())
    return texts


async def takeoff_and_hold(pilot: Pilot, home: LatLon) -> Observed:
    """Arm, take off to 10 m, time it, and see hold."""
    await pilot.arm()
    start = time.monotonic()
    await pilot.takeoff(10.0)
    pos = await pilot.wait_altitude(10.0, tol_m=0.8, timeout_s=60)
    took = time.monotonic() - start
    await pilot.wait_mode("HOLD", timeout_s=10)
    return {
        "takeoff_s": took,
        "offset_m": distance_m(here(pos), home),
        "in_air": await pilot.call("in air", pilot.telemetry.in_air()),
    }


async def mission_and_return(pilot: Pilot, home: LatLon) -> Observed:
    """Three waypoints out and round at 25 m, then RTL, landing and disarm."""
    legs = [destination(home, b, d) for b, d in ((0.0, 80.0), (60.0, 120.0), (120.0, 90.0))]
    items = mission_items([Waypoint(p.lat, p.lon, 25.0, 8.0) for p in legs])
    await pilot.upload(items)
    await pilot.arm()
    await asyncio.sleep(0.5)  # past PX4's check of a fresh mission
    start = time.monotonic()
    seen: list[int] = []
    with pilot.collect(pilot.mission, "mission_progress") as progress:
        await pilot.start_mission()
        while not seen or seen[-1] < len(items):
            update = await pilot.expect(progress, lambda p: p.current not in seen, 300)
            seen.append(update.current)
    mission_s = time.monotonic() - start
    pos = await pilot.position()
    await pilot.wait_mode("HOLD", timeout_s=10)  # PX4 loiters once a mission is done
    start = time.monotonic()
    with pilot.collect(pilot.telemetry, "position") as positions:
        await pilot.call("rtl", pilot.action.return_to_launch())
        peak = await pilot.expect(positions, lambda p: p.relative_altitude_m > 29.0, 120)
    await pilot.wait_landed_and_disarmed(timeout_s=300)
    rtl_s = time.monotonic() - start
    landed = await pilot.position()
    mode = await pilot.first(pilot.telemetry.subscribe_flight_mode())
    return {
        "progress_reaches_end": seen[-1] == len(items),
        "mission_s": mission_s,
        "last_waypoint_m": distance_m(here(pos), legs[-1]),
        "rtl_climbed_before_home_m": distance_m(here(peak), home),
        "rtl_s": rtl_s,
        "landed_from_home_m": distance_m(here(landed), home),
        "mode_after": mode.name,
    }


async def refusals(pilot: Pilot, home: LatLon) -> Observed:
    """Goto in MAVSDK 4.1.0's frame (0) is taken by PX4 main since 2026-05 (refused from 2026-02
    to 05); a mission started a moment after its upload is taken (started within ~20 ms it is
    refused, but that race is PX4's own)."""
    target = destination(home, 90.0, 30.0)
    await pilot.arm()
    await pilot.upload(mission_items([Waypoint(target.lat, target.lon, 10.0)]))
    await asyncio.sleep(0.5)
    texts = await _texts_during(pilot, pilot.call("start", pilot.mission.start_mission()), 2.0)
    mode = await pilot.first(pilot.telemetry.subscribe_flight_mode())
    goto = "accepted"
    try:
        await pilot.call(
            "goto", pilot.action.goto_location(target.lat, target.lon, math.nan, math.nan)
        )
    except ActionError as exc:
        goto = exc.result.name
    return {
        "start_refused_text": any("not available" in t for t in texts),
        "says_executing": any("Executing Mission" in t for t in texts),
        "mode_after_start": mode.name,
        "goto": goto,
    }


async def land_here(pilot: Pilot, home: LatLon) -> Observed:
    """Take off to 8 m, land where it is, and time the landing and the disarm.

    The landing is commanded once the take-off is done (hold): PX4's commander forces hold
    when a take-off completes, and a LAND arriving in that moment is overridden (PX4 then
    hovers at 8 m, having said "Landing at current position")."""
    await pilot.arm()
    await pilot.takeoff(8.0)
    await pilot.wait_altitude(8.0, tol_m=0.8, timeout_s=60)
    await pilot.wait_mode("HOLD", timeout_s=10)
    start = time.monotonic()
    await pilot.land()
    await pilot.first(pilot.telemetry.subscribe_in_air(), lambda v: not v, 120, "landed")
    landed_s = time.monotonic() - start
    await pilot.first(pilot.telemetry.subscribe_armed(), lambda v: not v, 60, "disarmed")
    mode = await pilot.first(pilot.telemetry.subscribe_flight_mode())
    return {"landed_s": landed_s, "disarm_after_s": time.monotonic() - start - landed_s,
            "mode_after": mode.name}  # fmt: skip


async def datalink_loss(pilot: Pilot, home: LatLon) -> Observed:
    """NAV_DLL_ACT 2: the ground station goes away mid-flight; what does the vehicle do?"""
    await pilot.call("param", pilot.param.set_param_int("NAV_DLL_ACT", 2))
    await pilot.call("param", pilot.param.set_param_int("COM_DL_LOSS_T", 5))
    away = destination(home, 0.0, 60.0)
    await pilot.upload(mission_items([Waypoint(away.lat, away.lon, 15.0, 8.0)]))
    await pilot.arm()
    await asyncio.sleep(0.5)  # past PX4's check of a fresh mission
    await pilot.start_mission()
    await pilot.wait_mission_done(timeout_s=120)
    await pilot.__aexit__(None, None, None)  # MAVSDK gone: no more ground-station heartbeats
    await asyncio.sleep(16.0)  # COM_DL_LOSS_T, then PX4's failsafe hold, then the return
    async with Pilot(pilot.url, timeout_s=60) as again:
        mode = await again.first(again.telemetry.subscribe_flight_mode())
        await again.wait_landed_and_disarmed(timeout_s=180)
        landed = await again.position()
    return {"mode_after_loss": mode.name, "landed_from_home_m": distance_m(here(landed), home)}


SCENARIOS: dict[str, Scenario] = {
    "datalink_loss": datalink_loss,
    "takeoff_and_hold": takeoff_and_hold,
    "mission_and_return": mission_and_return,
    "refusals": refusals,
    "land_here": land_here,
}
