"""Mutual aid, the lending side: a neighbour asks, we decide with our own fleet and rules.

A request arrives signed with the agreement's key. It is refused when the agreement does not
cover it (``not_in_agreement``); otherwise it goes through our own
:class:`~dispatch.incidents.IncidentService`, limited to the docks we lend, under the CAD
reference ``aid:<force>:<their incident id>`` (so asking twice raises nothing twice). When a
dock goes, the neighbour's webhook is subscribed to the incident's updates and it gets a view
link scoped to the incident, in the rendition the agreement allows; when none can go, the
409 carries every dock's reason. Either side can recall; every request is audited.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from dispatch.auth import Authenticator
from dispatch.incidents import IncidentService
from dispatch.interop.aid import peer_key
from dispatch.interop.aid_models import AidAnswer, AidRequest, AidVideo, aid_ref
from dispatch.interop.aid_records import AidRecords
from dispatch.interop.config import InteropConfig, PeerConfig
from dispatch.interop.signing import ReplayGuard
from dispatch.interop.webhooks import SubscriptionCreate, Webhooks
from dispatch.models import CommandPublic, IncidentCreate, IncidentRecord
from dispatch.service_errors import AuthError, ForbiddenError, NoDockError, NotFoundError
from dispatch.store.sql import SqlStore
from edge.errors import ProtocolError
from edge.protocol import now_utc

__all__ = ["Lender"]


class Lender:
    """The lending side of every sharing agreement.

    Args:
        store: the store.
        incidents: our incident service (our fleet, chooser and rules).
        webhooks: to subscribe the neighbour to the incident's updates.
        auth: issues the neighbour's scoped view link.
        config: the interop settings.
        replay: the replay guard shared by every signed endpoint.
    """

    def __init__(
        self,
        store: SqlStore,
        incidents: IncidentService,
        webhooks: Webhooks,
        auth: Authenticator,
        config: InteropConfig,
        replay: ReplayGuard,
    ) -> None:
        self.store = store
        self.incidents = incidents
        self.webhooks = webhooks
        self.auth = auth
        self.config = config
        self.replay = replay
        self.records = AidRecords(store)

    def check_order(
        self, source: str | None, signature: str | None, body: bytes, incident_id: str, action: str
    ) -> PeerConfig:
        """The neighbour that signed this recall or close, whose body names the same order.

        Raises:
            as :meth:`check`; ProtocolError: ``invalid_field`` when the signed body orders
            something else (another incident or action) than the request's path.
        """
        peer = self.check(source, signature, body)
        try:
            signed = json.loads(body)
            same = signed.get("incident_id") == incident_id and signed.get("action") == action
        except (ValueError, AttributeError):
            same = False
        if not same:
            raise ProtocolError(
                f"the signed body does not order {action} of {incident_id}", code="invalid_field"
            )
        return peer

    def check(self, source: str | None, signature: str | None, body: bytes) -> PeerConfig:
        """The neighbour that signed this request.

        Raises:
            AuthError: ``unknown_source``, ``bad_signature`` or ``stale_request``;
            ConflictError: ``replayed``.
        """
        peer = self.config.peer(source or "")
        if peer is None:
            raise AuthError(f"no sharing agreement with {source!r}", code="unknown_source")
        self.replay.verify(peer_key(peer), signature or "", body)
        return peer

    async def request(self, peer: PeerConfig, body: bytes, base_url: str) -> AidAnswer:
        """Decide on a neighbour's request with our own fleet; fly if we can.

        Raises:
            ProtocolError: unreadable request; ForbiddenError: ``not_in_agreement``;
            NoDockError: none of the lent docks can go (every dock's reason attached).
        """
        try:
            req = AidRequest.model_validate_json(body)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ProtocolError(f"{where}: {first['msg']}", code="invalid_field") from None
        asked = req.incident
        actor = f"force:{peer.name}"
        async with self.store.tx() as tx:
            await tx.audit(actor, "aid.received", asked.id, req.model_dump(mode="json"), now_utc())
        lend = peer.lend
        if not lend.docks or (
            "*" not in lend.incident_types and asked.type not in lend.incident_types
        ):
            why = "no docks are lent" if not lend.docks else f"{asked.type!r} is not covered"
            await self._refused(peer, asked.id, "not_in_agreement", why, [])
            raise ForbiddenError(
                f"not in the agreement with {peer.name}: {why}", code="not_in_agreement"
            )
        create = IncidentCreate(
            lat=asked.lat,
            lon=asked.lon,
            type=asked.type,
            priority=asked.priority,
            description=asked.description,
            on_scene_s=asked.on_scene_s,
            cad_ref=aid_ref(peer.name, asked.id),
        )
        try:
            record, created = await self.incidents.create(
                create, actor, docks=frozenset(lend.docks)
            )
        except NoDockError as exc:
            await self._refused(peer, asked.id, exc.code, exc.reason, exc.docks, exc.incident_id)
            raise
        return await self._lent(peer, asked.id, record, created, base_url)

    async def _refused(
        self,
        peer: PeerConfig,
        their_id: str,
        code: str,
        reason: str,
        docks: Sequence[object],
        ours: str | None = None,
    ) -> None:
        reasons = [d.__dict__ for d in docks]
        detail = {"code": code, "reason": reason, "docks": reasons}
        await self._settle(
            peer,
            their_id,
            "aid.refused",
            detail,
            status="refused",
            reasons=reasons,
            remote_incident_id=ours,
        )

    async def _settle(
        self,
        peer: PeerConfig,
        their_id: str,
        action: str,
        detail: dict[str, Any],
        **values: Any,
    ) -> None:
        """Record the request's outcome and audit it, in one transaction."""
        async with self.store.tx() as tx:
            await self.records.save(tx, "lent", peer.name, their_id, **values)
            await tx.audit(f"force:{peer.name}", action, their_id, detail, now_utc())

    async def _lent(
        self, peer: PeerConfig, their_id: str, record: IncidentRecord, created: bool, base_url: str
    ) -> AidAnswer:
        subs = await self.webhooks.subscriptions()
        if not any(s.incident_id == record.id and s.peer == peer.name for s in subs):
            url = peer.url.rstrip("/") + "/api/v1/aid/updates"
            sub = SubscriptionCreate(url=url, format="geojson", incident_id=record.id)
            await self.webhooks.subscribe(sub, f"force:{peer.name}", peer=peer.name)
        raw = peer.lend.video == "raw"
        token, link = await self.auth.issue_link(
            record,
            min(peer.lend.link_ttl_s, self.auth.link_max_ttl_s),
            f"force:{peer.name}",
            raw=raw,
        )
        video = AidVideo(
            url=f"{base_url.rstrip('/')}/view/{record.id}?token={token}",
            rendition="raw" if raw else "redacted",
            expires_at=link.expires_at,
        )
        detail = {"incident_id": record.id, "dock_id": record.dock_id, "eta_s": record.eta_s}
        await self._settle(
            peer,
            their_id,
            "aid.accepted",
            detail,
            status="accepted",
            remote_incident_id=record.id,
            dock_id=record.dock_id,
            eta_s=record.eta_s,
        )
        return AidAnswer(
            accepted=True,
            force=self.config.force,
            incident_id=record.id,
            status=record.status.value,
            dock_id=record.dock_id,
            eta_s=record.eta_s,
            video=video,
        )

    async def _ours(self, peer: PeerConfig, incident_id: str) -> IncidentRecord:
        row = await self.records.find(
            direction="lent", peer=peer.name, remote_incident_id=incident_id
        )
        if row is None:
            raise NotFoundError(f"we fly no incident {incident_id} for {peer.name}")
        return await self.incidents.get(incident_id)

    async def recall(self, peer: PeerConfig, incident_id: str) -> CommandPublic:
        """The neighbour recalls the drone we sent for it."""
        record = await self._ours(peer, incident_id)
        return await self.incidents.recall(record.id, f"force:{peer.name}")

    async def close(self, peer: PeerConfig, incident_id: str) -> IncidentRecord:
        """The neighbour closed its incident: close ours (recalling the drone if out)."""
        record = await self._ours(peer, incident_id)
        return await self.incidents.close(record.id, f"force:{peer.name}")
