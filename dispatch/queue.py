"""The incident queue: incidents no dock can take now, dispatched as soon as a dock can.

The incident service queues an incident (status ``queued``) when no dock can go now but
some dock could once ready (:meth:`dispatch.choice.Chooser.later`). The queue is the store's
queued incidents, served in priority order (1 first), then oldest first. A pass over it runs
whenever the fleet says a dock may be able to take more (a dock's state or availability
changed, or its charge passed a whole percent), when an incident joins the queue and when
a priority changes; never on a timer. Passes run one at a time in one task, and each
dispatch holds its dock in the store (:mod:`dispatch.claims`) until the dock's sortie ends, so
one ready dock is never sent to two queued incidents. Every instance serves the queue: the
store's lease on each incident lets one dispatch it, and docks any instance holds are skipped.
The dispatcher can cancel a queued incident or change its priority; every step is on the
incident's timeline and in the audit log.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError

from dispatch.choice import Chooser
from dispatch.fleet import DockView, Fleet
from dispatch.incidents import IncidentService, note
from dispatch.models import DockReasonPublic, IncidentRecord, IncidentStatus, QueuePublic
from dispatch.queue_wait import Waiting, expected_waits, scene_left_s
from dispatch.service_errors import ConflictError, DispatchError, NoDockError
from edge.protocol import now_utc

__all__ = ["IncidentQueue"]

logger = logging.getLogger(__name__)

RETRY_S = 1.0


class IncidentQueue:
    """Serves queued incidents as docks become able.

    Args:
        incidents: the incident service (dispatching, the store).
        fleet: the live fleet, whose changes wake the queue.
        chooser: dock choice over the fleet.
    """

    def __init__(self, incidents: IncidentService, fleet: Fleet, chooser: Chooser) -> None:
        self.incidents = incidents
        self.store = incidents.store
        self.fleet = fleet
        self.chooser = chooser
        self._wake = asyncio.Event()
        self._pending = True  # unknown until the first pass: incidents queued before a restart
        incidents.on_queued = self.wake
        fleet.listeners.append(self._fleet_changed)

    def wake(self) -> None:
        """Ask for a pass over the queue."""
        self._pending = True
        self._wake.set()

    def _fleet_changed(self, view: DockView) -> None:
        if self._pending and view.eligible:
            self._wake.set()

    async def run(self) -> None:
        """Pass over the queue each time something may let an incident go; forever."""
        self._wake.set()
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.serve()
            except (SQLAlchemyError, OSError, DispatchError) as exc:
                logger.warning("serving the incident queue failed (%s); trying again", exc)
                await asyncio.sleep(RETRY_S)  # back-off while the store is away
                self._wake.set()

    async def serve(self) -> list[IncidentRecord]:
        """One pass: dispatch every queued incident a dock can take now, in order.

        Returns:
            The incidents that left the queue (dispatched).
        """
        waiting = await self.store.queued_incidents()
        self._pending = bool(waiting)
        gone: list[IncidentRecord] = []
        svc = self.incidents
        held = await svc.claims.busy() if waiting else {}  # by any instance
        for incident in waiting:
            exclude = {**held, **svc.reserved()}
            if not self.fleet.eligible_ids() - exclude.keys():
                break  # every dock that could go is out or held (by any instance)
            if not self.chooser.choose(svc.mission(incident), k=1, exclude=exclude):
                continue
            current = await svc.get(incident.id)
            if current.status is not IncidentStatus.QUEUED:
                continue  # cancelled or closed meanwhile
            try:
                record = await svc.dispatch(current, "system")
            except NoDockError as exc:  # no dock could ever take it any more
                logger.warning("queued incident %s: %s", incident.id, exc.reason)
                continue
            if record.status is not IncidentStatus.QUEUED:
                gone.append(record)
                held = await svc.claims.busy()
        self._pending = len(gone) < len(waiting)
        return gone

    async def positions(self) -> dict[str, QueuePublic]:
        """Each queued incident's place, expected wait and the docks it waits for."""
        waiting = await self.store.queued_incidents()
        items = []
        for incident in waiting:
            options = self.chooser.later(self.incidents.mission(incident))
            items.append(Waiting(incident, options))
        now, scene = now_utc(), {}
        for view in self.fleet:
            s = view.state
            if s is not None and s.incident_id and s.sortie_id:
                flying_for = await self.store.get_incident(s.incident_id)
                scene[view.dock_id] = scene_left_s(flying_for, now)
        waits = expected_waits(self.fleet, items, scene)
        out = {}
        for n, item in enumerate(items, start=1):
            mission = self.incidents.mission(item.incident)
            known = {o.dock_id for o in item.options}
            reasons = [r for r in self.chooser.reasons(mission) if r.dock_id in known]
            out[item.incident.id] = QueuePublic(
                position=n,
                expected_wait_s=waits.get(item.incident.id),
                docks=[DockReasonPublic(**r.__dict__) for r in reasons],
            )
        return out

    async def _queued(self, incident_id: str) -> IncidentRecord:
        incident = await self.incidents.get(incident_id)
        if incident.status is not IncidentStatus.QUEUED:
            raise ConflictError(
                f"incident {incident_id} is not queued (it is {incident.status.value})",
                code="not_queued",
            )
        return incident

    async def cancel(self, incident_id: str, actor: str) -> IncidentRecord:
        """Take a queued incident out of the queue: it is closed, no dock is sent.

        Raises:
            ConflictError: ``not_queued`` when it is not waiting in the queue.
        """
        await self._queued(incident_id)
        now = now_utc()
        async with self.store.tx() as tx:
            record = await tx.update_incident(
                incident_id, status=IncidentStatus.CLOSED, closed_at=now, updated_at=now
            )
            text = f"cancelled by {actor} while queued"
            await note(tx, incident_id, "incident", "cancelled", text, at=now)
            await tx.audit(actor, "incident.cancel", incident_id, {}, now)
        assert record is not None
        return record

    async def set_priority(self, incident_id: str, priority: int, actor: str) -> IncidentRecord:
        """Change an open incident's priority (a queued one moves in the queue with it).

        Raises:
            ConflictError: when the incident is closed.
        """
        incident = await self.incidents.get(incident_id)
        if incident.status is IncidentStatus.CLOSED:
            raise ConflictError(f"incident {incident_id} is closed")
        if incident.priority == priority:
            return incident
        now = now_utc()
        async with self.store.tx() as tx:
            record = await tx.update_incident(incident_id, priority=priority, updated_at=now)
            text = f"priority {incident.priority} → {priority}, by {actor}"
            await note(tx, incident_id, "incident", "priority", text, at=now)
            detail = {"from": incident.priority, "to": priority}
            await tx.audit(actor, "incident.priority", incident_id, detail, now)
        assert record is not None
        if record.status is IncidentStatus.QUEUED:
            self.wake()
        return record
