"""Preflight: can this dock fly this sortie now? Every reason it cannot, reported together.

The checks read snapshots only (dock status, vehicle state, configuration), so a dispatch is
answered in milliseconds. A passing check returns the :class:`SortiePlan` the sortie flies:
the route out around no-fly zones, the way back, and the energy it needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from edge.airspace import NoFlyZone, blocked_by, plan_route
from edge.config import EdgeConfig
from edge.energy import SortieBudget, Wind
from edge.errors import RefusedError
from edge.flight.vehicle import VehicleState
from edge.geo import LatLon, distance_m
from edge.protocol import AckCode, DockStatus, OnScene, Reason

__all__ = ["PreflightFailed", "Request", "SortiePlan", "check_dispatch", "check_retask"]

# The code an ack carries when several checks fail: the first of these that failed.
PRIORITY = (
    AckCode.OUT_OF_RANGE,
    AckCode.NO_FLY,
    AckCode.ABOVE_CEILING,
    AckCode.WIND_HIGH,
    AckCode.DOCK_NOT_READY,
    AckCode.VEHICLE_NOT_READY,
    AckCode.BATTERY_LOW,
)


class PreflightFailed(RefusedError):
    """One or more checks failed; ``failures`` holds every one, ``code`` the foremost."""

    def __init__(self, failures: Sequence[Reason]) -> None:
        ordered = sorted(failures, key=lambda r: PRIORITY.index(AckCode(r.code)))
        super().__init__("; ".join(r.reason for r in ordered), code=ordered[0].code)
        self.failures = list(ordered)


@dataclass(frozen=True)
class Request:
    """Where a command sends the drone, with the edge's defaults filled in."""

    incident_id: str | None
    target: LatLon
    alt_rel_m: float
    on_scene: OnScene

    @property
    def orbit_speed(self) -> float:
        """Airspeed on scene: the orbit speed, 0 for a hold."""
        if self.on_scene.pattern == "hold":
            return 0.0
        return self.on_scene.speed_mps or 0.0


@dataclass(frozen=True)
class SortiePlan:
    """What the sortie flies: request, routes (around no-fly zones) and energy budget."""

    request: Request
    route_out: list[LatLon]
    route_back: list[LatLon]
    budget: SortieBudget
    needed_pct: float


def request_from(
    config: EdgeConfig,
    incident_id: str | None,
    target: LatLon,
    alt_rel_m: float | None,
    on_scene: OnScene | None,
) -> Request:
    """A request with the config's altitude and on-scene defaults for what the command left out."""
    scene = on_scene or config.flight.on_scene
    if scene.speed_mps is None:
        scene = scene.model_copy(update={"speed_mps": config.flight.orbit_speed_mps})
    return Request(incident_id, target, alt_rel_m or config.flight.transit_alt_m, scene)


def _fail(code: AckCode, reason: str) -> Reason:
    return Reason(code=code.value, reason=reason)


def _route_checks(
    config: EdgeConfig,
    zones: Sequence[NoFlyZone],
    start: LatLon,
    req: Request,
    failures: list[Reason],
) -> tuple[list[LatLon], list[LatLon]] | None:
    home = LatLon(config.dock.home.lat, config.dock.home.lon)
    far = distance_m(home, req.target)
    if far > config.limits.max_range_m:
        failures.append(
            _fail(
                AckCode.OUT_OF_RANGE,
                f"target is {far / 1000:.1f} km away; "
                f"limit {config.limits.max_range_m / 1000:.1f} km",
            )
        )
    if req.alt_rel_m > config.ceiling_rel_m + 1e-9:
        failures.append(
            _fail(
                AckCode.ABOVE_CEILING,
                f"altitude {req.alt_rel_m:g} m above the dock is over the "
                f"{config.limits.ceiling_m:g} m ceiling above ground",
            )
        )
    zone = blocked_by(req.target, zones)
    if zone is not None:
        failures.append(_fail(AckCode.NO_FLY, f"target is inside no-fly zone {zone.name!r}"))
        return None
    margin = config.airspace.margin_m
    route_out = plan_route(start, req.target, zones, margin_m=margin)
    route_back = plan_route(req.target, home, zones, margin_m=margin)
    if route_out is None or route_back is None:
        failures.append(
            _fail(
                AckCode.NO_FLY,
                f"no route keeps {margin:g} m clear of the no-fly zones "
                "(the target or the drone is too close to one)",
            )
        )
        return None
    return route_out, route_back


