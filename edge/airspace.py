"""No-fly zones from GeoJSON and the shortest route around them.

Zones are polygons in WGS84. Routing works in a local east/north frame around the route's
start: each zone grows by a safety margin, and the route is the shortest path through a
visibility graph whose nodes are the corners of the grown zones. Edge and dispatch both plan
with this module, so the route the dispatcher costs is the route the drone flies.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely import prepare
from shapely.geometry import LineString, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from edge.errors import ConfigError
from edge.geo import LatLon, from_local_en, to_local_en

__all__ = [
    "NoFlyZone",
    "blocked_by",
    "clearance_m",
    "load_zones",
    "plan_route",
    "zones_from_geojson",
]


@dataclass(frozen=True)
class NoFlyZone:
    """A named polygon the drone must not enter."""

    name: str
    polygon: Polygon  # lon/lat coordinates, as GeoJSON has them

    def contains(self, p: LatLon) -> bool:
        return bool(self.polygon.covers(Point(p.lon, p.lat)))


def zones_from_geojson(doc: dict[str, Any], *, source: str = "GeoJSON") -> list[NoFlyZone]:
    """Polygons (and multipolygons) of a FeatureCollection, a Feature or a bare geometry.

    Raises:
        ConfigError: when the document holds anything but polygons, or an invalid polygon.
    """
    features: Iterable[dict[str, Any]]
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features") or []
    elif kind == "Feature":
        features = [doc]
    else:
        features = [{"type": "Feature", "geometry": doc, "properties": {}}]
    zones: list[NoFlyZone] = []
    for i, feature in enumerate(features):
        name = str((feature.get("properties") or {}).get("name") or f"zone-{i + 1}")
        try:
            geom = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{source}: feature {i} has no usable geometry ({exc})") from exc
        parts = list(getattr(geom, "geoms", [geom]))
        for part in parts:
            if not isinstance(part, Polygon) or not part.is_valid or part.is_empty:
                raise ConfigError(f"{source}: feature {i} ({name}) is not a valid polygon")
            zones.append(NoFlyZone(name, part))
    return zones


def load_zones(path: Path) -> list[NoFlyZone]:
    """Read no-fly zones from a GeoJSON file.

    Raises:
        ConfigError: when the file is missing, not JSON, or holds no valid polygons.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"no-fly zones file {path} cannot be read: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"no-fly zones file {path} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"no-fly zones file {path} is not a GeoJSON object")
    return zones_from_geojson(doc, source=str(path))


def blocked_by(p: LatLon, zones: Sequence[NoFlyZone]) -> NoFlyZone | None:
    """The first zone that contains ``p``, if any."""
    return next((z for z in zones if z.contains(p)), None)


def clearance_m(p: LatLon, zones: Sequence[NoFlyZone]) -> float:
    """How far ``p`` is from the nearest zone (0 inside one; infinite with none)."""
    here = Point(0.0, 0.0)
    return min((float(_local(z, p).distance(here)) for z in zones), default=math.inf)


def _local(zone: NoFlyZone, origin: LatLon) -> Polygon:
    return Polygon(
        [to_local_en(origin, LatLon(lat, lon)) for lon, lat in zone.polygon.exterior.coords]
    )


def plan_route(
    start: LatLon, end: LatLon, zones: Sequence[NoFlyZone], *, margin_m: float = 30.0
) -> list[LatLon] | None:
    """Shortest route from ``start`` to ``end`` that keeps ``margin_m`` clear of every zone.

    Returns:
        The route's points, ``start`` first and ``end`` last (two points when the straight
        line is clear), or ``None`` when no route exists (an end point lies inside a zone).
    """
    if not zones:
        return [start, end]
    obstacles: list[BaseGeometry] = []
    corners: list[tuple[float, float]] = []
    for zone in zones:
        local = _local(zone, start)
        grown = local.buffer(margin_m, quad_segs=2)
        obstacles.append(grown)
        # Corners sit just outside the grown zone so that edges along it stay legal.
        ring = local.buffer(margin_m * 1.05 + 1.0, quad_segs=2).simplify(1.0)
        corners.extend(list(ring.exterior.coords)[:-1])
    for ob in obstacles:
        prepare(ob)
    a, b = (0.0, 0.0), to_local_en(start, end)
    if any(ob.covers(Point(*a)) or ob.covers(Point(*b)) for ob in obstacles):
        return None
    nodes = [a, b, *corners]

    def clear(p: tuple[float, float], q: tuple[float, float]) -> bool:
        line = LineString([p, q])
        return not any(ob.intersects(line) for ob in obstacles)

    if clear(a, b):
        return [start, end]
    path = _dijkstra(nodes, clear)
    if path is None:
        return None
    return [start, *(from_local_en(start, *nodes[i]) for i in path[1:-1]), end]


def _dijkstra(nodes: list[tuple[float, float]], clear: Any) -> list[int] | None:
    """Shortest path from node 0 to node 1 over the visibility graph, as node indices."""
    dist = {0: 0.0}
    prev: dict[int, int] = {}
    heap = [(0.0, 0)]
    done: set[int] = set()
    while heap:
        d, i = heapq.heappop(heap)
        if i in done:
            continue
        if i == 1:
            out = [1]
            while out[-1] != 0:
                out.append(prev[out[-1]])
            return out[::-1]
        done.add(i)
        for j in range(len(nodes)):
            if j in done or j == i:
                continue
            nd = d + math.dist(nodes[i], nodes[j])
            if nd < dist.get(j, math.inf) and clear(nodes[i], nodes[j]):
                dist[j] = nd
                prev[j] = i
                heapq.heappush(heap, (nd, j))
    return None
