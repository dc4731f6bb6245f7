"""Docks: the live fleet view, stale docks marked."""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.api.deps import LinkViewer, RuntimeDep, Viewer, scope_dock
from dispatch.models import DockPublic
from dispatch.service_errors import NotFoundError
from dispatch.views import dock_public

router = APIRouter(prefix="/docks", tags=["docks"])


@router.get("", response_model=list[DockPublic])
async def list_docks(rt: RuntimeDep, who: Viewer) -> list[DockPublic]:
    """Every dock known, by id."""
    scene = rt.settings.dispatch.on_scene
    docks = sorted(rt.fleet, key=lambda v: v.dock_id)
    return [dock_public(v, rt.fleet, scene, rt.video) for v in docks]


@router.get("/{dock_id}", response_model=DockPublic)
async def get_dock(dock_id: str, rt: RuntimeDep, who: LinkViewer) -> DockPublic:
    """One dock; a view link reads its incident's dock only while it flies the link's sortie."""
    await scope_dock(rt, who, dock_id)
    view = rt.fleet.get(dock_id)
    if view is None:
        raise NotFoundError(f"dock {dock_id} is not known")
    return dock_public(view, rt.fleet, rt.settings.dispatch.on_scene, rt.video)


@router.get("/{dock_id}/trail", response_model=list[list[float]])
async def get_trail(dock_id: str, rt: RuntimeDep, who: LinkViewer) -> list[list[float]]:
    """Recent airborne positions of the dock's drone, oldest first, as ``[lat, lon]``."""
    await scope_dock(rt, who, dock_id)
    view = rt.fleet.get(dock_id)
    if view is None:
        raise NotFoundError(f"dock {dock_id} is not known")
    return [[lat, lon] for lat, lon in view.trail]
