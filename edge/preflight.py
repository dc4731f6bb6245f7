"""Preflight: can this dock fly this sortie now? Every reason it cannot, reported together.

Whether the sortie is feasible at all (range, airspace, ceiling, wind, energy) is the shared
model of :mod:`edge.feasibility`, fed with the very ``limits`` this dock publishes, so
dispatch reaches the same verdict from the dock's state. On top of it come the checks only
the edge can make: the lid, the wind sensor, the vehicle's readiness and its home. The checks
read snapshots only, so a dispatch is answered in milliseconds. A passing check returns the
:class:`SortiePlan` the sortie flies.
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.airspace import NoFlyZone
from edge.config import EdgeConfig
from edge.energy import Wind
from edge.errors import RefusedError
from edge.feasibility import (
    PRIORITY,
    DockFigures,
    Request,
    SortiePlan,
    assess,
    fail,
    ordered,
    request_for,
)
from edge.flight.vehicle import VehicleState
from edge.geo import LatLon, distance_m
from edge.patterns.registry import OnScene
from edge.protocol import AckCode, DockStatus, Reason

__all__ = [
    "PRIORITY",
    "PreflightFailed",
    "Request",
    "SortiePlan",
    "check_dispatch",
    "check_retask",
    "request_from",
]

HOME_NEAR_DOCK_M = 50.0


class PreflightFailed(RefusedError):
    """One or more checks failed; ``failures`` holds every one, ``code`` the foremost."""

    def __init__(self, failures: Sequence[Reason]) -> None:
        foremost = ordered(failures)
        super().__init__("; ".join(r.reason for r in foremost), code=foremost[0].code)
        self.failures = foremost


def request_from(
    config: EdgeConfig,
    incident_id: str | None,
    target: LatLon,
    alt_rel_m: float | None,
    on_scene: OnScene | None,
) -> Request:
    """A request with this dock's defaults for what the command left out."""
    scene = on_scene or config.flight.on_scene
    return request_for(config.published_limits(), incident_id, target, alt_rel_m, scene)


def figures(config: EdgeConfig, wind: Wind | None, battery_pct: float | None) -> DockFigures:
    """This dock as the feasibility model sees it: what it publishes."""
    return DockFigures(
        limits=config.published_limits(),
        home=LatLon(config.dock.home.lat, config.dock.home.lon),
        wind=wind or Wind(),
        battery_pct=battery_pct,
        margin_m=config.airspace.margin_m,
    )


def _edge_only(
    config: EdgeConfig, dock: DockStatus, wind: Wind | None, vehicle: VehicleState
) -> list[Reason]:
    """What only the edge sees (dispatch sees it as ``ready``/``not_ready``)."""
    failures = []
    if dock.lid != "closed":
        failures.append(fail(AckCode.DOCK_NOT_READY, f"dock lid is {dock.lid}, not closed"))
    if wind is None:
        failures.append(fail(AckCode.DOCK_NOT_READY, "dock weather sensor has no wind reading"))
    failures += [fail(AckCode.VEHICLE_NOT_READY, r) for r in vehicle.not_ready()]
    home = LatLon(config.dock.home.lat, config.dock.home.lon)
    if vehicle.home is not None and distance_m(vehicle.home, home) > HOME_NEAR_DOCK_M:
        failures.append(
            fail(
                AckCode.VEHICLE_NOT_READY,
                f"vehicle home is {distance_m(vehicle.home, home):.0f} m from the dock",
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
    verdict = assess(figures(config, wind, vehicle.battery_pct), zones, req)
    failures = _edge_only(config, dock, wind, vehicle) + verdict.failures
    if failures or verdict.plan is None:
        raise PreflightFailed(failures)
    return verdict.plan


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
    here = vehicle.position
    if here is None:
        raise PreflightFailed([fail(AckCode.VEHICLE_NOT_READY, "vehicle position is unknown")])
    verdict = assess(
        figures(config, wind, vehicle.battery_pct),
        zones,
        req,
        start=here,
        alt_now_m=vehicle.alt_rel_m or 0.0,
    )
    if verdict.plan is None:
        raise PreflightFailed(verdict.failures)
    return verdict.plan
