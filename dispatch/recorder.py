"""Stores what the docks report: events exactly once, acks, first sightings of tracks.

The MQTT receiver never waits on the database; it queues these messages, each with its
acknowledgement to the broker, and :meth:`Recorder.run` stores whatever has queued up in one
transaction (a batch, so storing keeps up with a busy fleet), then acknowledges every message
of the batch: one the broker counts as delivered is one that is stored. A database outage
delays a batch, retried whole, never drops it; an event delivered twice (dispatch died between
the commit and the acknowledgement) is stored once, by its id.

Events move their incident's status and timeline along, but only the incident and sortie they
belong to: an event enters an incident's timeline only when dispatch sent that dock to that
incident, and moves its status only when the dock is the one assigned and the sortie is the
incident's. Any other is stored, counted as ``foreign`` and logged.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from dispatch.claims import Claims
from dispatch.commander import Commander
from dispatch.incidents import IncidentService, note
from dispatch.launch import LaunchWatch
from dispatch.metrics import Metrics
from dispatch.models import IncidentRecord, IncidentStatus
from dispatch.outcome import UNSERVED, describe, reopen_if_unserved, status_after
from dispatch.sequence import Gap, SortieSequences
from dispatch.service_errors import DispatchError, DockReason
from dispatch.store.sql import SqlStore, Tx
from edge.comms.mqtt import Ack as MqttAck
from edge.protocol import Ack, DetectedObject, Event, EventType, ResendBody, now_utc
from edge.protocol.commands import MAX_RESEND

__all__ = ["LateAck", "NewTracks", "Recorder", "StoreJob"]

logger = logging.getLogger(__name__)

RETRY_MAX_S = 5.0
RESEND_TTL_S = 60.0
BATCH_MAX = 200
"""Most messages stored in one transaction (it holds SQLite's one writer while it runs)."""
FAILED_BEFORE_TAKEOFF = frozenset({EventType.PREFLIGHT_FAILED, EventType.REJECTED})
GAP_GRACE_S = 5.0
"""Shared mode: a gap still there this long after it was seen is flagged."""
SORTIE_OVER = FAILED_BEFORE_TAKEOFF | {EventType.DOCKED, EventType.LANDED}


@dataclass(frozen=True)
class NewTracks:
    """Objects seen for the first time in a sortie."""

    dock_id: str
    sortie_id: str
    objects: list[DetectedObject]


@dataclass(frozen=True)
class LateAck:
    """An ack, and whether its sender had already given up waiting for it."""

    ack: Ack
    late: bool


class StoreJob(Protocol):
    """Anything else to store in order with the events (flight log, track points)."""

    async def store(self, store: SqlStore) -> None: ...


Item = Event | LateAck | NewTracks | StoreJob
Batched = Event | LateAck | NewTracks
After = list[Callable[[], object]]
"""What to do once a batch is committed (awaited when it returns an awaitable)."""


def _nothing() -> None:
    return None


class Recorder:
    """Consumes the queue of reported messages and stores them.

    Args:
        store: the store.
        incidents: for recalling a dock that accepted too late.
        commander: tells whether an ack came after its sender gave up.
        metrics: the instance's metrics.
        maxsize: queue bound; the MQTT receiver waits when it is full.
        spawn: starts a background coroutine (the runtime's task group), for re-dispatching
            an incident whose dock failed before take-off.
        launches: told when an incident's drone is airborne (its launch deadline ends).
        batch_max: most messages stored in one transaction (1: one transaction each).
        shared: other instances store events of the same sorties (a shared subscription):
            a gap is confirmed against the store a moment later before it is flagged.
    """

    def __init__(
        self,
        store: SqlStore,
        incidents: IncidentService,
        commander: Commander,
        metrics: Metrics,
        maxsize: int = 100_000,
        spawn: Callable[[Coroutine[Any, Any, None]], object] | None = None,
        launches: LaunchWatch | None = None,
        batch_max: int = BATCH_MAX,
        shared: bool = False,
    ) -> None:
        self.batch_max = batch_max
        self.spawn = spawn
        self.launches = launches
        self.store = store
        self.incidents = incidents
        self.commander = commander
        self.metrics = metrics
        self.sequences = SortieSequences(shared=shared)
        self.queue: asyncio.Queue[tuple[Item, MqttAck]] = asyncio.Queue(maxsize)
        self.idle = asyncio.Event()
        self.idle.set()

    async def put(self, item: Item, ack: MqttAck = _nothing) -> None:
        """Queue ``item``; ``ack`` is called once it is stored (or can never be)."""
        self.idle.clear()
        await self.queue.put((item, ack))
        self.metrics.queue.set(self.queue.qsize())

    async def run(self) -> None:
        """Store queued items forever, in batches of what has queued up meanwhile."""
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.batch_max and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            stored = False
            try:
                await self.store_batch([item for item, _ in batch])
                stored = True
            finally:
                # Cancelled mid-batch: nothing acknowledged, the broker delivers it again.
                # Stored: acknowledged before anyone waiting for the queue to empty wakes.
                for _, ack in batch if stored else ():
                    ack()
                for _ in batch:
                    self.queue.task_done()
            self.metrics.queue.set(self.queue.qsize())
            if self.queue.empty():
                self.idle.set()

    async def store_batch(self, items: list[Item]) -> None:
        """Store ``items`` in order: runs of reported messages one transaction each, any other
        job on its own."""
        run: list[Batched] = []
        for item in items:
            if isinstance(item, Event | LateAck | NewTracks):
                run.append(item)
                continue
            await self._store_run(run)
            run = []
            await self._retrying(item, functools.partial(item.store, self.store))
        await self._store_run(run)

    async def _store_run(self, run: list[Batched]) -> None:
        if not run:
            return
        after: After = []

        async def one_tx() -> None:
            after.clear()
            try:
                async with self.store.tx() as tx:
                    for item in run:
                        await self.handle(tx, item, after)
            except BaseException:
                self.sequences.forget()  # it followed events that are not stored after all
                raise

        if not await self._retrying(run, one_tx):
            if len(run) > 1:  # one item the store cannot take: store the others without it
                for item in run:
                    await self._store_run([item])
            return
        for action in after:
            try:
                result = action()
                if inspect.isawaitable(result):
                    await result
            except Exception:  # stored already: a failed follow-up is logged, not retried
                logger.exception("after storing: %r failed", action)

    async def _retrying(
        self, what: object, attempt: Callable[[], Coroutine[Any, Any, None]]
    ) -> bool:
        """Run ``attempt`` until it succeeds, waiting out database outages; ``False`` when it
        fails otherwise (logged: such an item is dropped)."""
        delay = 0.1
        while True:
            try:
                await attempt()
                return True
            except (SQLAlchemyError, OSError, DispatchError) as exc:
                logger.warning("storing failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
            except Exception:
                logger.exception("cannot store %r", what)
                return False

    async def handle(self, tx: Tx, item: Batched, after: After) -> None:
        """Store one reported message in ``tx``; what follows a commit goes to ``after``."""
        if isinstance(item, Event):
            await self.on_event(tx, item, after)
        elif isinstance(item, LateAck):
            await self.on_ack(tx, item.ack, item.late, after)
        else:
            await self.on_tracks(tx, item)

    @staticmethod
    async def _incident_of(
        tx: Tx, incident_id: str | None, sortie_id: str | None
    ) -> IncidentRecord | None:
        if incident_id:
            found = await tx.incident_by("id", incident_id)
            if found is not None:
                return found
        if sortie_id:
            return await tx.incident_by("sortie_id", sortie_id)
        return None

    @staticmethod
    async def _belongs(tx: Tx, ev: Event, incident: IncidentRecord) -> bool:
        """Whether dispatch sent ``ev``'s dock to ``incident`` (and, once known, that sortie)."""
        if incident.dock_id == ev.dock_id:
            return not (incident.sortie_id and ev.sortie_id and ev.sortie_id != incident.sortie_id)
        return await tx.sent_to(incident.id, ev.dock_id)

    @staticmethod
    def _moves(ev: Event, incident: IncidentRecord) -> bool:
        """Whether ``ev`` may change the incident's status: its assigned dock, its sortie."""
        return (
            incident.dock_id == ev.dock_id
            and incident.status is not IncidentStatus.CLOSED
            and not (incident.sortie_id and ev.sortie_id != incident.sortie_id)
        )

    async def on_event(self, tx: Tx, ev: Event, after: After) -> None:
        """Store an event once; move its own incident's status and timeline along."""
        incident = await self._incident_of(tx, ev.incident_id, ev.sortie_id)
        if incident is not None and not await self._belongs(tx, ev, incident):
            after.append(self.metrics.events.labels("foreign").inc)
            logger.warning(
                "event %s (%s) of %s names incident %s, which that dock was not sent to; "
                "kept out of its timeline and its events",
                ev.id[:64],
                ev.type.value,
                ev.dock_id,
                incident.id,
            )
            claimed = {**ev.detail, "claimed_incident_id": incident.id}
            ev = ev.model_copy(update={"incident_id": None, "detail": claimed})
            incident = None
        if not await tx.insert_event(ev, now_utc()):
            after.append(self.metrics.events.labels("duplicate").inc)
            return
        detail: dict[str, Any] = {
            "type": ev.type.value,
            "sortie_id": ev.sortie_id,
            "incident_id": ev.incident_id,
        }
        await tx.audit(f"dock:{ev.dock_id}", f"event.{ev.type.value}", ev.id, detail, ev.at)
        after.append(self.metrics.events.labels("stored").inc)
        late = await self._sequence(tx, ev, incident, after)
        if incident is not None:
            await self._advance(tx, ev, incident, after, late=late)

    async def _sequence(
        self, tx: Tx, ev: Event, incident: IncidentRecord | None, after: After
    ) -> bool:
        """Flag the events of ``ev``'s sortie it shows were missed; whether it fills a gap."""
        gap, late = await self.sequences.arrived(tx, ev)
        if late:
            after.append(self.metrics.events.labels("late").inc)
        if gap is None:
            return late
        if self.sequences.shared and self.spawn is not None:
            spawn, suspected = self.spawn, gap
            incident_of = incident.id if incident is not None else None
            after.append(lambda: spawn(self._confirm_gap(suspected, incident_of, ev.at)))
            return False
        after.append(lambda: self.metrics.events.labels("missing").inc(gap.count))
        incident_id = incident.id if incident is not None else None
        after.append(lambda: self._ask_again(gap, incident_id))
        if incident is not None:
            detail = {"sortie_id": gap.sortie_id, "first": gap.first, "last": gap.last}
            await note(
                tx,
                incident.id,
                "dispatch",
                "gap",
                gap.describe(),
                at=ev.at,
                dock_id=ev.dock_id,
                detail=detail,
            )
        return False

    async def _advance(
        self, tx: Tx, ev: Event, incident: IncidentRecord, after: After, *, late: bool = False
    ) -> None:
        """Put ``ev`` in its incident's timeline and move the incident's status along (not
        back: one that arrives ``late``, after events that followed it, moves nothing)."""
        await note(
            tx,
            incident.id,
            "event",
            ev.type.value,
            describe(ev),
            at=ev.at,
            dock_id=ev.dock_id,
            event_id=ev.id,
            detail=ev.detail,
        )
        status = None if late else status_after(ev)
        launches = self.launches
        if ev.type is EventType.AIRBORNE and self._moves(ev, incident):
            await Claims.drop_in(tx, incident.id, "launch")  # on whichever instance watches
            if launches is not None:
                after.append(lambda: launches.airborne(incident.id))
        completes = status is IncidentStatus.COMPLETED and self._moves(ev, incident)
        # with events of the sortie still missing, whether it got there is not known yet
        known = ev.sortie_id is None or not self.sequences.missing(ev.dock_id, ev.sortie_id)
        if completes and known and await reopen_if_unserved(tx, ev, incident):
            after.append(self.metrics.incidents.labels(UNSERVED).inc)
            return
        if status and self._moves(ev, incident):
            updates: dict[str, Any] = {"status": status, "updated_at": now_utc()}
            if incident.sortie_id is None and ev.sortie_id:
                updates["sortie_id"] = ev.sortie_id
            await tx.update_incident(incident.id, **updates)
        if ev.type in SORTIE_OVER:  # the dock is free for the next incident, on every instance
            await Claims.free_dock(tx, ev.dock_id, incident.id)
        failed = self._failed_before_takeoff(ev, incident)
        if failed is None:
            return
        await note(
            tx,
            incident.id,
            "dispatch",
            "fallback",
            f"{ev.dock_id}: {failed.reason}; sending the next best dock",
            dock_id=ev.dock_id,
            code=failed.code,
        )
        await tx.update_incident(
            incident.id,
            status=IncidentStatus.DISPATCHING,
            dock_id=None,
            sortie_id=None,
            eta_s=None,
            updated_at=now_utc(),
        )
        await Claims.drop_in(tx, incident.id, "launch")
        if self.spawn is not None:
            spawn = self.spawn
            after.append(lambda: spawn(self.incidents.redispatch(incident.id, failed)))

    def _failed_before_takeoff(self, ev: Event, incident: IncidentRecord) -> DockReason | None:
        """The reason to send another dock, when the assigned one gave up before take-off."""
        early = incident.status in (IncidentStatus.DISPATCHED, IncidentStatus.LAUNCHING)
        if ev.type not in FAILED_BEFORE_TAKEOFF or incident.dock_id != ev.dock_id or not early:
            return None
        reason = str(ev.detail.get("reason") or ev.type.value.replace("_", " "))[:300]
        return DockReason(ev.dock_id, ev.type.value, reason)

    async def on_ack(self, tx: Tx, ack: Ack, late: bool, after: After) -> None:
        """Attach an ack to its command and timeline; recall a dock that accepted too late."""
        command, first = await tx.record_ack(ack)
        if command is None or not first:
            return
        late = late or command.gave_up_at is not None  # its sender may be on another instance
        detail = {
            "cmd_id": ack.cmd_id,
            "ok": ack.ok,
            "code": ack.code.value,
            "reason": ack.reason,
        }
        await tx.audit(f"dock:{ack.dock_id}", "ack", command.id, detail, ack.at)
        if command.incident_id:
            verdict = "accepted" if ack.ok else f"refused ({ack.code.value}: {ack.reason})"
            await note(
                tx,
                command.incident_id,
                "ack",
                command.type,
                f"{ack.dock_id} {verdict} {command.type}",
                at=ack.at,
                dock_id=ack.dock_id,
                code=ack.code.value,
            )
        incident_id = command.incident_id
        if late and ack.ok and command.type == "dispatch" and incident_id:
            after.append(lambda: self._recall_late(incident_id, ack))

    async def _confirm_gap(self, gap: Gap, incident_id: str | None, at: datetime) -> None:
        """Flag what of a suspected gap is still missing a moment later (shared mode)."""
        await asyncio.sleep(GAP_GRACE_S)
        try:
            stored = set(await self.store.sortie_seqs(gap.dock_id, gap.sortie_id))
            still = [n for n in range(gap.first, gap.last + 1) if n not in stored]
            if not still:
                return
            gap = Gap(gap.dock_id, gap.sortie_id, still[0], still[-1])
            logger.warning("%s", gap.describe())
            self.metrics.events.labels("missing").inc(len(still))
            if incident_id is not None:
                detail = {"sortie_id": gap.sortie_id, "first": gap.first, "last": gap.last}
                async with self.store.tx() as tx:
                    await note(
                        tx, incident_id, "dispatch", "gap", gap.describe(), at=at,
                        dock_id=gap.dock_id, detail=detail,
                    )  # fmt: skip
        except (SQLAlchemyError, OSError, DispatchError) as exc:
            logger.warning("checking a gap in %s failed: %s", gap.sortie_id, exc)
            return
        await self._ask_again(gap, incident_id)

    async def _ask_again(self, gap: Gap, incident_id: str | None) -> None:
        """Ask the dock to send the events of ``gap`` again (it keeps its sorties' events)."""
        seqs = list(range(gap.first, min(gap.last, gap.first + MAX_RESEND - 1) + 1))
        body = ResendBody(sortie_id=gap.sortie_id, seqs=seqs)
        command = self.commander.build("resend", gap.dock_id, body, RESEND_TTL_S)
        try:
            await self.commander.send(
                command, actor="system", incident_id=incident_id, wait_s=0.001
            )
        except (DispatchError, SQLAlchemyError, OSError) as exc:  # the gap stays flagged
            logger.warning("cannot ask %s to send events again: %s", gap.dock_id, exc)

    async def _recall_late(self, incident_id: str, ack: Ack) -> None:
        incident = await self.store.get_incident(incident_id)
        if incident is None or incident.dock_id == ack.dock_id:
            return
        command = self.incidents.commander.build(
            "recall", ack.dock_id, None, self.incidents.config.command_ttl_s
        )
        async with self.store.tx() as tx:
            await note(
                tx,
                incident_id,
                "dispatch",
                "late_accept",
                f"{ack.dock_id} accepted after the wait ended; recalling it",
                dock_id=ack.dock_id,
            )
        await self.commander.send(command, actor="system", incident_id=incident_id, wait_s=0.001)

    @staticmethod
    async def on_tracks(tx: Tx, item: NewTracks) -> None:
        """Store the first sighting of each new track, with the incident of its sortie."""
        incident = await tx.incident_by("sortie_id", item.sortie_id)
        if incident is not None and incident.dock_id != item.dock_id:
            incident = None  # another dock's sortie id: its sightings are not this incident's
        for obj in item.objects:
            assert obj.track_id is not None
            await tx.insert_detection(
                {
                    "incident_id": incident.id if incident else None,
                    "sortie_id": item.sortie_id,
                    "dock_id": item.dock_id,
                    "track_id": obj.track_id,
                    "cls": obj.cls,
                    "conf": obj.conf,
                    "lat": obj.geo.lat if obj.geo else None,
                    "lon": obj.geo.lon if obj.geo else None,
                    "first_seen": now_utc(),
                }
            )