def _energy_check(
    config: EdgeConfig,
    req: Request,
    routes: tuple[list[LatLon], list[LatLon]],
    wind: Wind,
    battery_pct: float | None,
    climb_m: float,
    failures: list[Reason],
) -> tuple[SortieBudget, float]:
    model = config.energy_model()
    route_out, route_back = routes
    budget = SortieBudget(
        out=model.climb(climb_m, wind) + model.path(route_out, wind),
        on_scene=model.loiter(req.on_scene.duration_s, req.orbit_speed, wind),
        back=model.path(route_back, wind) + model.climb(-req.alt_rel_m, wind),
        airframe=model.airframe,
    )
    needed = budget.needed_pct if budget.feasible else math.inf
    reserve = config.limits.reserve_pct
    if battery_pct is not None and needed + reserve > battery_pct:
        need = "more than the battery holds" if not math.isfinite(needed) else f"{needed:.0f}%"
        failures.append(
            _fail(
                AckCode.BATTERY_LOW,
                f"battery {battery_pct:.0f}% is short of the {need} this sortie needs "
                f"plus the {reserve:g}% reserve",
            )
        )
    return budget, needed


def _dock_checks(config: EdgeConfig, dock: DockStatus, wind: Wind | None) -> list[Reason]:
    failures = []
    if dock.lid != "closed":
        failures.append(_fail(AckCode.DOCK_NOT_READY, f"dock lid is {dock.lid}, not closed"))
    if wind is None:
        failures.append(_fail(AckCode.DOCK_NOT_READY, "dock weather sensor has no wind reading"))
    elif wind.speed_mps > config.limits.wind_limit_mps:
        failures.append(
            _fail(
                AckCode.WIND_HIGH,
                f"wind {wind.speed_mps:.1f} m/s is over the "
                f"{config.limits.wind_limit_mps:g} m/s limit",
            )
        )
    return failures


def check_dispatch(
    config: EdgeConfig,
    zones: Sequence[NoFlyZone],
    req: Request,
    dock: DockStatus,
    wind: Wind | None,
    vehicle: VehicleState,
) -> SortiePlan:
    """Every preflight check for a launch from the dock.

    Raises:
        PreflightFailed: with every failed check.
    """
    home = LatLon(config.dock.home.lat, config.dock.home.lon)
    failures = _dock_checks(config, dock, wind)
    failures += [_fail(AckCode.VEHICLE_NOT_READY, r) for r in vehicle.not_ready()]
    if vehicle.home is not None and distance_m(vehicle.home, home) > 50.0:
        failures.append(
            _fail(
                AckCode.VEHICLE_NOT_READY,
                f"vehicle home is {distance_m(vehicle.home, home):.0f} m from the dock",
            )
        )
    routes = _route_checks(config, zones, home, req, failures)
    budget, needed = None, math.inf
    if routes is not None:
        budget, needed = _energy_check(
            config, req, routes, wind or Wind(), vehicle.battery_pct, req.alt_rel_m, failures
        )
    if failures or routes is None or budget is None:
        raise PreflightFailed(failures)
    return SortiePlan(req, routes[0], routes[1], budget, needed)


def check_retask(
    config: EdgeConfig,
    zones: Sequence[NoFlyZone],
    req: Request,
    vehicle: VehicleState,
    wind: Wind | None,
) -> SortiePlan:
    """The checks that still matter for a new target while airborne: range, airspace, energy.

    Raises:
        PreflightFailed: with every failed check.
    """
    failures: list[Reason] = []
    here = vehicle.position
    if here is None:
        raise PreflightFailed([_fail(AckCode.VEHICLE_NOT_READY, "vehicle position is unknown")])
    routes = _route_checks(config, zones, here, req, failures)
    budget, needed = None, math.inf
    if routes is not None:
        climb = req.alt_rel_m - (vehicle.alt_rel_m or 0.0)
        budget, needed = _energy_check(
            config, req, routes, wind or Wind(), vehicle.battery_pct, climb, failures
        )
    if failures or routes is None or budget is None:
        raise PreflightFailed(failures)
    return SortiePlan(req, routes[0], routes[1], budget, needed)
