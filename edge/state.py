"""The retained ``state`` snapshot of a dock: phase, readiness and why not, vehicle and dock."""

from __future__ import annotations

from edge.config import EdgeConfig
from edge.flight.vehicle import VehicleState
from edge.protocol import AckCode, DockStatus, Phase, Position, Reason, State
from edge.sortie.machine import SortieMachine

__all__ = ["not_ready", "snapshot"]


def not_ready(
    config: EdgeConfig, machine: SortieMachine, vehicle: VehicleState, dock: DockStatus, busy: bool
) -> list[Reason]:
    """Why this dock could not launch now; empty when it could."""
    if busy or not machine.idle:
        what = f"sortie {machine.sortie_id}" if machine.sortie_id else "a sortie"
        return [Reason(code=AckCode.BUSY.value, reason=f"{what} in progress ({machine.phase})")]
    reasons = []
    if dock.lid != "closed":
        reasons.append(Reason(code=AckCode.DOCK_NOT_READY.value, reason=f"lid is {dock.lid}"))
    if dock.wind_mps is None:
        reasons.append(Reason(code=AckCode.DOCK_NOT_READY.value, reason="no wind reading"))
    elif dock.wind_mps > config.limits.wind_limit_mps:
        reasons.append(
            Reason(
                code=AckCode.WIND_HIGH.value,
                reason=f"wind {dock.wind_mps:.1f} m/s over {config.limits.wind_limit_mps:g} m/s",
            )
        )
    reasons += [Reason(code=AckCode.VEHICLE_NOT_READY.value, reason=r) for r in vehicle.not_ready()]
    pct = vehicle.battery_pct
    # once charged and docked, ready until the runner puts it back on charge
    floor = config.dock.recharge_pct if machine.phase is Phase.DOCKED else config.dock.ready_pct
    if pct is not None and pct < floor:
        reasons.append(
            Reason(
                code=AckCode.BATTERY_LOW.value,
                reason=f"charging: {pct:.0f}% of {config.dock.ready_pct:g}%",
            )
        )
    return reasons


def snapshot(
    config: EdgeConfig,
    machine: SortieMachine,
    vehicle: VehicleState,
    dock: DockStatus,
    *,
    busy: bool = False,
) -> State:
    """The ``state`` message for this moment."""
    reasons = not_ready(config, machine, vehicle, dock, busy)
    home = config.dock.home
    position = None
    if vehicle.lat is not None and vehicle.lon is not None:
        position = Position(
            lat=vehicle.lat,
            lon=vehicle.lon,
            alt_rel_m=vehicle.alt_rel_m,
            alt_amsl_m=vehicle.alt_amsl_m,
        )
    return State(
        dock_id=config.dock.id,
        phase=machine.phase,
        ready=not reasons,
        not_ready=reasons,
        sortie_id=machine.sortie_id,
        incident_id=machine.incident_id,
        target=machine.target,
        battery_pct=vehicle.battery_pct,
        position=position,
        home=Position(lat=home.lat, lon=home.lon, alt_rel_m=0.0, alt_amsl_m=home.alt_amsl_m),
        dock=dock,
        limits=config.published_limits(),
    )
