"""Events: the sortie lifecycle events docks reported, each stored once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from dispatch.api.deps import RuntimeDep, Viewer
from dispatch.models import EventPublic

router = APIRouter(prefix="/events", tags=["events"])


@router.get("", response_model=list[EventPublic])
async def list_events(
    rt: RuntimeDep,
    who: Viewer,
    dock_id: Annotated[str | None, Query(max_length=64)] = None,
    incident_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventPublic]:
    """Latest events first, optionally of one dock or incident."""
    rows = await rt.store.list_events(dock_id=dock_id, incident_id=incident_id, limit=limit)
    return [EventPublic.model_validate(r) for r in rows]
