"""What can change a sortie in flight (interrupts), and the missions a sortie flies.

Interrupts come from commands (retask, recall, abort) and from the edge's failsafes; the
runner takes them one at a time. The mission builders turn a :class:`~edge.preflight.SortiePlan`
into a :class:`~edge.flight.mission.MissionPlan`: out along the route to the scene and into the
on-scene pattern, or home along a route clear of no-fly zones and down onto the dock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from edge.airspace import NoFlyZone, plan_route
from edge.flight.mission import Land, Loiter, MissionPlan, Orbit, Step, Waypoint, orbit_entry
from edge.geo import LatLon, bearing_deg, distance_m
from edge.preflight import SortiePlan

__all__ = [
    "Abort",
    "Failsafe",
    "Interrupt",
    "LinkLost",
    "Recall",
    "Retask",
    "ReturnMission",
    "TransitMission",
    "return_mission",
    "transit_mission",
]

ON_SCENE_SLACK_S = 120.0


@dataclass(frozen=True)
class Retask:
    """Fly to a new target (already checked by preflight)."""

    plan: SortiePlan


@dataclass(frozen=True)
class Recall:
    """Go home now."""


@dataclass(frozen=True)
class Abort:
    """Stop the sortie: hover, land where it is, or return."""

    action: Literal["hold", "land_now", "rtl"]


@dataclass(frozen=True)
class Failsafe:
    """One of the edge's failsafes fired."""

    reason: str
    action: Literal["return", "land"] = "return"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LinkLost:
    """No MAVLink from the vehicle for longer than the configured silence."""

    silent_s: float


Interrupt = Retask | Recall | Abort | Failsafe | LinkLost


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
    """Out along ``plan.route_out`` (from ``start``), then the on-scene pattern."""
    req = plan.request
    alt = req.alt_rel_m
    route = list(plan.route_out)
    if start is not None:
        route[0] = start
    steps: list[Step] = [Waypoint(p, alt, cruise_mps) for p in route[1:-1]]
    scene = req.on_scene
    coming_from = route[-2] if len(route) >= 2 else req.target
    if scene.pattern == "orbit":
        speed = scene.speed_mps or cruise_mps
        entry = orbit_entry(req.target, scene.radius_m, coming_from)
        laps = (scene.duration_s + ON_SCENE_SLACK_S) * speed / (2 * math.pi * scene.radius_m)
        steps.append(Waypoint(entry, alt, cruise_mps))
        steps.append(
            Orbit(
                req.target,
                scene.radius_m,
                alt,
                speed,
                turns=max(1.0, math.ceil(laps)),
                start_deg=bearing_deg(req.target, entry),
            )
        )
    else:
        steps.append(Waypoint(req.target, alt, cruise_mps))
        steps.append(Loiter(req.target, alt, scene.duration_s + ON_SCENE_SLACK_S))
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
    steps: list[Step] = []
    if distance_m(here, home) > acceptance_m:
        if alt_now < alt_rel_m - 3.0:
            steps.append(Waypoint(here, alt_rel_m, cruise_mps))
        route = plan_route(here, home, zones, margin_m=margin_m) or [here, home]
        steps.extend(Waypoint(p, alt_rel_m, cruise_mps) for p in route[1:])
    steps.append(Land(home))
    return ReturnMission(MissionPlan(tuple(steps), acceptance_m=acceptance_m), len(steps) - 1)
