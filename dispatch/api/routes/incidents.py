"""Incidents: raise (auto-dispatch or queue), list, the queue, read with timeline, recall,
retask, close; cancel a queued one, change a priority.

Officer links to an incident are in :mod:`dispatch.api.routes.links`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from dispatch.api.deps import Dispatcher, LinkViewer, RuntimeDep, Viewer
from dispatch.models import (
    CommandPublic,
    DetectionPublic,
    IncidentCreate,
    IncidentDetail,
    IncidentPreview,
    IncidentPublic,
    IncidentStatus,
    NoDockPublic,
    PriorityUpdate,
    RetaskCreate,
)
from dispatch.preview import preview
from dispatch.views import incident_detail, incident_detections

router = APIRouter(prefix="/incidents", tags=["incidents"])


@router.post(
    "",
    response_model=IncidentDetail,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": IncidentDetail, "description": "Known CAD reference: the incident as it is"},
        202: {
            "model": IncidentDetail,
            "description": "Queued: no dock can go now, one could once ready (see `queue`)",
        },
        409: {"model": NoDockPublic, "description": "No dock could ever go; every dock's reason"},
    },
)
async def create_incident(
    body: IncidentCreate, rt: RuntimeDep, who: Dispatcher, response: Response
) -> IncidentDetail:
    """Raise an incident and send the best dock (201), queue it when no dock can go now but
    one could once ready (202), or say why no dock could ever go (409)."""
    record, created = await rt.incidents.create(body, who.actor)
    if not created:
        response.status_code = status.HTTP_200_OK
    elif record.status is IncidentStatus.QUEUED:
        response.status_code = status.HTTP_202_ACCEPTED
    return await incident_detail(rt.store, record, rt.queue, rt.fleet)


@router.post("/preview", response_model=IncidentPreview)
async def preview_incident(
    body: IncidentCreate, rt: RuntimeDep, who: Dispatcher
) -> IncidentPreview:
    """What raising this incident would do now (the dock, its route and ETA; or queue, or
    refuse with every dock's reason), worked out without sending or storing anything."""
    return preview(rt.incidents, body)


@router.get("", response_model=list[IncidentPublic])
async def list_incidents(
    rt: RuntimeDep,
    who: Viewer,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    open_only: bool = False,
) -> list[IncidentPublic]:
    """Incidents, newest first."""
    records = await rt.store.list_incidents(limit=limit, offset=offset, open_only=open_only)
    return [IncidentPublic.of(r) for r in records]


@router.get("/queue", response_model=list[IncidentPublic])
async def list_queue(rt: RuntimeDep, who: Viewer) -> list[IncidentPublic]:
    """Queued incidents in the order they will be served, each with its place and wait."""
    places = await rt.queue.positions()
    out = []
    for record in await rt.store.queued_incidents():
        public = IncidentPublic.of(record)
        public.queue = places.get(record.id)
        out.append(public)
    return out


@router.get("/{incident_id}", response_model=IncidentDetail)
async def get_incident(incident_id: str, rt: RuntimeDep, who: LinkViewer) -> IncidentDetail:
    """One incident with its timeline."""
    who.check_incident(incident_id)
    return await incident_detail(rt.store, await rt.incidents.get(incident_id), rt.queue, rt.fleet)


@router.get("/{incident_id}/detections", response_model=list[DetectionPublic])
async def get_detections(
    incident_id: str, rt: RuntimeDep, who: LinkViewer
) -> list[DetectionPublic]:
    """Objects the detector tracked during the incident's sortie."""
    who.check_incident(incident_id)
    return await incident_detections(rt.store, rt.fleet, await rt.incidents.get(incident_id))


@router.post("/{incident_id}/recall", response_model=CommandPublic)
async def recall(incident_id: str, rt: RuntimeDep, who: Dispatcher) -> CommandPublic:
    """Send the incident's drone home now."""
    return await rt.incidents.recall(incident_id, who.actor)


@router.post("/{incident_id}/retask", response_model=CommandPublic)
async def retask(
    incident_id: str, body: RetaskCreate, rt: RuntimeDep, who: Dispatcher
) -> CommandPublic:
    """Send the incident's drone to a new target."""
    return await rt.incidents.retask(incident_id, body, who.actor)


@router.post("/{incident_id}/close", response_model=IncidentPublic)
async def close(incident_id: str, rt: RuntimeDep, who: Dispatcher) -> IncidentPublic:
    """Close the incident (recalling its drone if it is still out); its links end with it."""
    closed = await rt.incidents.close(incident_id, who.actor)
    rt.auth.notify()  # officers watching through its links are cut off now
    return IncidentPublic.of(closed)


@router.post(
    "/{incident_id}/cancel",
    response_model=IncidentPublic,
    responses={409: {"description": "`not_queued`: the incident is not waiting in the queue"}},
)
async def cancel(incident_id: str, rt: RuntimeDep, who: Dispatcher) -> IncidentPublic:
    """Take a queued incident out of the queue (it is closed; no dock is sent)."""
    return IncidentPublic.of(await rt.queue.cancel(incident_id, who.actor))


@router.post("/{incident_id}/priority", response_model=IncidentDetail)
async def set_priority(
    incident_id: str, body: PriorityUpdate, rt: RuntimeDep, who: Dispatcher
) -> IncidentDetail:
    """Change an open incident's priority; a queued one moves in the queue with it."""
    record = await rt.queue.set_priority(incident_id, body.priority, who.actor)
    return await incident_detail(rt.store, record, rt.queue, rt.fleet)
