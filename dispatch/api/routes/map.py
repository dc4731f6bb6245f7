"""Map: the basemap in use, the start view, the no-fly zones, a tile file's tiles and the
search of its addresses and places."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from shapely.geometry import mapping

from dispatch.api.deps import LinkViewer, RuntimeDep, Viewer
from dispatch.models import MapPublic, PlacePublic

router = APIRouter(prefix="/map", tags=["map"])

# Tiles never change while the file is served; the browser keeps them and revalidates.
TILE_CACHE = "private, max-age=86400"
Zoom = Annotated[int, Path(ge=0, le=30)]
Index = Annotated[int, Path(ge=0, lt=2**30)]


@router.get("", response_model=MapPublic)
async def get_map(request: Request, rt: RuntimeDep, who: LinkViewer) -> MapPublic:
    """The basemap (kind, name, bounds, zoom range, attribution), start view and no-fly zones."""
    features = [
        {"type": "Feature", "properties": {"name": z.name}, "geometry": mapping(z.polygon)}
        for z in rt.zones
    ]
    center, zoom = rt.map.start_view()
    return MapPublic(
        basemap=rt.map.describe(request.url.path.rstrip("/") + "/tiles/{z}/{x}/{y}.png"),
        center=center,
        zoom=zoom,
        no_fly={"type": "FeatureCollection", "features": features},
    )


@router.get("/search", response_model=list[PlacePublic])
async def search_places(
    rt: RuntimeDep,
    who: Viewer,
    q: Annotated[str, Query(min_length=1, max_length=200, description="what to look for")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[PlacePublic]:
    """Addresses, streets and named places of the offline basemap matching ``q``, best first
    (exact name, then names starting with it, then containing it); none without a tile file."""
    return [
        PlacePublic(name=p.name, kind=p.kind, lat=p.lat, lon=p.lon) for p in rt.map.search(q, limit)
    ]


@router.get(
    "/tiles/{z}/{x}/{y}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {"description": "No such tile"}},
)
async def get_tile(
    z: Zoom, x: Index, y: Index, request: Request, rt: RuntimeDep, who: LinkViewer
) -> Response:
    """One PNG tile of the offline tile file (404 outside it)."""
    data, etag = rt.map.tile(z, x, y)
    headers = {"Cache-Control": TILE_CACHE, "ETag": f'"{etag}"'}
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/png", headers=headers)
