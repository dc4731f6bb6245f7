"""Incidents: raise (auto-dispatch), list, read with timeline, recall, retask, close.

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
    IncidentPublic,
    NoDockPublic,
    RetaskCreate,
)
from dispatch.views import incident_detail, incident_detections

router = APIRouter(prefix="/incidents", tags=["incidents"])


@router.post(
    "",
    response_model=IncidentDetail,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": IncidentDetail, "description": "Known CAD reference: the incident as it is"},
        409: {"model": NoDockPublic, "description": "No dock can go; every dock's reason"},
    },
)
async def create_incident(
    body: IncidentCreate, rt: RuntimeDep, who: Dispatcher, response: Response
) -> IncidentDetail:
    """Raise an incident and send the best dock (201), or say why none can go (409)."""
    record, created = await rt.incidents.create(body, who.actor)
    if not created:
        response.status_code = status.HTTP_200_OK
    return await incident_detail(rt.store, record)


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


@router.get("/{incident_id}", response_model=IncidentDetail)
async def get_incident(incident_id: str, rt: RuntimeDep, who: LinkViewer) -> IncidentDetail:
    """One incident with its timeline."""
    who.check_incident(incident_id)
    return await incident_detail(rt.store, await rt.incidents.get(incident_id))


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
