"""Officer view links: make one for an incident, list them, revoke one.

A link opens one incident and the sortie flying it, for at most ``link_max_ttl_s``; it ends
when revoked, when it expires, or when the incident is closed. Its token is shown once, when
it is made; the store keeps only its HMAC.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from dispatch.api.deps import Dispatcher, RuntimeDep
from dispatch.models import LinkCreate, LinkInfo, LinkPublic
from dispatch.service_errors import NotFoundError
from dispatch.store.access import LinkRecord
from edge.protocol import now_utc

router = APIRouter(prefix="/incidents", tags=["links"])


def _info(record: LinkRecord) -> LinkInfo:
    return LinkInfo.model_validate(record.model_dump(exclude={"token_hash"}))


@router.post("/{incident_id}/links", response_model=LinkPublic, status_code=201)
async def create_link(
    incident_id: str, body: LinkCreate, rt: RuntimeDep, who: Dispatcher, request: Request
) -> LinkPublic:
    """An expiring link to the officer view of this incident and its sortie."""
    incident = await rt.incidents.get(incident_id)
    ttl = body.ttl_s or rt.settings.link_ttl_s
    token, record = await rt.auth.issue_link(incident, ttl, who.actor)
    async with rt.store.tx() as tx:
        detail = {"link_id": record.id, "ttl_s": ttl, "sortie_id": record.sortie_id}
        await tx.audit(who.actor, "link.create", incident_id, detail, now_utc())
    base = rt.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return LinkPublic(
        **_info(record).model_dump(), url=f"{base}/view/{incident_id}?token={token}", token=token
    )


@router.get("/{incident_id}/links", response_model=list[LinkInfo])
async def list_links(incident_id: str, rt: RuntimeDep, who: Dispatcher) -> list[LinkInfo]:
    """The incident's links, oldest first, revoked ones included (tokens never shown)."""
    await rt.incidents.get(incident_id)
    return [_info(r) for r in await rt.auth.access.links(incident_id)]


@router.delete("/{incident_id}/links/{link_id}", response_model=LinkInfo)
async def revoke_link(incident_id: str, link_id: str, rt: RuntimeDep, who: Dispatcher) -> LinkInfo:
    """Withdraw a link: its holder is refused from now on, open video included."""
    record = await rt.auth.revoke_link(incident_id, link_id, who.actor)
    if record is None:
        raise NotFoundError(f"incident {incident_id} has no link {link_id}")
    return _info(record)
