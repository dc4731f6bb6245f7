"""The launch deadline: a dock that accepted an incident but is not airborne in time is passed
over, and the incident goes to the next best dock or back to the dispatcher with the reason.

A dock can accept and then never fly: its hardware failed quietly, or the "dock" was a forgery
whose ack said yes. Waiting on it would leave the incident ``dispatched`` with nothing in the
air, so each assignment starts a watch; the dock's ``airborne`` event ends it, the deadline
(``[dispatch] airborne_deadline_s``) passes the dock over: a recall calls its launch off,
the timeline says why, and the incident is dispatched again without it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from dispatch.claims import Claims
from dispatch.incidents import IncidentService, note
from dispatch.models import IncidentStatus
from dispatch.service_errors import DispatchError, DockReason
from edge.protocol import now_utc

__all__ = ["LaunchWatch"]

logger = logging.getLogger(__name__)

NOT_YET_AIRBORNE = frozenset({IncidentStatus.DISPATCHED, IncidentStatus.LAUNCHING})
RECALL_WAIT_S = 0.001  # the recall is sent, not waited on: the dock may be a forgery


class LaunchWatch:
    """Watches every assigned dock until it is airborne or its deadline passes.

    Args:
        incidents: the incident service (re-dispatching, the store, the commander).
        spawn: starts a background coroutine (the runtime's task group).
        deadline_s: how long after its assignment a dock must be airborne.
    """

    def __init__(
        self,
        incidents: IncidentService,
        spawn: Callable[[Coroutine[Any, Any, None]], object],
        deadline_s: float,
    ) -> None:
        self.incidents = incidents
        self.spawn = spawn
        self.deadline_s = deadline_s
        self._airborne: dict[str, asyncio.Event] = {}

    def start(self, incident_id: str, dock_id: str) -> None:
        """Watch ``dock_id``, just assigned to ``incident_id``."""
        self._airborne[incident_id] = asyncio.Event()
        self.spawn(self._watch(incident_id, dock_id))

    def airborne(self, incident_id: str) -> None:
        """The incident's drone is in the air: its watch ends."""
        event = self._airborne.get(incident_id)
        if event is not None:
            event.set()

    async def _watch(self, incident_id: str, dock_id: str) -> None:
        event = self._airborne[incident_id]
        try:
            async with asyncio.timeout(self.deadline_s):
                await event.wait()
            return
        except TimeoutError:
            pass
        finally:
            if self._airborne.get(incident_id) is event:
                del self._airborne[incident_id]
        try:
            await self.pass_over(incident_id, dock_id)
        except DispatchError as exc:
            logger.warning("incident %s: passing %s over failed: %s", incident_id, dock_id, exc)

    async def pass_over(self, incident_id: str, dock_id: str) -> None:
        """Take the incident from a dock that is not airborne, and send the next best one."""
        svc = self.incidents
        incident = await svc.get(incident_id)
        if incident.dock_id != dock_id or incident.status not in NOT_YET_AIRBORNE:
            return  # it flew (on another instance), failed before take-off, or was closed
        reason = f"not airborne {self.deadline_s:g} s after accepting"
        logger.warning("incident %s: %s %s; passing it over", incident_id, dock_id, reason)
        async with svc.store.tx() as tx:
            await note(
                tx,
                incident_id,
                "dispatch",
                "fallback",
                f"{dock_id}: {reason}; recalling it and sending the next best dock",
                dock_id=dock_id,
                code="not_airborne",
            )
            await tx.update_incident(
                incident_id,
                status=IncidentStatus.DISPATCHING,
                dock_id=None,
                sortie_id=None,
                eta_s=None,
                updated_at=now_utc(),
            )
            await tx.audit(
                "system", "incident.passed_over", incident_id, {"dock_id": dock_id}, now_utc()
            )
            await Claims.drop_in(tx, incident_id, "launch")
            await Claims.free_dock(tx, dock_id, incident_id)
        recall = svc.commander.build("recall", dock_id, None, svc.config.command_ttl_s)
        try:
            await svc.commander.send(
                recall, actor="system", incident_id=incident_id, wait_s=RECALL_WAIT_S
            )
        except DispatchError as exc:  # the broker is away: the next dock matters more
            logger.warning("incident %s: recalling %s failed: %s", incident_id, dock_id, exc)
        await svc.redispatch(incident_id, DockReason(dock_id, "not_airborne", reason))
