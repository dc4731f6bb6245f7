"""Incidents: raise one, send the best dock (falling back on refusal or silence), act on it.

An incident no dock can take now, but some dock could once ready, is queued (status
``queued``) and dispatched later by :mod:`dispatch.queue`; one no dock could ever take is
left ``unassigned`` and refused with every dock's reason.

The service holds the dispatch logic; routes only call it. Every step that matters to the
people in the control room goes into the incident's timeline, and every action into the
audit log.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError

from dispatch.choice import Chooser, Mission, Option
from dispatch.claims import ACTIVE, Claims, Lease
from dispatch.commander import Commander
from dispatch.config import DispatchConfig
from dispatch.fleet import AIRBORNE_PHASES, Fleet
from dispatch.metrics import Metrics
from dispatch.models import (
    CommandPublic,
    IncidentCreate,
    IncidentRecord,
    IncidentStatus,
    RetaskCreate,
)
from dispatch.remote import RemoteSorties
from dispatch.service_errors import (
    CommandError,
    ConflictError,
    DispatchError,
    DockReason,
    NoDockError,
    NotFoundError,
)
from dispatch.store.sql import SqlStore, Tx, lost_race
from edge.geo import LatLon
from edge.protocol import Ack, AckCode, DispatchBody, GeoPoint, RetaskBody, now_utc

__all__ = ["IncidentService"]

BUSY = DockReason("", AckCode.BUSY.value, "")
LATE_ACK_S = 2.0
"""A silent dock stays held this long past its command's expiry (an ack still on its way)."""
CLAIM_TRIES = 3
"""Claims of a dock run again when PostgreSQL ends one to break a deadlock."""
SETTLED = frozenset({IncidentStatus.CLOSED, *(IncidentStatus(s) for s in ACTIVE)})
"""An incident in one of these has its dock (or is closed): nothing to dispatch."""

logger = logging.getLogger(__name__)


def new_incident_id(now: datetime) -> str:
    """``INC-YYYYMMDD-XXXXXXXX``: sortable by day, unguessable within it."""
    return f"INC-{now:%Y%m%d}-{secrets.token_hex(4).upper()}"


async def note(tx: Tx, incident_id: str, kind: str, type_: str, text: str, **kw: Any) -> None:
    """Add one line to an incident's timeline."""
    await tx.add_timeline(
        incident_id, at=kw.pop("at", now_utc()), kind=kind, type=type_, text=text, **kw
    )


