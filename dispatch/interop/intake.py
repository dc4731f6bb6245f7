"""CAD intake: signed documents in, incidents raised, updated or closed, every one kept.

Both ways in (the webhook and the folder watcher) end here. A document is checked (source,
signature, freshness, novelty) and read in full by its adapter before anything changes; then
it goes through the same :class:`~dispatch.incidents.IncidentService` as the REST API, so
dock choice, fallbacks and the incident queue apply to it unchanged. Every document,
accepted or refused, is kept in the inbox with its outcome and code, for inspection.
"""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import insert, select

from dispatch.incidents import IncidentService, note
from dispatch.interop.cad import ADAPTERS, CadAction, CadAdapter, CadMessage
from dispatch.interop.cad.base import MAX_DOCUMENT_BYTES
from dispatch.interop.config import InteropConfig
from dispatch.interop.signing import ReplayGuard
from dispatch.models import (
    DockReasonPublic,
    IncidentCreate,
    IncidentPublic,
    IncidentRecord,
    IncidentStatus,
)
from dispatch.service_errors import (
    AuthError,
    ConflictError,
    DockReason,
    NoDockError,
    NotFoundError,
)
from dispatch.store import tables as t
from dispatch.store.sql import SqlStore
from edge.errors import OutriderError
from edge.geo import LatLon, distance_m
from edge.protocol import now_utc

__all__ = ["CadIntake", "CadResult", "InboxEntry"]

logger = logging.getLogger(__name__)

Outcome = Literal["created", "updated", "closed", "unchanged"]
ACTIVE = frozenset(
    {
        IncidentStatus.DISPATCHED,
        IncidentStatus.LAUNCHING,
        IncidentStatus.EN_ROUTE,
        IncidentStatus.ON_SCENE,
    }
)
RETASK_BEYOND_M = 25.0


class CadResult(BaseModel):
    """What became of a CAD document."""

    inbox_id: int
    outcome: Outcome
    incident: IncidentPublic
    docks: list[DockReasonPublic] = []


class InboxEntry(BaseModel):
    """One received CAD document and its outcome (``refused`` ones carry the code)."""

    id: int
    received_at: str
    channel: str
    source: str
    adapter: str
    cad_ref: str | None
    outcome: str
    code: str | None
    reason: str | None
    incident_id: str | None
    size: int
    body: str | None = None


