"""Updates out: webhook subscriptions, their deliveries and dead letters, and the SSE stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import StreamingResponse

from dispatch.api.deps import Admin, RuntimeDep, Viewer
from dispatch.auth import Principal
from dispatch.interop.render import Format, render
from dispatch.interop.updates import IncidentUpdate
from dispatch.interop.webhooks import DeliveryPublic, SubscriptionCreate, SubscriptionPublic
from dispatch.runtime import Runtime
from edge.errors import OutriderError

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])
stream_router = APIRouter(prefix="/stream", tags=["stream"])

KEEPALIVE_S = 15.0
REPLAY_LIMIT = 1000


@router.post("", response_model=SubscriptionPublic, status_code=201)
async def subscribe(body: SubscriptionCreate, rt: RuntimeDep, who: Admin) -> SubscriptionPublic:
    """Deliver incident updates to a URL; the answer shows its signing secret, once."""
    return await rt.webhooks.subscribe(body, who.actor)


@router.get("", response_model=list[SubscriptionPublic])
async def list_subscriptions(rt: RuntimeDep, who: Admin) -> list[SubscriptionPublic]:
    """Active subscriptions."""
    return await rt.webhooks.subscriptions()


@router.delete("/{subscription_id}", response_model=SubscriptionPublic)
async def unsubscribe(subscription_id: str, rt: RuntimeDep, who: Admin) -> SubscriptionPublic:
    """Stop a subscription."""
    return await rt.webhooks.unsubscribe(subscription_id, who.actor)


@router.get("/deliveries", response_model=list[DeliveryPublic])
async def deliveries(
    rt: RuntimeDep,
    who: Admin,
    status: Annotated[Literal["pending", "delivered", "dead", "dropped"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryPublic]:
    """Deliveries, newest first; ``status=dead`` is the dead-letter list."""
    return await rt.webhooks.deliveries(status=status, limit=limit)


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryPublic)
async def retry(
    delivery_id: Annotated[int, Path(ge=1, le=2**53)], rt: RuntimeDep, who: Admin
) -> DeliveryPublic:
    """Send a dead-lettered delivery again."""
    return await rt.webhooks.retry(delivery_id, who.actor)


def _event(update: IncidentUpdate, fmt: Format, force: str) -> str:
    data = json.dumps(render(update, fmt, force), default=str)
    return f"id: {update.id}\nevent: incident.update\ndata: {data}\n\n"


async def _events(
    rt: Runtime,
    request: Request,
    who: Principal,
    fmt: Format,
    incident_id: str | None,
    after: int,
) -> AsyncIterator[str]:
    force = rt.settings.interop.force
    async with rt.updates.listen() as live:
        # Replay from the store first (resume after Last-Event-ID), then go live; ids
        # already sent are skipped, so the seam between the two neither drops nor repeats.
        last = after
        if after > 0:
            for line in await rt.store.timeline_after(after, REPLAY_LIMIT):
                update = await rt.updates.update(line.seq)
                if update and incident_id in (None, update.incident.id):
                    yield _event(update, fmt, force)
                last = line.seq
        yield ": live\n\n"
        while not await request.is_disconnected():
            try:
                got = await asyncio.wait_for(live.get(), KEEPALIVE_S)
            except TimeoutError:
                try:
                    await rt.auth.recheck(who)  # a session signed out ends its stream
                except OutriderError:
                    return
                yield ": keep-alive\n\n"
                continue
            if got is None:
                return  # fell behind: the client reconnects with Last-Event-ID
            if got.id <= last or incident_id not in (None, got.incident.id):
                continue
            last = got.id
            yield _event(got, fmt, force)


@stream_router.get(
    "",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def stream(
    request: Request,
    rt: RuntimeDep,
    who: Viewer,
    format: Annotated[Format, Query()] = "geojson",
    incident_id: Annotated[str | None, Query(max_length=40)] = None,
    last_event_id: Annotated[int | None, Header(ge=0, le=2**53)] = None,
) -> StreamingResponse:
    """Incident and sortie updates as Server-Sent Events (GeoJSON features or EIDO)."""
    events = _events(rt, request, who, format, incident_id, last_event_id or 0)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)