class IncidentService:
    """Raising, dispatching, recalling, retasking and closing incidents.

    Args:
        store: the store.
        fleet: the live fleet.
        chooser: dock choice over the fleet.
        commander: commands out, acks back.
        config: dispatch settings (timeouts, attempts, on-scene defaults).
        metrics: the instance's metrics.
        claims: dock holds and incident leases in the store (shared by the instances).
        cluster_lease_s: margin of an incident lease beyond the wait for an ack.
    """

    def __init__(
        self,
        store: SqlStore,
        fleet: Fleet,
        chooser: Chooser,
        commander: Commander,
        config: DispatchConfig,
        metrics: Metrics,
        claims: Claims | None = None,
        cluster_lease_s: float = 15.0,
    ) -> None:
        self.store = store
        self.fleet = fleet
        self.chooser = chooser
        self.commander = commander
        self.config = config
        self.metrics = metrics
        self.remote: RemoteSorties | None = None
        self.claims = claims or Claims(store, "local")
        self.cluster_lease_s = cluster_lease_s
        self._reserved: dict[str, tuple[str, float]] = {}
        self.on_assigned: Callable[[str, str], None] | None = None  # (incident, dock) accepted
        self.on_queued: Callable[[], None] | None = None  # an incident joined the queue

    # -- reservations: a dock just sent is not offered to the next incident -------------

    def reserved(self) -> dict[str, DockReason]:
        """Docks held for an incident whose state does not show it yet."""
        now, out = time.monotonic(), {}
        for dock_id, (incident_id, until) in list(self._reserved.items()):
            view = self.fleet.get(dock_id)
            taken = (
                view is not None
                and view.state is not None
                and view.state.incident_id == incident_id
            )
            if now > until or taken:
                del self._reserved[dock_id]
                continue
            out[dock_id] = DockReason(dock_id, "busy", f"sent to incident {incident_id}")
        return out

    # -- raising and dispatching --------------------------------------------------------

    async def create(
        self, req: IncidentCreate, actor: str, *, docks: frozenset[str] | None = None
    ) -> tuple[IncidentRecord, bool]:
        """Raise an incident and dispatch it; ``(incident, created)``.

        Idempotent on ``cad_ref``: a known reference returns the incident as it is, and is
        dispatched again only when no dock has it yet. ``docks`` limits the choice (the docks
        a sharing agreement lends a neighbour).

        Returns ``queued`` when no dock can go now but one could once ready (never for an
        incident limited to lent ``docks``: the neighbour keeps its own queue).

        Raises:
            NoDockError: no dock could ever take it (the incident is kept, ``unassigned``).
        """
        if req.cad_ref is not None:
            existing = await self.store.incident_by("cad_ref", req.cad_ref)
            if existing is not None:
                if existing.status is not IncidentStatus.UNASSIGNED:
                    return existing, False
                return await self.dispatch(existing, actor, only=docks), False
        now = now_utc()
        values = {
            "id": new_incident_id(now),
            **req.model_dump(exclude={"on_scene_s", "alt_rel_m"}),
            "status": IncidentStatus.DISPATCHING,
            "dock_id": None,
            "sortie_id": None,
            "eta_s": None,
            "target_lat": req.lat,
            "target_lon": req.lon,
            "alt_rel_m": req.alt_rel_m,
            "on_scene_s": req.on_scene_s
            if req.on_scene_s is not None
            else self.config.on_scene.duration_s,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
        }
        try:
            async with self.store.tx() as tx:
                record = await tx.insert_incident(values)
                await tx.audit(
                    actor, "incident.create", record.id, req.model_dump(mode="json"), now
                )
                where = f"{req.lat:.5f}, {req.lon:.5f}"
                await note(
                    tx,
                    record.id,
                    "incident",
                    "raised",
                    f"{req.type} at {where}, raised by {actor}",
                    at=now,
                )
        except IntegrityError:
            again = await self.store.incident_by("cad_ref", req.cad_ref or "")
            if again is None:
                raise
            return again, False
        return await self.dispatch(record, actor, only=docks), True

    def mission(self, incident: IncidentRecord) -> Mission:
        """What the incident asks of a drone: what dock choice prices and the command carries."""
        return self.mission_at(
            LatLon(incident.target_lat, incident.target_lon),
            incident.on_scene_s,
            incident.alt_rel_m,
        )

    def mission_at(
        self, target: LatLon, on_scene_s: float | None, alt_rel_m: float | None
    ) -> Mission:
        """The mission to ``target``, with dispatch's defaults where the request sets none."""
        return Mission(
            target=target,
            on_scene_s=self.config.on_scene.duration_s if on_scene_s is None else on_scene_s,
            pattern=self.config.on_scene,
            alt_rel_m=alt_rel_m or self.config.alt_rel_m,
        )

    def _dispatch_body(self, incident: IncidentRecord, option: Option) -> DispatchBody:
        return DispatchBody(
            incident_id=incident.id,
            target=GeoPoint(lat=incident.target_lat, lon=incident.target_lon),
            alt_rel_m=option.alt_rel_m,
            priority=incident.priority,
            on_scene=self.mission(incident).on_scene,
        )

    async def _try(
        self, incident: IncidentRecord, option: Option, actor: str
    ) -> Ack | DockReason | None:
        """Claim the dock (in the store, under its lock) and send it; its ack, ``None`` on
        silence, or why it could not be claimed (held for another incident by any instance)."""
        cfg = self.config
        command = self.commander.build(
            "dispatch", option.dock_id, self._dispatch_body(incident, option), cfg.ack_timeout_s
        )
        text = (
            f"sending {option.dock_id}: ETA {option.eta_s:.0f} s, {option.distance_m:.0f} m away, "
            f"needs {option.needed_pct:.0f}% of {option.battery_pct:.0f}% battery"
        )
        for attempt in range(CLAIM_TRIES):
            try:
                async with self.store.tx() as tx:
                    refused = await self.claims.claim_dock(
                        tx, option.dock_id, incident.id, command.id, self.lease_for()
                    )
                    if refused is not None:
                        return refused
                    await note(
                        tx,
                        incident.id,
                        "dispatch",
                        "candidate",
                        text,
                        dock_id=option.dock_id,
                        detail={"eta_s": option.eta_s, "route_m": option.route_m},
                    )
                break
            except DBAPIError as exc:  # lost a race for the locks to another instance
                if not lost_race(exc) or attempt == CLAIM_TRIES - 1:
                    raise
        self._reserved[option.dock_id] = (incident.id, time.monotonic() + cfg.reserve_ttl_s)
        ack: Ack | None = None
        try:
            ack = await self.commander.send(
                command, actor=actor, incident_id=incident.id, wait_s=cfg.ack_timeout_s
            )
        finally:
            if ack is None or not ack.ok:
                self._reserved.pop(option.dock_id, None)
                async with self.store.tx() as tx:
                    if ack is None:  # silent: it may still accept until its command expires
                        until = command.expires_at + timedelta(seconds=LATE_ACK_S)
                        await self.claims.hold_until(tx, option.dock_id, incident.id, until)
                    else:
                        await self.claims.free_dock(tx, option.dock_id, incident.id)
        return ack

    async def dispatch(
        self,
        incident: IncidentRecord,
        actor: str,
        exclude: dict[str, DockReason] | None = None,
        only: frozenset[str] | None = None,
    ) -> IncidentRecord:
        """Send the best dock; on refusal or silence, the next best, up to ``max_attempts``.

        The instance holds a lease on the incident meanwhile (:mod:`dispatch.claims`): an
        incident another instance is dispatching is returned as it is.

        Args:
            incident: the incident to send a dock to.
            actor: who asked, for the audit log.
            exclude: docks not to try, with the reason (e.g. one that failed its preflight).
            only: when given, the docks that may be tried (the others are excluded).

        Returns:
            The incident, dispatched, or ``queued`` when no dock can go now but one could
            once ready (not when ``only`` is given).

        Raises:
            NoDockError: when no dock could ever take it; the incident is left ``unassigned``.
        """
        lease = await self.claims.take(incident.id, "dispatch", self.lease_for())
        if lease is None:
            return await self.get(incident.id)  # another instance is dispatching it now
        keep = False
        try:
            current = await self.get(incident.id)
            if current.status in SETTLED:
                return current  # dispatched (or closed) meanwhile, by another instance
            record = await self.dispatch_leased(current, actor, lease, exclude, only)
            keep = record.status is IncidentStatus.DISPATCHED  # the lease is the launch's now
            return record
        except DispatchError as exc:
            if isinstance(exc, NoDockError):
                raise
            # the broker or the store failed mid-way: the lease, expired now, hands the
            # incident to whichever instance looks next (this one included)
            keep = await self.claims.renew(lease, 0.0)
            raise
        finally:
            if not keep:
                await self.claims.release(lease)

    def lease_for(self) -> float:
        """How long one step of dispatching an incident may take before it counts as left."""
        return self.config.ack_timeout_s + self.cluster_lease_s

    async def dispatch_leased(
        self,
        incident: IncidentRecord,
        actor: str,
        lease: Lease,
        exclude: dict[str, DockReason] | None = None,
        only: frozenset[str] | None = None,
    ) -> IncidentRecord:
        """:meth:`dispatch`, under a lease on the incident this instance holds already."""
        mission = self.mission(incident)
        reserved = {**self.reserved(), **await self.claims.busy(), **(exclude or {})}
        if only is not None:
            for view in self.fleet:
                if view.dock_id not in only:
                    reserved[view.dock_id] = DockReason(
                        view.dock_id, "not_lent", "not lent under the sharing agreement"
                    )
        tried: dict[str, DockReason] = {}
        attempts = 0
        while attempts < self.config.max_attempts:
            options = self.chooser.choose(mission, k=1, exclude={**reserved, **tried})
            if not options:
                break
            option = options[0]
            if not await self.claims.renew(lease, self.lease_for()):
                return await self.get(incident.id)  # too slow: another instance took it over
            result = await self._try(incident, option, actor)
            if isinstance(result, DockReason):  # held for another incident: not an attempt
                if result.code == "incident_taken":
                    return await self.get(incident.id)
                reserved[option.dock_id] = result
                continue
            attempts += 1
            ack = result
            if ack is not None and ack.ok:
                return await self._assigned(incident, option, ack, lease)
            if ack is None:
                why = DockReason(
                    option.dock_id, "ack_timeout", f"no ack within {self.config.ack_timeout_s:g} s"
                )
            else:
                why = DockReason(option.dock_id, ack.code.value, ack.reason or ack.code.value)
            tried[option.dock_id] = why
            last = attempts >= self.config.max_attempts or not self.chooser.choose(
                mission, k=1, exclude={**reserved, **tried}
            )
            more = "; no other dock to try" if last else "; trying the next best dock"
            async with self.store.tx() as tx:
                await note(
                    tx,
                    incident.id,
                    "dispatch",
                    "fallback",
                    f"{why.dock_id}: {why.reason}{more}",
                    dock_id=why.dock_id,
                    code=why.code,
                )
        known = {**reserved, **tried}
        return await self._unassigned(incident, mission, known, actor, may_queue=only is None)

    async def _assigned(
        self, incident: IncidentRecord, option: Option, ack: Ack, lease: Lease
    ) -> IncidentRecord:
        async with self.store.tx() as tx:
            # kept until the launch deadline: should this instance die before the dock is
            # airborne, another one finds the lease expired and checks on the launch
            await self.claims.renew_in(
                tx, lease, self.config.airborne_deadline_s + self.cluster_lease_s, "launch"
            )
            await self.claims.hold_dock(tx, option.dock_id, incident.id, self.config.reserve_ttl_s)
            if incident.status is IncidentStatus.QUEUED:
                waited = (now_utc() - incident.created_at).total_seconds()
                text = f"left the queue after {waited:.0f} s: {option.dock_id} is going"
                await note(tx, incident.id, "dispatch", "dequeued", text)
            record = await tx.update_incident(
                incident.id,
                status=IncidentStatus.DISPATCHED,
                dock_id=option.dock_id,
                sortie_id=ack.sortie_id,
                eta_s=option.eta_s,
                updated_at=now_utc(),
            )
            await note(
                tx,
                incident.id,
                "dispatch",
                "dispatched",
                f"{option.dock_id} accepted; ETA {option.eta_s:.0f} s",
                dock_id=option.dock_id,
                detail={"sortie_id": ack.sortie_id, "eta_s": option.eta_s},
            )
        self.metrics.incidents.labels("dispatched").inc()
        assert record is not None
        if self.on_assigned is not None:
            self.on_assigned(record.id, option.dock_id)
        return record

    async def _unassigned(
        self,
        incident: IncidentRecord,
        mission: Mission,
        known: dict[str, DockReason],
        actor: str,
        *,
        may_queue: bool,
    ) -> IncidentRecord:
        reasons = self.chooser.reasons(mission, known)
        later = self.chooser.later(mission) if may_queue else []
        # a dock that just refused, stayed silent or failed it is not one to wait for;
        # one just sent elsewhere is (it is busy)
        later = [o for o in later if known.get(o.dock_id, BUSY).code == AckCode.BUSY.value]
        if later:  # it can wait here; the agreement decides whether a neighbour is asked first
            if self.remote is not None:
                taken = await self.remote.no_dock(incident, reasons, actor, could_queue=True)
                if taken is not None:
                    return taken
            return await self._queued(incident, reasons, {o.dock_id for o in later}, actor)
        detail = {"docks": [r.__dict__ for r in reasons]}
        async with self.store.tx() as tx:
            await tx.update_incident(
                incident.id, status=IncidentStatus.UNASSIGNED, updated_at=now_utc()
            )
            summary = f"no dock can go ({len(reasons)} docks considered)"
            await note(
                tx,
                incident.id,
                "dispatch",
                "unassigned",
                summary,
                code="no_dock_available",
                detail=detail,
            )
            await tx.audit(actor, "incident.unassigned", incident.id, detail, now_utc())
        self.metrics.incidents.labels("unassigned").inc()
        if self.remote is not None:
            taken = await self.remote.no_dock(incident, reasons, actor, could_queue=False)
            if taken is not None:
                return taken
        raise NoDockError(
            f"no dock can take incident {incident.id}", docks=reasons, incident_id=incident.id
        )

    async def _queued(
        self, incident: IncidentRecord, reasons: list[DockReason], waiting: set[str], actor: str
    ) -> IncidentRecord:
        """Queue the incident (once: a queued one that still cannot go adds no line)."""
        detail = {"docks": [r.__dict__ for r in reasons if r.dock_id in waiting]}
        now = now_utc()
        async with self.store.tx() as tx:
            record = await tx.update_incident(
                incident.id,
                status=IncidentStatus.QUEUED,
                dock_id=None,
                sortie_id=None,
                eta_s=None,
                updated_at=now,
            )
            if incident.status is not IncidentStatus.QUEUED:
                names = ", ".join(sorted(waiting))
                text = f"queued: no dock can go now; {names} could once ready"
                await note(
                    tx, incident.id, "dispatch", "queued", text, code="queued", detail=detail
                )
                await tx.audit(actor, "incident.queued", incident.id, detail, now)
                self.metrics.incidents.labels("queued").inc()
        assert record is not None
        if self.on_queued is not None and incident.status is not IncidentStatus.QUEUED:
            self.on_queued()  # not for one that stays queued: no pass chasing its own tail
        return record

    async def redispatch(self, incident_id: str, failed: DockReason) -> None:
        """Send the next best dock after the assigned one failed before take-off."""
        incident = await self.get(incident_id)
        try:
            await self.dispatch(incident, "system", exclude={failed.dock_id: failed})
        except NoDockError as exc:
            logger.warning("incident %s: %s", incident_id, exc.reason)

    # -- acting on an incident ---------------------------------------------------------

    async def get(self, incident_id: str) -> IncidentRecord:
        record = await self.store.get_incident(incident_id)
        if record is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        return record

    async def _command(
        self, incident: IncidentRecord, kind: str, body: Any, actor: str
    ) -> tuple[CommandPublic, Ack]:
        if incident.status is IncidentStatus.CLOSED:
            raise ConflictError(f"incident {incident.id} is closed")
        if incident.dock_id is None:
            raise ConflictError(f"incident {incident.id} has no dock assigned")
        command = self.commander.build(kind, incident.dock_id, body, self.config.command_ttl_s)
        async with self.store.tx() as tx:
            await note(
                tx,
                incident.id,
                "command",
                kind,
                f"{kind} sent to {incident.dock_id} by {actor}",
                dock_id=incident.dock_id,
            )
            await tx.audit(
                actor, f"incident.{kind}", incident.id, {"command_id": command.id}, now_utc()
            )
        ack = await self.commander.send(
            command, actor=actor, incident_id=incident.id, wait_s=self.config.ack_timeout_s
        )
        if ack is None:
            raise CommandError(
                f"{incident.dock_id} did not acknowledge {kind} within "
                f"{self.config.ack_timeout_s:g} s",
                code="ack_timeout",
            )
        if not ack.ok:
            raise CommandError(
                f"{incident.dock_id} refused {kind}: {ack.reason}", code=ack.code.value
            )
        return CommandPublic(
            id=command.id,
            type=kind,
            dock_id=incident.dock_id,
            ok=True,
            code=ack.code.value,
            reason=ack.reason,
        ), ack

    async def recall(self, incident_id: str, actor: str) -> CommandPublic:
        """Send the incident's drone home now (a neighbour's, through its dispatch)."""
        incident = await self.get(incident_id)
        if self.remote is not None:
            remote = await self.remote.recall(incident, actor)
            if remote is not None:
                return remote
        result, _ = await self._command(incident, "recall", None, actor)
        return result

    async def retask(self, incident_id: str, req: RetaskCreate, actor: str) -> CommandPublic:
        """Send the incident's drone to a new target."""
        incident = await self.get(incident_id)
        body = RetaskBody(target=GeoPoint(lat=req.lat, lon=req.lon), alt_rel_m=req.alt_rel_m)
        result, _ = await self._command(incident, "retask", body, actor)
        async with self.store.tx() as tx:
            await tx.update_incident(
                incident_id, target_lat=req.lat, target_lon=req.lon, updated_at=now_utc()
            )
        return result

    async def close(self, incident_id: str, actor: str) -> IncidentRecord:
        """Close the incident, recalling its drone if it is still out on it."""
        incident = await self.get(incident_id)
        if incident.status is IncidentStatus.CLOSED:
            return incident
        view = self.fleet.get(incident.dock_id) if incident.dock_id else None
        flying = (
            view is not None
            and view.state is not None
            and view.state.incident_id == incident.id
            and view.state.phase in AIRBORNE_PHASES
        )
        if flying:
            try:
                await self._command(incident, "recall", None, actor)
            except (CommandError, ConflictError) as exc:
                logger.warning("closing %s: recall failed: %s", incident.id, exc)
        if self.remote is not None:
            await self.remote.close(incident, actor)
        now = datetime.now(UTC)
        async with self.store.tx() as tx:
            if incident.dock_id is not None:
                await self.claims.free_dock(tx, incident.dock_id, incident_id)
            await self.claims.drop_in(tx, incident_id, "launch")
            record = await tx.update_incident(
                incident_id, status=IncidentStatus.CLOSED, closed_at=now, updated_at=now
            )
            await note(tx, incident_id, "incident", "closed", f"closed by {actor}", at=now)
            await tx.audit(actor, "incident.close", incident_id, {}, now)
        assert record is not None
        return record
