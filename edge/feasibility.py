"""Feasibility: can a dock fly this request from where it is, and what will it cost.

The one model of that question. The edge's preflight (a dispatch), its retask check and
dispatch's choice of dock all call :func:`assess`, so they refuse with the same codes, in the
same order and the same words, and agree on the cost. It reads only what a dock publishes in
its retained ``state``: the ``limits`` (range, reserve, ceiling and the pad's height above the
ground, wind limit, speeds, airframe, airspace margin, orbit speed), home, wind and battery;
so dispatch decides from a dock's state exactly as the dock decides itself.

The checks: the target within range of home, by straight line (beyond it nothing else is worked
out) and by the route home around the no-fly zones; the target clear of the zones, with a route
out and a route back that keep the margin (the on-scene pattern drawn in closer to the target
where its stand-off would come nearer a zone than the margin); the altitude under the ceiling
above ground; for a launch, the wind under the limit; and the battery for out + on scene + back
+ the reserve, by the energy model. What only the edge can see (the lid, the vehicle's
readiness) is checked by the edge on top of this (``edge.preflight``) and published as
``ready``/``not_ready`` for dispatch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from edge.airspace import NoFlyZone, blocked_by, clearance_m, plan_route
from edge.energy import EnergyModel, SortieBudget, Wind
from edge.geo import LatLon, bearing_deg, destination, distance_m
from edge.patterns.registry import OnScene
from edge.protocol import AckCode, Limits, Reason

__all__ = [
    "PRIORITY",
    "DockFigures",
    "Request",
    "SortiePlan",
    "Verdict",
    "assess",
    "energy_model",
    "fail",
    "ordered",
    "reach_m",
    "request_for",
]

PRIORITY = (
    AckCode.BUSY,
    AckCode.OUT_OF_RANGE,
    AckCode.NO_FLY,
    AckCode.ABOVE_CEILING,
    AckCode.WIND_HIGH,
    AckCode.DOCK_NOT_READY,
    AckCode.VEHICLE_NOT_READY,
    AckCode.BATTERY_LOW,
)
"""When several checks fail, the refusal's code is the first of these that failed."""


_RANK = {code.value: i for i, code in enumerate(PRIORITY)}


def _rank(reason: Reason) -> int:
    return _RANK.get(reason.code, len(PRIORITY))


def ordered(failures: Iterable[Reason]) -> list[Reason]:
    """Failures foremost first (by :data:`PRIORITY`; checks of one code keep their order)."""
    return sorted(failures, key=_rank)


def fail(code: AckCode, reason: str) -> Reason:
    """One failed check."""
    return Reason(code=code.value, reason=reason)


def _km(m: float) -> str:
    return f"{m / 1000:.1f} km"


@dataclass(frozen=True)
class Request:
    """Where a command sends the drone, with the dock's defaults filled in.

    Attributes:
        alt_rel_m: the altitude above home flown in transit (and home again).
        scene_alt_rel_m: the altitude above home flown on scene; ``alt_rel_m`` when None.
    """

    incident_id: str | None
    target: LatLon
    alt_rel_m: float
    on_scene: OnScene
    scene_alt_rel_m: float | None = None

    @property
    def on_scene_alt_m(self) -> float:
        """The altitude above home flown on scene."""
        return self.alt_rel_m if self.scene_alt_rel_m is None else self.scene_alt_rel_m


def request_for(
    limits: Limits,
    incident_id: str | None,
    target: LatLon,
    alt_rel_m: float | None,
    on_scene: OnScene,
) -> Request:
    """A request with the dock's defaults filled in: a command's altitude is flown all the way
    and on scene; without one the transit altitude is the dock's and the altitude on scene is
    the one its camera wants (``edge.patterns.geometry``), the pattern sized for it."""
    if alt_rel_m:
        return Request(
            incident_id, target, alt_rel_m, on_scene.with_defaults(limits, alt_rel_m), alt_rel_m
        )
    scene = limits.on_scene_alt_rel_m
    return Request(
        incident_id, target, limits.transit_alt_m, on_scene.with_defaults(limits, scene), scene
    )


@dataclass(frozen=True)
class DockFigures:
    """What the model reads of a dock: its published limits, home, wind and battery.

    Attributes:
        limits: the ``limits`` the dock publishes.
        home: the dock's pad.
        wind: the dock's wind reading (calm when it has none: the edge refuses that itself).
        battery_pct: the drone's charge; ``None`` when unknown (not checked here).
        margin_m: clearance kept from every no-fly zone.
    """

    limits: Limits
    home: LatLon
    wind: Wind
    battery_pct: float | None
    margin_m: float