class CadIntake:
    """Takes CAD documents in.

    Args:
        store: the store (the inbox lives there).
        incidents: the incident service every document goes through.
        config: the interop settings (CAD systems and their keys, the replay window).
    """

    def __init__(self, store: SqlStore, incidents: IncidentService, config: InteropConfig) -> None:
        self.store = store
        self.incidents = incidents
        self.config = config
        self.adapters: dict[str, CadAdapter] = dict(ADAPTERS)
        self.replay = ReplayGuard(config.replay_window_s)

    async def webhook(
        self, adapter: str, source: str | None, signature: str | None, body: bytes
    ) -> CadResult:
        """A document posted to ``/api/v1/cad/{adapter}``, checked and applied.

        Raises:
            OutriderError: the coded refusal (also kept in the inbox).
        """
        name = source or "unknown"
        try:
            parser = self._adapter(adapter)
            system = self.config.cad_system(name)
            if system is None or system.adapter != adapter:
                raise AuthError(
                    f"no CAD system {name!r} sends {adapter!r} here", code="unknown_source"
                )
            self.replay.verify(system.secret.get_secret_value().encode(), signature or "", body)
            message = parser.parse(body)
        except OutriderError as exc:
            await self._keep("webhook", name, adapter, body, None, exc)
            raise
        return await self.apply(message, "webhook", name, adapter, body)

    async def document(self, adapter: str, source: str, body: bytes) -> CadResult:
        """A document from a trusted channel (a watched folder), read and applied.

        Raises:
            OutriderError: the coded refusal (also kept in the inbox).
        """
        try:
            message = self._adapter(adapter).parse(body)
        except OutriderError as exc:
            await self._keep("folder", source, adapter, body, None, exc)
            raise
        return await self.apply(message, "folder", source, adapter, body)

    def _adapter(self, key: str) -> CadAdapter:
        found = self.adapters.get(key)
        if found is None:
            known = ", ".join(sorted(self.adapters))
            raise NotFoundError(f"no CAD adapter {key!r}; known: {known}", code="unknown_adapter")
        return found

    async def apply(
        self, message: CadMessage, channel: str, source: str, adapter: str, body: bytes
    ) -> CadResult:
        """Raise, update or close the incident ``message`` names; keep the document.

        Raises:
            OutriderError: ``not_found`` (closing an unknown reference), ``conflict``
                (updating a closed incident), or what the incident service raised.
        """
        actor = f"cad:{source}"
        try:
            if message.action is CadAction.CLOSE:
                outcome, record, docks = await self._close(message, actor)
            else:
                assert message.incident is not None
                outcome, record, docks = await self._upsert(message.incident, actor)
        except OutriderError as exc:
            await self._keep(channel, source, adapter, body, message.ref, exc)
            raise
        inbox_id = await self._keep(
            channel, source, adapter, body, message.ref, None, record, outcome
        )
        return CadResult(
            inbox_id=inbox_id,
            outcome=outcome,
            incident=IncidentPublic.of(record),
            docks=[DockReasonPublic(**d.__dict__) for d in docks],
        )

    async def _close(
        self, message: CadMessage, actor: str
    ) -> tuple[Outcome, IncidentRecord, list[DockReason]]:
        existing = await self.store.incident_by("cad_ref", message.ref)
        if existing is None:
            raise NotFoundError(f"no incident has CAD reference {message.ref!r}")
        if existing.status is IncidentStatus.CLOSED:
            return "unchanged", existing, []
        return "closed", await self.incidents.close(existing.id, actor), []

    async def _upsert(
        self, req: IncidentCreate, actor: str
    ) -> tuple[Outcome, IncidentRecord, list[DockReason]]:
        assert req.cad_ref is not None
        existing = await self.store.incident_by("cad_ref", req.cad_ref)
        if existing is not None and existing.status is IncidentStatus.CLOSED:
            raise ConflictError(f"incident {existing.id} ({req.cad_ref}) is closed")
        if existing is not None:
            existing = await self._amend(existing, req, actor)
            if existing.status is not IncidentStatus.UNASSIGNED:
                return "updated", existing, []
        try:
            record, created = await self.incidents.create(req, actor)
        except NoDockError as exc:
            assert exc.incident_id is not None
            record = await self.incidents.get(exc.incident_id)
            return ("created" if existing is None else "updated"), record, list(exc.docks)
        return ("created" if created else "updated"), record, []

    async def _amend(
        self, existing: IncidentRecord, req: IncidentCreate, actor: str
    ) -> IncidentRecord:
        """Apply the CAD system's changes; move the drone when the location moved."""
        wanted = {
            "type": req.type,
            "priority": req.priority,
            "description": req.description,
            "lat": req.lat,
            "lon": req.lon,
        }
        changed = {k: v for k, v in wanted.items() if getattr(existing, k) != v}
        if not changed:
            return existing
        moved_m = distance_m(LatLon(existing.lat, existing.lon), LatLon(req.lat, req.lon))
        async with self.store.tx() as tx:
            record = await tx.update_incident(existing.id, **changed, updated_at=now_utc())
            await note(
                tx,
                existing.id,
                "incident",
                "updated",
                f"updated by {actor}: {', '.join(sorted(changed))}",
                detail={k: v for k, v in changed.items()},
            )
            await tx.audit(actor, "incident.update", existing.id, changed, now_utc())
        assert record is not None
        if moved_m > RETASK_BEYOND_M and existing.status in ACTIVE:
            from dispatch.models import RetaskCreate

            try:
                await self.incidents.retask(
                    existing.id, RetaskCreate(lat=req.lat, lon=req.lon), actor
                )
            except OutriderError as exc:
                logger.warning("incident %s moved by CAD; retask failed: %s", existing.id, exc)
        return await self.incidents.get(existing.id)

    async def _keep(
        self,
        channel: str,
        source: str,
        adapter: str,
        body: bytes,
        ref: str | None,
        error: OutriderError | None,
        record: IncidentRecord | None = None,
        outcome: str = "refused",
    ) -> int:
        """Store the document and its outcome; a refusal is audited too."""
        values = {
            "received_at": now_utc(),
            "channel": channel,
            "source": source[:64],
            "adapter": adapter[:32],
            "cad_ref": ref,
            "outcome": outcome,
            "code": error.code if error else None,
            "reason": error.reason[:2000] if error else None,
            "incident_id": record.id if record else None,
            "body": body[: MAX_DOCUMENT_BYTES + 1],
        }
        async with self.store.tx() as tx:
            result = await tx.conn.execute(insert(t.cad_inbox).values(**values))
            key = result.inserted_primary_key
            assert key is not None
            inbox_id = int(key[0])
            if error is not None:
                detail = {"inbox_id": inbox_id, "code": error.code, "reason": error.reason[:300]}
                await tx.audit(f"cad:{source}", "cad.refused", ref or "-", detail, now_utc())
        return inbox_id

    async def inbox(
        self, *, outcome: str | None = None, limit: int = 100, with_body: bool = False
    ) -> list[InboxEntry]:
        """Received documents, newest first; ``outcome="refused"`` for the dead letters."""
        query = select(t.cad_inbox).order_by(t.cad_inbox.c.id.desc()).limit(limit)
        if outcome is not None:
            query = query.where(t.cad_inbox.c.outcome == outcome)
        rows = await self.store.rows(query)
        return [
            InboxEntry(
                **{k: v for k, v in r.items() if k not in ("body", "received_at")},
                received_at=r["received_at"].isoformat(),
                size=len(r["body"]),
                body=r["body"].decode("utf-8", "replace") if with_body else None,
            )
            for r in rows
        ]
