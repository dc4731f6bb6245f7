"""Mutual aid, the asking side: when none of our docks can go, ask a neighbouring force.

The neighbour's dispatch decides with its own fleet, chooser and rules and flies its own
dock (:mod:`dispatch.interop.lend`). Here we keep the request, put the neighbour's answer
(with its reasons when it says no) on our incident's timeline, take the updates it pushes
to ``POST /api/v1/aid/updates``, and pass on our recall and closing. Every request each
way is audited, here and there.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import httpx
from pydantic import ValidationError

from dispatch.incidents import note
from dispatch.interop.aid_models import AidAnswer, AidIncident, AidRequest, should_ask
from dispatch.interop.aid_records import AidRecords
from dispatch.interop.config import InteropConfig, PeerConfig
from dispatch.interop.signing import ReplayGuard, signed_headers
from dispatch.models import CommandPublic, IncidentRecord, IncidentStatus
from dispatch.service_errors import AuthError, CommandError, DockReason
from dispatch.store.sql import SqlStore
from edge.errors import ProtocolError
from edge.protocol import now_utc

__all__ = ["MutualAid", "peer_key"]

logger = logging.getLogger(__name__)

MIRRORED = {s.value for s in IncidentStatus} - {"closed", "unassigned", "dispatching", "queued"}


def order(incident_id: str, action: str) -> dict[str, str]:
    """The body of a signed recall or close: it names its incident and action, and is unique,
    so a signature taken from one order can never be replayed as another."""
    return {"incident_id": incident_id, "action": action, "request_id": uuid.uuid4().hex}


def peer_key(peer: PeerConfig) -> bytes:
    """The agreement's HMAC key."""
    return peer.secret.get_secret_value().encode()


