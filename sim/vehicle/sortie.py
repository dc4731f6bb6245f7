"""``outrider sim sortie``: one scripted sortie flown through MAVSDK against a sim vehicle.

Take off, fly a three-waypoint mission out to a target with an on-scene loiter as its last
item, return to launch, land and disarm, printing each phase with its wall and simulated time.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field

from edge.geo import LatLon, destination, distance_m
from sim.vehicle.launch import launch
from sim.vehicle.pilot import Pilot, Waypoint, mission_items

__all__ = ["SortiePlan", "fly_sortie", "run_sortie"]


@dataclass(frozen=True)
class SortiePlan:
    """The scripted sortie: transit altitude and speed, the target, and the time on scene."""

    transit_alt_m: float = 40.0
    cruise_mps: float = 12.0
    target_bearing_deg: float = 60.0
    target_dist_m: float = 600.0
    loiter_s: float = 60.0
    waypoints: list[tuple[float, float]] = field(
        default_factory=lambda: [(20.0, 250.0), (80.0, 450.0)]
    )

    def route(self, home: LatLon) -> list[Waypoint]:
        """Two transit waypoints (bearing, distance from home), then the target with a loiter."""
        legs = [destination(home, b, d) for b, d in self.waypoints]
        target = destination(home, self.target_bearing_deg, self.target_dist_m)
        points = [Waypoint(p.lat, p.lon, self.transit_alt_m, self.cruise_mps) for p in legs]
        points.append(
            Waypoint(target.lat, target.lon, self.transit_alt_m, self.cruise_mps, self.loiter_s)
        )
        return points


class _Clock:
    def __init__(self, speed_factor: float) -> None:
        self.start = time.monotonic()
        self.speed_factor = speed_factor

    def phase(self, text: str) -> None:
        wall = time.monotonic() - self.start
        sys.stdout.write(f"[{wall:6.1f} s | sim {wall * self.speed_factor:7.1f} s] {text}\n")
        sys.stdout.flush()


async def fly_sortie(pilot: Pilot, home: LatLon, plan: SortiePlan, clock: _Clock) -> None:
    """Fly ``plan`` from ``home`` with ``pilot``, announcing each phase."""
    await pilot.wait_healthy()
    clock.phase("connected, health ok")
    route = plan.route(home)
    items = mission_items(route)
    await pilot.upload(items)
    clock.phase(f"mission uploaded: {len(items)} items, 3 waypoints, target loiter")
    await pilot.arm()
    clock.phase("armed")
    await pilot.takeoff(plan.transit_alt_m)
    await pilot.wait_altitude(plan.transit_alt_m, tol_m=1.0)
    clock.phase(f"take-off complete at {plan.transit_alt_m:.0f} m")
    attempts = await pilot.start_mission()
    clock.phase(f"mission started ({attempts} start command(s)): en route")
    shown = 0
    async for progress in pilot.mission.subscribe_mission_progress():
        if progress.current >= len(items):
            break
        if progress.current <= shown:
            continue  # PX4 repeats MISSION_ITEM_REACHED: progress may step back briefly
        shown = progress.current
        if items[progress.current].command == 19:
            clock.phase(f"on scene: loitering {plan.loiter_s:.0f} s over the target")
        elif items[progress.current].command == 16:
            clock.phase(f"waypoint {progress.current} of {len(items)} items reached")
    pos = await pilot.position()
    target = route[-1]
    off = distance_m(LatLon(pos.latitude_deg, pos.longitude_deg), LatLon(target.lat, target.lon))
    clock.phase(f"loiter done, {off:.1f} m from the target: returning")
    await pilot.call("return", pilot.action.return_to_launch())
    await pilot.wait_mode("RETURN_TO_LAUNCH")
    await pilot.first(
        pilot.telemetry.subscribe_landed_state(),
        lambda s: s.name in ("LANDING", "ON_GROUND"),
        timeout_s=600,
        what="landing",
    )
    clock.phase("over home: landing")
    await pilot.wait_landed_and_disarmed(timeout_s=600)
    pos = await pilot.position()
    off = distance_m(LatLon(pos.latitude_deg, pos.longitude_deg), home)
    battery = await pilot.first(pilot.telemetry.subscribe_battery(), what="battery")
    clock.phase(
        f"landed {off:.1f} m from home and disarmed; battery {battery.remaining_percent:.0f} %"
    )


async def _sortie(speed_factor: float, home: str) -> None:
    clock = _Clock(speed_factor)
    async with launch(home=home, speed_factor=speed_factor) as vehicle:
        clock.phase(f"sim vehicle up: {vehicle.url}, speed factor {speed_factor:g}")
        truth = await vehicle.truth()
        async with Pilot(vehicle.url, timeout_s=60) as pilot:
            await fly_sortie(pilot, LatLon(truth["lat"], truth["lon"]), SortiePlan(), clock)


def run_sortie(*, speed_factor: float = 5.0, home: str = "47.397742,8.545594,489.4") -> int:
    """Fly the demo sortie; returns the process exit status."""
    asyncio.run(_sortie(speed_factor, home))
    return 0