@dataclass(frozen=True)
class SortiePlan:
    """What the sortie flies and costs: request, routes around the zones, energy, distances."""

    request: Request
    route_out: list[LatLon]
    route_back: list[LatLon]
    budget: SortieBudget
    needed_pct: float
    distance_m: float  # straight line from home to the target
    route_m: float  # the route out, around the zones

    @property
    def to_scene_s(self) -> float:
        """Time from take-off (or from where the drone is) to the scene."""
        return self.budget.out.time_s


@dataclass(frozen=True)
class Verdict:
    """The model's answer: the plan when every check passed, else every failure, foremost first."""

    plan: SortiePlan | None
    failures: list[Reason]

    @property
    def ok(self) -> bool:
        return not self.failures and self.plan is not None


def energy_model(limits: Limits) -> EnergyModel:
    """The energy model of a dock's published airframe and speeds."""
    return EnergyModel(
        limits.airframe,
        cruise_mps=limits.cruise_mps,
        climb_mps=limits.climb_mps,
        descent_mps=limits.descent_mps,
    )


def _length_m(route: Sequence[LatLon]) -> float:
    return sum(distance_m(a, b) for a, b in itertools.pairwise(route))


def _place_checks(dock: DockFigures, req: Request, far: float, launch: bool) -> list[Reason]:
    """Range by straight line, ceiling and (for a launch) wind: no route needed."""
    lim, failures = dock.limits, []
    if far > lim.max_range_m:
        failures.append(
            fail(
                AckCode.OUT_OF_RANGE,
                f"target is {_km(far)} away; limit {_km(lim.max_range_m)}",
            )
        )
    alt = max(req.alt_rel_m, req.on_scene_alt_m)
    if alt > lim.ceiling_rel_m + 1e-9:
        pad = (
            f" ({lim.ceiling_rel_m:g} m above the dock, whose pad is {lim.pad_height_m:g} m up)"
            if lim.pad_height_m
            else ""
        )
        failures.append(
            fail(
                AckCode.ABOVE_CEILING,
                f"altitude {alt:g} m above the dock is over the "
                f"{lim.ceiling_m:g} m ceiling above ground{pad}",
            )
        )
    if launch and dock.wind.speed_mps > lim.wind_limit_mps:
        failures.append(
            fail(
                AckCode.WIND_HIGH,
                f"wind {dock.wind.speed_mps:.1f} m/s is over the {lim.wind_limit_mps:g} m/s limit",
            )
        )
    return failures


Routes = tuple[list[LatLon], list[LatLon]]


def _routes(
    dock: DockFigures, zones: Sequence[NoFlyZone], start: LatLon, req: Request
) -> tuple[Routes | None, list[Reason]]:
    """Out from ``start`` and back home, both around the zones; the way back within range."""
    zone = blocked_by(req.target, zones)
    if zone is not None:
        return None, [fail(AckCode.NO_FLY, f"target is inside no-fly zone {zone.name!r}")]
    route_out = plan_route(start, req.target, zones, margin_m=dock.margin_m)
    route_back = plan_route(req.target, dock.home, zones, margin_m=dock.margin_m)
    if route_out is None or route_back is None:
        why = (
            f"no route keeps {dock.margin_m:g} m clear of the no-fly zones "
            "(the target or the drone is too close to one)"
        )
        return None, [fail(AckCode.NO_FLY, why)]
    back_m, limit = _length_m(route_back), dock.limits.max_range_m
    if back_m > limit:
        why = f"route around no-fly zones is {_km(back_m)}; limit {_km(limit)}"
        return None, [fail(AckCode.OUT_OF_RANGE, why)]
    return (route_out, route_back), []


def _clear_of_zones(req: Request, zones: Sequence[NoFlyZone], margin_m: float) -> Request:
    """The request with its on-scene pattern drawn in to keep the margin from every zone."""
    room = clearance_m(req.target, zones) - margin_m
    if req.on_scene.reach_m() <= room:
        return req
    return replace(req, on_scene=req.on_scene.within(max(0.0, room)))


def _to_reach(route: list[LatLon], req: Request) -> list[LatLon]:
    """The route out as flown: it ends where the pattern starts, its reach short of the target
    (the drone is on scene there, so the ETA and the energy count to there)."""
    reach = req.on_scene.reach_m()
    if reach <= 0 or len(route) < 2:
        return route
    last, before = route[-1], route[-2]
    leg = distance_m(before, last)
    if leg <= reach:
        return route[:-1]
    return [*route[:-1], destination(last, bearing_deg(last, before), reach)]


