"""A flight path made safe to publish: snapped to a coarse grid, with every part that comes
within the exclusion distance of the scene or the dock cut away (vertices and the lines
between them), so neither place can be read from the path."""

from __future__ import annotations

import math
from collections.abc import Sequence

from edge.geo import LatLon, distance_m, to_local_en

__all__ = ["generalise_path", "segment_distance_m"]

METRES_PER_DEG_LAT = 111_320.0


def _snap(p: LatLon, grid_m: float) -> LatLon:
    dlat = grid_m / METRES_PER_DEG_LAT
    lat = round(p.lat / dlat) * dlat
    dlon = grid_m / (METRES_PER_DEG_LAT * max(0.01, math.cos(math.radians(lat))))
    return LatLon(round(lat, 6), round(round(p.lon / dlon) * dlon, 6))


def segment_distance_m(a: LatLon, b: LatLon, centre: LatLon) -> float:
    """Least distance from ``centre`` to the straight segment ``a``-``b`` (local plane)."""
    ax, ay = to_local_en(centre, a)
    bx, by = to_local_en(centre, b)
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    k = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + k * dx, ay + k * dy)


def generalise_path(
    points: Sequence[LatLon],
    exclusions: Sequence[LatLon],
    *,
    exclusion_m: float,
    grid_m: float,
) -> list[list[LatLon]]:
    """The publishable parts of a path: lines of at least two snapped points, none of whose
    vertices or segments comes within ``exclusion_m`` of any of ``exclusions``."""
    margin = exclusion_m + 1.0  # a metre of slack against rounding in the local plane

    def clear(p: LatLon) -> bool:
        return all(distance_m(p, c) > margin for c in exclusions)

    parts: list[list[LatLon]] = []
    current: list[LatLon] = []
    for raw in points:
        p = _snap(raw, grid_m)
        if current and p == current[-1]:
            continue
        if not clear(p):
            current = _close(parts, current)
            continue
        if current and any(segment_distance_m(current[-1], p, c) <= margin for c in exclusions):
            current = _close(parts, current)
        current.append(p)
    _close(parts, current)
    return parts


def _close(parts: list[list[LatLon]], current: list[LatLon]) -> list[LatLon]:
    if len(current) >= 2:
        parts.append(current)
    return []
