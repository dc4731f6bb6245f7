"""Work another instance left unfinished: incidents whose lease ran out, taken over.

An instance holds a lease on each incident it works on (:mod:`dispatch.claims`): while it
dispatches it (the wait for each dock's ack included), then until the dock's launch deadline.
An instance that dies stops renewing; every instance looks for expired leases every
``[cluster] sweep_s`` and one of them (the one whose lease takes it) finishes the work:

- the dock it was waiting for accepted (the ack was stored, by whichever instance got it, or
  the dock's state, which every instance sees, shows it flying for the incident): the
  incident is that dock's, as if the wait had ended there;
- no ack came: the wait is given up in the store (an ack arriving now is late, and a late
  acceptance is recalled) and the incident is dispatched again;
- a queued incident waits in the queue, which every instance serves;
- a dock that accepted and is still not airborne at its deadline is passed over, as the
  instance that sent it would have.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from dispatch.claims import Claims, Lease
from dispatch.commander import ack_of
from dispatch.incidents import SETTLED, IncidentService, note
from dispatch.launch import NOT_YET_AIRBORNE, LaunchWatch
from dispatch.models import CommandRecord, IncidentRecord, IncidentStatus
from dispatch.outcome import status_after
from dispatch.queue import IncidentQueue
from dispatch.service_errors import DispatchError, NoDockError
from dispatch.store import tables as t
from edge.protocol import Event, now_utc

__all__ = ["Takeover"]

logger = logging.getLogger(__name__)


class Takeover:
    """Finds expired leases and finishes their work.

    Args:
        incidents: the incident service.
        queue: woken for a queued incident taken over.
        launches: passes over a dock not airborne in time.
        every_s: how often to look.
    """

    def __init__(
        self,
        incidents: IncidentService,
        queue: IncidentQueue,
        launches: LaunchWatch,
        every_s: float,
    ) -> None:
        self.incidents = incidents
        self.claims: Claims = incidents.claims
        self.queue = queue
        self.launches = launches
        self.every_s = every_s
        self.taken: list[str] = []  # incident ids taken over, for logs and tests

    async def run(self) -> None:
        """Look for expired leases every ``every_s``; forever."""
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.sweep()
            except (SQLAlchemyError, OSError, DispatchError) as exc:
                logger.warning("looking for work left by other instances failed: %s", exc)

    async def sweep(self) -> list[str]:
        """Take over every incident whose lease expired; their ids."""
        done = []
        for incident_id, purpose, owner in await self.claims.expired():
            lease = await self.claims.take(incident_id, "takeover", self.incidents.lease_for())
            if lease is None:
                continue  # another instance took it first
            try:
                await self._resume(lease, purpose, owner)
            except NoDockError as exc:
                logger.warning("incident %s taken over: %s", incident_id, exc.reason)
            finally:
                await self.claims.release(lease)
            done.append(incident_id)
        self.taken.extend(done)
        return done

    async def _resume(self, lease: Lease, purpose: str, owner: str) -> None:
        svc = self.incidents
        incident = await svc.store.get_incident(lease.incident_id)
        if incident is None:
            return
        if purpose == "launch":
            if incident.status in NOT_YET_AIRBORNE and incident.dock_id is not None:
                logger.warning("incident %s: launch watch of %s taken over", incident.id, owner)
                await self.claims.release(lease)  # dispatching it again takes a lease of its own
                await self.launches.pass_over(incident.id, incident.dock_id)
            return
        if incident.status in SETTLED:
            return
        last = await self._last_dispatch(incident.id)
        ack = ack_of(last) if last is not None else None
        if last is not None and ack is None:
            async with svc.store.tx() as tx:
                given_up = await tx.give_up(last.id)
            ack = ack_of(given_up) if given_up is not None else None
        if last is not None and last.dock_id != incident.dock_id:
            sortie_id = ack.sortie_id if ack is not None and ack.ok else self._flying(last)
            sortie_id = sortie_id or await self._flown(last)
            if sortie_id is not None:
                await self._adopt(incident, last, sortie_id, owner)
                return
        if last is not None:
            async with svc.store.tx() as tx:
                await svc.claims.free_dock(tx, last.dock_id, incident.id)
        logger.warning("incident %s: dispatching it again, left by %s", incident.id, owner)
        async with svc.store.tx() as tx:
            text = f"taken over from {owner}, which stopped while dispatching it"
            await note(tx, incident.id, "dispatch", "takeover", text)
        if incident.status is IncidentStatus.QUEUED:
            self.queue.wake()
            return
        await svc.dispatch_leased(incident, "system", lease)

    async def _last_dispatch(self, incident_id: str) -> CommandRecord | None:
        c = t.commands.c
        rows = await self.incidents.store.rows(
            select(t.commands)
            .where(c.incident_id == incident_id, c.type == "dispatch")
            .order_by(c.issued_at.desc())
            .limit(1)
        )
        return CommandRecord.model_validate(rows[0]) if rows else None

    def _flying(self, command: CommandRecord) -> str | None:
        """The sortie the command's dock flies for the command's incident, by its state (the
        ack may wait in the dead instance's session, the state reaches every instance)."""
        view = self.incidents.fleet.get(command.dock_id)
        state = view.state if view is not None else None
        if state is None or state.incident_id != command.incident_id:
            return None
        return state.sortie_id

    async def _flown(self, command: CommandRecord) -> str | None:
        """The sortie the command's dock reported for the command's incident, by its stored
        events (it may have flown it already)."""
        c = t.events.c
        rows = await self.incidents.store.rows(
            select(c.sortie_id)
            .where(
                c.incident_id == command.incident_id,
                c.dock_id == command.dock_id,
                c.sortie_id.is_not(None),
            )
            .limit(1)
        )
        return str(rows[0]["sortie_id"]) if rows else None

    async def _status(self, dock_id: str, sortie_id: str) -> IncidentStatus:
        """Where the sortie's stored events have got the incident to."""
        c = t.events.c
        rows = await self.incidents.store.rows(
            select(t.events)
            .where(c.dock_id == dock_id, c.sortie_id == sortie_id)
            .order_by(c.seq, c.at)
        )
        status = IncidentStatus.DISPATCHED
        for row in rows:
            ev = Event.model_validate({k: v for k, v in row.items() if k != "received_at"})
            status = status_after(ev) or status
        return status

    async def _adopt(
        self, incident: IncidentRecord, command: CommandRecord, sortie_id: str, owner: str
    ) -> None:
        """The dock accepted while its sender was gone: the incident is the dock's."""
        svc = self.incidents
        dock_id = command.dock_id
        async with svc.store.tx() as tx:
            refused = await svc.claims.claim_dock(
                tx, dock_id, incident.id, command.id, svc.config.reserve_ttl_s
            )
            if refused is not None:
                logger.warning("incident %s: %s accepted but %s", incident.id, dock_id, refused)
            await svc.claims.hold_dock(tx, dock_id, incident.id, svc.config.reserve_ttl_s)
            record = await tx.update_incident(
                incident.id,
                status=await self._status(dock_id, sortie_id),
                dock_id=dock_id,
                sortie_id=sortie_id,
                updated_at=now_utc(),
            )
            text = f"{dock_id} accepted; taken over from {owner}, which stopped while waiting"
            await note(tx, incident.id, "dispatch", "dispatched", text, dock_id=dock_id)
        logger.warning("incident %s: %s accepted, taken over from %s", incident.id, dock_id, owner)
        if record is not None and record.status is IncidentStatus.DISPATCHED and svc.on_assigned:
            svc.on_assigned(record.id, dock_id)