def _energy(
    dock: DockFigures, req: Request, route_out: list[LatLon], route_back: list[LatLon], climb: float
) -> tuple[SortieBudget, float, list[Reason]]:
    model, wind, lim = energy_model(dock.limits), dock.wind, dock.limits
    scene_step = req.on_scene_alt_m - req.alt_rel_m  # from the transit altitude to the scene's
    budget = SortieBudget(
        out=model.climb(climb, wind)
        + model.path(_to_reach(route_out, req), wind)
        + model.climb(scene_step, wind),
        on_scene=model.loiter(req.on_scene.duration_s, req.on_scene.airspeed_mps(), wind),
        back=model.climb(-scene_step, wind)
        + model.path(route_back, wind)
        + model.climb(-req.alt_rel_m, wind),
        airframe=model.airframe,
    )
    if not budget.feasible:
        return budget, math.inf, [fail(AckCode.WIND_HIGH, "wind too strong to fly the route")]
    needed, battery = budget.needed_pct, dock.battery_pct
    if battery is not None and needed + lim.reserve_pct > battery:
        why = (
            f"battery {battery:.0f}% is short of the {needed:.0f}% this sortie needs "
            f"plus the {lim.reserve_pct:g}% reserve"
        )
        return budget, needed, [fail(AckCode.BATTERY_LOW, why)]
    return budget, needed, []


def assess(
    dock: DockFigures,
    zones: Sequence[NoFlyZone],
    req: Request,
    *,
    start: LatLon | None = None,
    alt_now_m: float = 0.0,
) -> Verdict:
    """Whether the dock can fly ``req``, and what it costs.

    Args:
        dock: what the dock publishes.
        zones: the no-fly zones.
        req: the request, defaults filled in (:func:`request_for`).
        start: where the drone is when airborne (a retask); ``None`` for a launch from the
            dock, which also checks the wind limit.
        alt_now_m: the drone's altitude above home when airborne.

    Returns:
        The plan with no failures, or every failure (foremost first) and no plan.
    """
    launch = start is None
    here = dock.home if start is None else start
    far = distance_m(dock.home, req.target)
    failures = _place_checks(dock, req, far, launch)
    if far > dock.limits.max_range_m:  # out of reach whatever the route and energy would say
        return Verdict(None, ordered(failures))
    routes, route_failures = _routes(dock, zones, here, req)
    failures += route_failures
    if routes is None:
        return Verdict(None, ordered(failures))
    route_out, route_back = routes
    req = _clear_of_zones(req, zones, dock.margin_m)
    climb = req.alt_rel_m - (0.0 if launch else alt_now_m)
    budget, needed, energy_failures = _energy(dock, req, route_out, route_back, climb)
    failures += energy_failures
    if failures:
        return Verdict(None, ordered(failures))
    plan = SortiePlan(
        req,
        route_out,
        route_back,
        budget,
        needed,
        distance_m=far,
        route_m=_length_m(route_out),
    )
    return Verdict(plan, [])


def reach_m(dock: DockFigures, on_scene: OnScene, alt_rel_m: float | None = None) -> float:
    """How far from home the dock can go now: fly out, stay ``on_scene``, come back with its
    reserve, at its present charge; straight out and back, the worst way round the wind, and
    never beyond its range. 0 when that charge is short even for a sortie next door (or unknown).

    What the map's range ring shows; a target inside it can still be refused for the route
    around the no-fly zones, which only :func:`assess` works out.
    """
    lim, wind = dock.limits, dock.wind
    if dock.battery_pct is None:
        return 0.0
    model = energy_model(lim)
    req = request_for(lim, None, dock.home, alt_rel_m, on_scene)
    alt, step, scene = req.alt_rel_m, req.on_scene_alt_m - req.alt_rel_m, req.on_scene
    fixed = (
        model.climb(alt, wind)
        + model.climb(step, wind)
        + model.climb(-step, wind)
        + model.climb(-alt, wind)
        + model.loiter(scene.duration_s, scene.airspeed_mps(), wind)
    )
    usable_wh = (dock.battery_pct - lim.reserve_pct) / 100.0 * model.airframe.battery_wh
    usable_wh -= fixed.energy_wh
    per_m = 0.0
    for bearing in range(0, 360, 45):
        there = destination(dock.home, float(bearing), 1000.0)
        trip = model.leg(dock.home, there, wind) + model.leg(there, dock.home, wind)
        per_m = max(per_m, trip.energy_wh / 1000.0)
    if usable_wh <= 0 or not math.isfinite(per_m) or per_m <= 0:
        return 0.0
    # the way out ends where the pattern starts, its reach short of the target (as assess
    # counts it); the way back starts at the target: half the reach is spared per metre out
    return min(lim.max_range_m, usable_wh / per_m + scene.reach_m() / 2)
