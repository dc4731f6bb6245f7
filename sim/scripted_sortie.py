"""``outrider sim sortie``: one scripted sortie flown through the edge's vehicle adapter.

Take off, fly a three-waypoint mission out to a target with an on-scene loiter as its last
step, return to launch, land and disarm, printing each phase with its wall and simulated time.
It flies through :class:`~edge.flight.mavsdk_vehicle.MavsdkVehicle`, the adapter the edge flies
every sortie with, against a sim vehicle started for it.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field

from edge.config import VehicleConfig
from edge.flight.mavsdk_vehicle import MavsdkVehicle
from edge.flight.mission import Loiter, MissionPlan, Waypoint
from edge.flight.vehicle import Vehicle, VehicleState
from edge.geo import LatLon, destination
from sim.vehicle.launch import launch

__all__ = ["ScriptedPlan", "fly_sortie", "run_sortie"]

CONNECT_TIMEOUT_S = 60.0
PHASE_TIMEOUT_S = 600.0  # the longest wall-clock wait for one phase, at speed factor 1
OVER_HOME_M = 3.0


@dataclass(frozen=True)
class ScriptedPlan:
    """The scripted sortie: transit altitude and speed, the target, and the time on scene."""

    transit_alt_m: float = 40.0
    cruise_mps: float = 12.0
    target_bearing_deg: float = 60.0
    target_dist_m: float = 600.0
    loiter_s: float = 60.0
    acceptance_m: float = 3.0
    waypoints: list[tuple[float, float]] = field(
        default_factory=lambda: [(20.0, 250.0), (80.0, 450.0)]
    )

    def target(self, home: LatLon) -> LatLon:
        """Where the scene is."""
        return destination(home, self.target_bearing_deg, self.target_dist_m)

    def mission(self, home: LatLon) -> MissionPlan:
        """Two transit waypoints (bearing, distance from home), then a loiter over the target."""
        alt = self.transit_alt_m
        legs = [Waypoint(destination(home, b, d), alt, self.cruise_mps) for b, d in self.waypoints]
        on_scene = Loiter(self.target(home), alt, self.loiter_s)
        return MissionPlan((*legs, on_scene), acceptance_m=self.acceptance_m)


class _Clock:
    def __init__(self, speed_factor: float) -> None:
        self.start = time.monotonic()
        self.speed_factor = speed_factor

    def phase(self, text: str) -> None:
        wall = time.monotonic() - self.start
        sys.stdout.write(f"[{wall:6.1f} s | sim {wall * self.speed_factor:7.1f} s] {text}\n")
        sys.stdout.flush()


def _finished(s: VehicleState) -> bool:
    return 0 < s.mission_total <= s.mission_current


async def _fly_mission(vehicle: Vehicle, plan: MissionPlan, clock: _Clock) -> None:
    """Announce each step as the mission moves on to it, until the last item is done."""
    waypoints = sum(isinstance(s, Waypoint) for s in plan.steps)
    step = 0
    while True:

        def moved_on(s: VehicleState, step: int = step) -> bool:
            return _finished(s) or plan.step_of(s.mission_current) > step

        state = await vehicle.wait_for(moved_on, timeout_s=PHASE_TIMEOUT_S, what="mission progress")
        if _finished(state):
            return
        step = plan.step_of(state.mission_current)
        on_scene = plan.steps[step]
        if isinstance(on_scene, Loiter):
            clock.phase(f"on scene: loitering {on_scene.seconds:.0f} s over the target")
        else:
            clock.phase(f"waypoint {step} of {waypoints} reached")


async def fly_sortie(vehicle: Vehicle, home: LatLon, plan: ScriptedPlan, clock: _Clock) -> None:
    """Fly ``plan`` from ``home`` with ``vehicle``, announcing each phase."""

    def healthy(s: VehicleState) -> bool:
        return s.global_position_ok and s.home_position_ok and s.armable

    await vehicle.wait_for(healthy, timeout_s=CONNECT_TIMEOUT_S, what="health ok")
    clock.phase("connected, health ok")
    mission = await vehicle.upload(plan.mission(home))
    clock.phase(f"mission uploaded: {len(mission.items())} items, 3 waypoints, target loiter")
    await vehicle.arm()
    clock.phase("armed")
    alt = plan.transit_alt_m
    await vehicle.takeoff(alt)
    await vehicle.wait_for(
        lambda s: s.alt_rel_m is not None and abs(s.alt_rel_m - alt) <= 1.0,
        timeout_s=PHASE_TIMEOUT_S,
        what=f"altitude {alt:.0f} m",
    )
    clock.phase(f"take-off complete at {alt:.0f} m")
    await vehicle.start_mission()
    clock.phase("mission started: en route")
    await _fly_mission(vehicle, mission, clock)
    off = vehicle.state.distance_to(plan.target(home))
    clock.phase(f"loiter done, {off:.1f} m from the target: returning")
    await vehicle.return_to_launch()
    await vehicle.wait_for(
        lambda s: s.distance_to(home) <= OVER_HOME_M, timeout_s=PHASE_TIMEOUT_S, what="home"
    )
    clock.phase("over home: landing")
    await vehicle.wait_for(
        lambda s: not s.in_air and not s.armed, timeout_s=PHASE_TIMEOUT_S, what="disarm"
    )
    state = vehicle.state
    battery = f"{state.battery_pct:.0f} %" if state.battery_pct is not None else "unknown"
    clock.phase(f"landed {state.distance_to(home):.1f} m from home and disarmed; battery {battery}")


async def _sortie(speed_factor: float, home: str) -> None:
    clock = _Clock(speed_factor)
    async with launch(home=home, speed_factor=speed_factor) as sim:
        clock.phase(f"sim vehicle up: {sim.url}, speed factor {speed_factor:g}")
        truth = await sim.truth()
        config = VehicleConfig(url=sim.url, connect_timeout_s=CONNECT_TIMEOUT_S)
        async with MavsdkVehicle(config) as vehicle:
            await fly_sortie(vehicle, LatLon(truth["lat"], truth["lon"]), ScriptedPlan(), clock)


def run_sortie(*, speed_factor: float = 5.0, home: str = "47.397742,8.545594,489.4") -> int:
    """Fly the demo sortie; returns the process exit status."""
    asyncio.run(_sortie(speed_factor, home))
    return 0
