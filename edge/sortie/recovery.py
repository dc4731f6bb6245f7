"""Start-up: take over whatever the previous edge process left, airborne vehicle included.

The sortie record in the state directory says what the last process was doing; the vehicle
says what is true now. An airborne vehicle is always brought home (the lid is opened first,
since the dock may have closed or lost track of it); a vehicle that landed meanwhile is
finished as a landing; a launch that never left the ground is called off.
"""

from __future__ import annotations

import logging
from typing import Any

from edge.dock import DockError
from edge.errors import FlightError
from edge.protocol import EventType, GeoPoint, Phase
from edge.sortie.machine import FLYING, SortieMachine
from edge.sortie.pilot import Leg, Pilot

__all__ = ["recover"]

logger = logging.getLogger(__name__)


def _phase(record: dict[str, Any] | None) -> Phase | None:
    try:
        return Phase(record["phase"]) if record else None
    except (KeyError, ValueError):
        return None


def _target(record: dict[str, Any]) -> GeoPoint | None:
    try:
        return GeoPoint.model_validate(record.get("target"))
    except ValueError:
        return None


async def recover(
    pilot: Pilot, machine: SortieMachine, record: dict[str, Any] | None
) -> Leg | None:
    """Restore the machine from ``record`` and the vehicle; returns the first leg to fly, if any."""
    was = _phase(record)
    try:
        state = await pilot.vehicle.wait_for(
            lambda s: s.connected and s.position is not None and s.in_air_known,
            timeout_s=pilot.config.vehicle.connect_timeout_s,
            what="vehicle connection",
        )
    except FlightError:
        state = None
    in_flight = was in FLYING or was in (Phase.PREFLIGHT, Phase.LAUNCHING)
    if state is None and not in_flight:
        machine.start_in(Phase.CHARGING if was is Phase.CHARGING else Phase.DOCKED)
        return None
    assert record is not None or state is not None
    sortie_id = str(record["sortie_id"]) if record and record.get("sortie_id") else None
    incident_id = str(record["incident_id"]) if record and record.get("incident_id") else None
    target = _target(record) if record else None
    seq = record.get("seq") if record else None
    machine.seq = seq if isinstance(seq, int) and seq > 0 else 0  # the sortie's numbering goes on
    alt = record.get("alt_rel_m") if record else None
    pilot.return_alt = float(alt) if isinstance(alt, int | float) and alt > 0 else None
    if state is None or state.in_air or (state.armed and (state.alt_rel_m or 0.0) > 1.0):
        return await _airborne(pilot, machine, was, sortie_id, incident_id, target, state is None)
    if not in_flight:
        machine.start_in(Phase.CHARGING if was is Phase.CHARGING else Phase.DOCKED)
        if pilot.dock.status().lid != "closed":
            await _close(pilot)
        return None
    if was in (Phase.PREFLIGHT, Phase.LAUNCHING) and not state.armed:
        machine.restore(Phase.PREFLIGHT, sortie_id, incident_id, target, found="on_ground")
        await pilot.abandon_launch(EventType.ABORTED, "edge restarted before take-off")
        return None
    machine.restore(Phase.LANDING, sortie_id, incident_id, target, found="on_ground", was=was)
    pilot.exit_phase = Phase.FAILSAFE
    return pilot.landing()


async def _airborne(
    pilot: Pilot,
    machine: SortieMachine,
    was: Phase | None,
    sortie_id: str | None,
    incident_id: str | None,
    target: GeoPoint | None,
    no_link: bool,
) -> Leg | None:
    restore_as = was if was in FLYING else Phase.FAILSAFE
    machine.restore(
        restore_as,
        sortie_id,
        incident_id,
        target,
        found="no_vehicle_link" if no_link else "airborne",
        was=was,
    )
    pilot.exit_phase = Phase.FAILSAFE
    if pilot.dock.status().lid != "open":
        try:
            await pilot.open_lid()
            machine.note(EventType.LID_OPEN)
        except DockError as exc:
            logger.error("lid would not open for the return: %s", exc)
    home = pilot.go_home()
    if no_link:
        return pilot.link_wait(home, lambda leg, _: leg)
    if machine.phase is Phase.LANDING:
        return pilot.landing()
    if machine.phase is not Phase.RETURNING:
        machine.transition(Phase.RETURNING, EventType.RETURNING, reason="edge_restarted")
    return home


async def _close(pilot: Pilot) -> None:
    try:
        await pilot.dock.close_lid(pilot.config.dock.lid_timeout_s)
    except DockError as exc:
        logger.error("lid would not close: %s", exc)