class MutualAid:
    """The asking side of every sharing agreement (a :class:`RemoteSorties`).

    Args:
        store: the store.
        config: the interop settings (peers, our force name).
        replay: the replay guard shared by every signed endpoint.
        transport: an httpx transport (tests may pass one); the network by default.
    """

    def __init__(
        self,
        store: SqlStore,
        config: InteropConfig,
        replay: ReplayGuard,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.replay = replay
        self.records = AidRecords(store)
        self.transport = transport

    async def _call(self, peer: PeerConfig, path: str, body: dict[str, Any]) -> httpx.Response:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        headers |= signed_headers(self.config.force, peer_key(peer), data)
        url = peer.url.rstrip("/") + path
        async with httpx.AsyncClient(timeout=peer.timeout_s, transport=self.transport) as client:
            return await client.post(url, content=data, headers=headers)

    async def no_dock(
        self, incident: IncidentRecord, reasons: list[DockReason], actor: str, *, could_queue: bool
    ) -> IncidentRecord | None:
        """Ask each neighbour the policy allows, in configured order, until one flies.

        ``could_queue``: the incident could wait in our queue; then only the agreements that
        say to ask before queueing are asked."""
        for peer in self.config.peers:
            if not should_ask(peer, incident, could_queue=could_queue):
                continue
            if await self.records.find(direction="asked", peer=peer.name, incident_id=incident.id):
                continue  # asked already: their answer stands, their updates follow
            taken = await self._ask(peer, incident, actor)
            if taken is not None:
                return taken
        return None

    async def _ask(
        self, peer: PeerConfig, incident: IncidentRecord, actor: str
    ) -> IncidentRecord | None:
        request = AidRequest(incident=AidIncident.model_validate(incident.model_dump()))
        async with self.store.tx() as tx:
            await self.records.save(tx, "asked", peer.name, incident.id, status="asked")
            await tx.audit(actor, "aid.request", incident.id, {"peer": peer.name}, now_utc())
            await note(tx, incident.id, "dispatch", "aid_asked", f"asking {peer.name} for a dock")
        try:
            response = await self._call(
                peer, "/api/v1/aid/requests", request.model_dump(mode="json")
            )
            answer = self._answer(peer, response)
        except httpx.HTTPError as exc:
            answer = AidAnswer(
                accepted=False, force=peer.name, code="peer_unavailable", reason=str(exc)[:300]
            )
        return await self._answered(peer, incident, answer)

    @staticmethod
    def _answer(peer: PeerConfig, response: httpx.Response) -> AidAnswer:
        try:
            body = response.json()
            if response.is_success:
                return AidAnswer.model_validate(body)
            return AidAnswer(
                accepted=False,
                force=peer.name,
                code=str(body.get("code", "refused")),
                reason=str(body.get("reason", ""))[:2000],
                docks=body.get("docks") or [],
            )
        except (ValueError, ValidationError, AttributeError):
            return AidAnswer(
                accepted=False,
                force=peer.name,
                code="peer_unavailable",
                reason=f"{peer.name} answered HTTP {response.status_code} that cannot be read",
            )

    async def _answered(
        self, peer: PeerConfig, incident: IncidentRecord, answer: AidAnswer
    ) -> IncidentRecord | None:
        reasons = [d.model_dump() for d in answer.docks]
        detail = {"peer": peer.name, **answer.model_dump(mode="json", exclude={"video"})}
        async with self.store.tx() as tx:
            await tx.audit(f"force:{peer.name}", "aid.answer", incident.id, detail, now_utc())
            if not answer.accepted:
                await self.records.save(
                    tx, "asked", peer.name, incident.id, status="refused", reasons=reasons
                )
                why = "; ".join(f"{d.dock_id}: {d.reason}" for d in answer.docks)
                text = f"{peer.name} cannot help: {answer.reason}" + (f" ({why})" if why else "")
                await note(
                    tx,
                    incident.id,
                    "dispatch",
                    "aid_refused",
                    text[:2000],
                    code=answer.code,
                    detail={"peer": peer.name, "docks": reasons},
                )
                return None
            dock = f"{peer.name}/{answer.dock_id}"
            video = answer.video.model_dump(mode="json") if answer.video else None
            await self.records.save(
                tx,
                "asked",
                peer.name,
                incident.id,
                status="accepted",
                remote_incident_id=answer.incident_id,
                dock_id=dock,
                eta_s=answer.eta_s,
                video=video,
            )
            record = await tx.update_incident(
                incident.id,
                status=IncidentStatus.DISPATCHED,
                dock_id=dock,
                eta_s=answer.eta_s,
                updated_at=now_utc(),
            )
            eta = f"; ETA {answer.eta_s:.0f} s" if answer.eta_s is not None else ""
            await note(
                tx,
                incident.id,
                "dispatch",
                "dispatched",
                f"{peer.name} accepted: its dock {answer.dock_id} is going{eta}",
                dock_id=dock,
                detail={"peer": peer.name, "remote_incident_id": answer.incident_id},
            )
        return record

    async def _accepted(self, incident: IncidentRecord) -> tuple[PeerConfig, str] | None:
        for row in await self.records.rows(direction="asked", incident_id=incident.id):
            peer = self.config.peer(row.peer)
            if row.status == "accepted" and peer is not None and row.remote_incident_id:
                return peer, row.remote_incident_id
        return None

    async def recall(self, incident: IncidentRecord, actor: str) -> CommandPublic | None:
        """Ask the neighbour flying for ``incident`` to recall its drone."""
        found = await self._accepted(incident)
        if found is None:
            return None
        peer, remote = found
        async with self.store.tx() as tx:
            await tx.audit(actor, "aid.recall", incident.id, {"peer": peer.name}, now_utc())
        try:
            response = await self._call(
                peer, f"/api/v1/aid/incidents/{remote}/recall", order(remote, "recall")
            )
        except httpx.HTTPError as exc:
            raise CommandError(
                f"{peer.name} cannot be reached: {exc}", code="peer_unavailable"
            ) from exc
        body = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        if not response.is_success:
            raise CommandError(
                f"{peer.name} refused the recall: {body.get('reason', response.status_code)}",
                code=str(body.get("code", "peer_unavailable")),
            )
        return CommandPublic.model_validate(
            {**body, "dock_id": incident.dock_id or body.get("dock_id")}
        )

    async def close(self, incident: IncidentRecord, actor: str) -> None:
        """Tell the neighbour flying for ``incident`` that it is closed (best effort)."""
        found = await self._accepted(incident)
        if found is None:
            return
        peer, remote = found
        async with self.store.tx() as tx:
            await tx.audit(actor, "aid.close", incident.id, {"peer": peer.name}, now_utc())
        try:
            await self._call(peer, f"/api/v1/aid/incidents/{remote}/close", order(remote, "close"))
        except httpx.HTTPError as exc:
            logger.warning("closing %s: %s cannot be reached: %s", incident.id, peer.name, exc)

    async def take_update(self, source: str | None, signature: str | None, body: bytes) -> bool:
        """An update a neighbour pushed about an incident it flies for us; ``False`` if seen.

        Raises:
            AuthError: unknown force or bad signature; ProtocolError: unreadable update.
        """
        peer = self.config.peer(source or "")
        if peer is None:
            raise AuthError(f"no sharing agreement with {source!r}", code="unknown_source")
        self.replay.verify(peer_key(peer), signature or "", body)
        try:
            props = json.loads(body)["properties"]
            remote, update_id = str(props["incident_id"]), int(props["update_id"])
            line, status = props["update"], str(props["status"])
            text, kind = str(line["text"])[:1000], str(line["type"])[:64]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProtocolError(f"not an update feature: {exc}", code="invalid_field") from None
        row = await self.records.find(direction="asked", peer=peer.name, remote_incident_id=remote)
        if row is None:
            raise ProtocolError(f"{peer.name} flies no incident {remote} for us", code="not_found")
        if update_id <= await self.records.last_update("asked", peer.name, row.incident_id):
            return False
        current = await self.store.get_incident(row.incident_id)
        async with self.store.tx() as tx:
            await self.records.save(tx, "asked", peer.name, row.incident_id, last_update=update_id)
            dock = f"{peer.name}/{line['dock_id']}" if line.get("dock_id") else None
            await note(tx, row.incident_id, "event", kind, f"{peer.name}: {text}", dock_id=dock)
            if status in MIRRORED and current and current.status is not IncidentStatus.CLOSED:
                await tx.update_incident(row.incident_id, status=status, updated_at=now_utc())
            await tx.audit(
                f"force:{peer.name}",
                "aid.update",
                row.incident_id,
                {"update_id": update_id},
                now_utc(),
            )
        return True
