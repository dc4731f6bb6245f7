"""What a sortie's events make of its incident: the status each moves it to, and at the end,
served or home without ever reaching the scene.

A drone back in its dock has completed its incident only if it got there: its sortie has an
``on_scene`` event. One that came home without (recalled, aborted, a failsafe, an edge that
restarted en route and flew home) leaves its incident open again, ``unassigned``, with a
timeline line saying why, so the dispatcher sends another dock rather than reading
``completed``.
"""

from __future__ import annotations

from dispatch.incidents import note
from dispatch.models import IncidentRecord, IncidentStatus
from dispatch.store.sql import Tx
from edge.protocol import Event, EventType, Phase, now_utc

__all__ = ["EVENT_STATUS", "UNSERVED", "describe", "reopen_if_unserved", "status_after"]

EVENT_STATUS: dict[EventType, IncidentStatus] = {
    EventType.ACCEPTED: IncidentStatus.DISPATCHED,
    EventType.LID_OPEN: IncidentStatus.LAUNCHING,
    EventType.ARMED: IncidentStatus.LAUNCHING,
    EventType.AIRBORNE: IncidentStatus.EN_ROUTE,
    EventType.EN_ROUTE: IncidentStatus.EN_ROUTE,
    EventType.RETASKED: IncidentStatus.EN_ROUTE,
    EventType.ON_SCENE: IncidentStatus.ON_SCENE,
    EventType.RECALLED: IncidentStatus.RETURNING,
    EventType.RETURNING: IncidentStatus.RETURNING,
    EventType.LANDING: IncidentStatus.RETURNING,
    EventType.LANDED: IncidentStatus.COMPLETED,
    EventType.DOCKED: IncidentStatus.COMPLETED,
    EventType.ABORTED: IncidentStatus.ABORTED,
    EventType.FAILSAFE: IncidentStatus.FAILSAFE,
}
ENDED_AWAY = {Phase.ABORTED: IncidentStatus.ABORTED, Phase.FAILSAFE: IncidentStatus.FAILSAFE}

UNSERVED = "unserved"
"""The timeline line's ``type`` when an incident is opened again this way."""

# What in a sortie explains a return before the scene, most telling first.
WHY = (
    (EventType.FAILSAFE, "after a failsafe"),
    (EventType.ABORTED, "aborted"),
    (EventType.RESUMED, "its edge restarted on the way"),
    (EventType.RECALLED, "recalled"),
)


def status_after(ev: Event) -> IncidentStatus | None:
    """The incident status an event moves to; a landing away from the dock is no completion."""
    if ev.type is EventType.LANDED and ev.detail.get("at_dock") is False:
        return ENDED_AWAY.get(ev.phase or Phase.FAILSAFE, IncidentStatus.FAILSAFE)
    return EVENT_STATUS.get(ev.type)


def describe(ev: Event) -> str:
    """A timeline line for an event."""
    words = ev.type.value.replace("_", " ")
    reason = ev.detail.get("reason") if isinstance(ev.detail, dict) else None
    return f"{ev.dock_id}: {words}" + (f" ({str(reason)[:200]})" if reason else "")


async def reopen_if_unserved(tx: Tx, ev: Event, incident: IncidentRecord) -> bool:
    """Open ``incident`` again when ``ev`` ends its sortie before the scene was reached.

    Only for an event that would complete the incident, from its assigned dock and sortie.

    Returns:
        whether the incident was opened again (its status is then ``unassigned``).
    """
    sortie_id = ev.sortie_id or incident.sortie_id
    if sortie_id is None:
        return False
    seen = await tx.sortie_event_types(ev.dock_id, sortie_id)
    if EventType.ON_SCENE.value in seen:
        return False
    why = next((text for kind, text in WHY if kind.value in seen), "for a reason not reported")
    await note(
        tx,
        incident.id,
        "dispatch",
        UNSERVED,
        f"{ev.dock_id}: back at its dock without reaching the scene ({why}); "
        "the incident needs another dock",
        at=ev.at,
        dock_id=ev.dock_id,
        detail={"sortie_id": sortie_id, "ended_with": ev.type.value},
    )
    await tx.update_incident(
        incident.id,
        status=IncidentStatus.UNASSIGNED,
        dock_id=None,
        sortie_id=None,
        eta_s=None,
        updated_at=now_utc(),
    )
    return True
