"""Docks: the live fleet view, stale docks marked."""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.api.deps import LinkViewer, RuntimeDep, Viewer
from dispatch.models import DockPublic
from dispatch.service_errors import ForbiddenError, NotFoundError
from dispatch.views import dock_public

router = APIRouter(prefix="/docks", tags=["docks"])


@router.get("", response_model=list[DockPublic])
async def list_docks(rt: RuntimeDep, who: Viewer) -> list[DockPublic]:
    """Every dock known, by id."""
    return [dock_public(v, rt.fleet) for v in sorted(rt.fleet, key=lambda v: v.dock_id)]


@router.get("/{dock_id}", response_model=DockPublic)
async def get_dock(dock_id: str, rt: RuntimeDep, who: LinkViewer) -> DockPublic:
    """One dock; a view link may read the dock of its incident only."""
    if who.incident_id is not None:
        incident = await rt.incidents.get(who.incident_id)
        if incident.dock_id != dock_id:
            raise ForbiddenError("a view link only opens its own incident's dock")
    view = rt.fleet.get(dock_id)
    if view is None:
        raise NotFoundError(f"dock {dock_id} is not known")
    return dock_public(view, rt.fleet)


@router.get("/{dock_id}/trail", response_model=list[list[float]])
async def get_trail(dock_id: str, rt: RuntimeDep, who: LinkViewer) -> list[list[float]]:
    """Recent airborne positions of the dock's drone, oldest first, as ``[lat, lon]``."""
    view = rt.fleet.get(dock_id)
    if view is None:
        raise NotFoundError(f"dock {dock_id} is not known")
    if who.incident_id is not None and (
        view.state is None or view.state.incident_id != who.incident_id
    ):
        raise ForbiddenError("a view link only opens its own incident's dock")
    return [[lat, lon] for lat, lon in view.trail]
