"""Geodesy on the WGS84 sphere approximation: distances, bearings and local east/north frames.

Every part of Outrider (edge, dispatch, sim) measures the world through this module, so a
distance the dispatch service plans with is the distance the edge and the sim vehicle fly.
Over the few kilometres of a sortie a spherical earth is accurate to well under a metre.
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = [
    "EARTH_RADIUS_M",
    "LatLon",
    "bearing_deg",
    "destination",
    "distance_m",
    "from_local_en",
    "to_local_en",
]

EARTH_RADIUS_M = 6_371_008.8


class LatLon(NamedTuple):
    """A WGS84 position in degrees."""

    lat: float
    lon: float


def distance_m(a: LatLon, b: LatLon) -> float:
    """Great-circle distance in metres (haversine)."""
    la1, la2 = math.radians(a.lat), math.radians(b.lat)
    dla = la2 - la1
    dlo = math.radians(b.lon - a.lon)
    h = math.sin(dla / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlo / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: LatLon, b: LatLon) -> float:
    """Initial bearing from ``a`` to ``b``, degrees clockwise from true north in [0, 360)."""
    la1, la2 = math.radians(a.lat), math.radians(b.lat)
    dlo = math.radians(b.lon - a.lon)
    y = math.sin(dlo) * math.cos(la2)
    x = math.cos(la1) * math.sin(la2) - math.sin(la1) * math.cos(la2) * math.cos(dlo)
    return math.degrees(math.atan2(y, x)) % 360.0


def destination(origin: LatLon, bearing: float, dist_m: float) -> LatLon:
    """The point ``dist_m`` metres from ``origin`` along the initial ``bearing`` (degrees)."""
    d = dist_m / EARTH_RADIUS_M
    th = math.radians(bearing)
    la1, lo1 = math.radians(origin.lat), math.radians(origin.lon)
    la2 = math.asin(math.sin(la1) * math.cos(d) + math.cos(la1) * math.sin(d) * math.cos(th))
    lo2 = lo1 + math.atan2(
        math.sin(th) * math.sin(d) * math.cos(la1), math.cos(d) - math.sin(la1) * math.sin(la2)
    )
    return LatLon(math.degrees(la2), (math.degrees(lo2) + 540.0) % 360.0 - 180.0)


def to_local_en(origin: LatLon, point: LatLon) -> tuple[float, float]:
    """East and north offsets in metres of ``point`` from ``origin`` (local tangent plane)."""
    north = math.radians(point.lat - origin.lat) * EARTH_RADIUS_M
    dlon = (point.lon - origin.lon + 540.0) % 360.0 - 180.0
    east = math.radians(dlon) * EARTH_RADIUS_M * math.cos(math.radians(origin.lat))
    return east, north


def from_local_en(origin: LatLon, east: float, north: float) -> LatLon:
    """Inverse of :func:`to_local_en`."""
    lat = origin.lat + math.degrees(north / EARTH_RADIUS_M)
    lon = origin.lon + math.degrees(east / (EARTH_RADIUS_M * math.cos(math.radians(origin.lat))))
    return LatLon(lat, (lon + 540.0) % 360.0 - 180.0)
