"""The missions a sortie flies, built from a :class:`~edge.feasibility.SortiePlan`.

Out along the route around the no-fly zones to the scene and into the on-scene pattern (whose
steps the pattern itself plans, ``edge/patterns/``), or home along a route clear of the zones
and down onto the dock. The incident is the region of interest from the last leg of the
approach until the drone leaves the scene, so the airframe (or its gimbal) faces it; the way
home clears it and the drone looks ahead again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edge.airspace import NoFlyZone, plan_route
from edge.feasibility import SortiePlan
from edge.flight.mission import Land, LookAhead, LookAt, MissionPlan, Step, Waypoint
from edge.geo import LatLon, distance_m
from edge.patterns.base import Approach

__all__ = ["ReturnMission", "TransitMission", "return_mission", "transit_mission"]

ON_SCENE_SLACK_S = 120.0


@dataclass(frozen=True)
class TransitMission:
    """The mission out: ``on_scene_item`` is the raw index where the on-scene pattern starts."""

    mission: MissionPlan
    on_scene_step: int

    def on_scene_item(self, flown: MissionPlan) -> int:
        return flown.step_start(self.on_scene_step)


@dataclass(frozen=True)
class ReturnMission:
    """The mission home: ``land_step`` is the final descent onto the dock."""

    mission: MissionPlan
    land_step: int

    def land_item(self, flown: MissionPlan) -> int:
        return flown.step_start(self.land_step)


def transit_mission(
    plan: SortiePlan, *, cruise_mps: float, acceptance_m: float, start: LatLon | None = None
) -> TransitMission:
    """Out along ``plan.route_out`` (from ``start``) at the transit altitude, then the on-scene
    pattern at the altitude the camera wants (the last leg climbs or descends to it)."""
    req = plan.request
    alt = req.alt_rel_m
    route = list(plan.route_out)
    if start is not None:
        route[0] = start
    steps: list[Step] = [Waypoint(p, alt, cruise_mps) for p in route[1:-1]]
    approach = Approach(
        target=req.target,
        alt_rel_m=req.on_scene_alt_m,
        coming_from=route[-2] if len(route) >= 2 else req.target,
        cruise_mps=cruise_mps,
        linger_s=req.on_scene.duration_s + ON_SCENE_SLACK_S,
    )
    steps.append(LookAt(req.target))
    steps += req.on_scene.steps(approach)
    mission = MissionPlan(tuple(steps), acceptance_m=acceptance_m)
    return TransitMission(mission, len(steps) - 1)


def return_mission(
    here: LatLon,
    alt_now: float,
    home: LatLon,
    zones: Sequence[NoFlyZone],
    *,
    alt_rel_m: float,
    cruise_mps: float,
    acceptance_m: float,
    margin_m: float,
) -> ReturnMission:
    """Home from ``here`` around the no-fly zones at ``alt_rel_m``, then land on the dock.

    Climbs in place first when lower than the return altitude, and flies straight when no
    clear route exists (for one, when ``here`` is already inside a zone).
    """
    steps: list[Step] = [LookAhead()]
    if distance_m(here, home) > acceptance_m:
        if alt_now < alt_rel_m - 3.0:
            steps.append(Waypoint(here, alt_rel_m, cruise_mps))
        route = plan_route(here, home, zones, margin_m=margin_m) or [here, home]
        steps.extend(Waypoint(p, alt_rel_m, cruise_mps) for p in route[1:])
    steps.append(Land(home))
    return ReturnMission(MissionPlan(tuple(steps), acceptance_m=acceptance_m), len(steps) - 1)
