"""Map: what the UI map needs — tile URL (optional), start view, no-fly zones."""

from __future__ import annotations

from fastapi import APIRouter
from shapely.geometry import mapping

from dispatch.api.deps import LinkViewer, RuntimeDep
from dispatch.models import MapPublic

router = APIRouter(prefix="/map", tags=["map"])


@router.get("", response_model=MapPublic)
async def get_map(rt: RuntimeDep, who: LinkViewer) -> MapPublic:
    """Map settings and the no-fly zones as GeoJSON."""
    m = rt.settings.map
    features = [
        {"type": "Feature", "properties": {"name": z.name}, "geometry": mapping(z.polygon)}
        for z in rt.zones
    ]
    return MapPublic(
        tile_url=m.tile_url,
        attribution=m.attribution,
        center={"lat": m.center_lat, "lon": m.center_lon},
        zoom=m.zoom,
        no_fly={"type": "FeatureCollection", "features": features},
    )
