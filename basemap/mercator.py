"""Web Mercator (EPSG:3857) as map tiles use it: world pixels, tiles and their ground scale.

A "world pixel" at zoom ``z`` counts 256 * 2**z pixels across the whole world, from the
antimeridian eastwards and from the north edge (85.0511 degrees) southwards.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from basemap.features import Bounds

__all__ = [
    "MAX_LAT",
    "TILE",
    "metres_per_pixel",
    "tiles_covering",
    "to_unit",
    "to_world",
]

TILE = 256
MAX_LAT = 85.05112878
EARTH_RADIUS_M = 6_378_137.0  # the sphere Web Mercator is defined on


def to_unit(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """Positions (degrees) as (N, 2) coordinates on the unit square of the world, y down."""
    lat = np.clip(lat, -MAX_LAT, MAX_LAT)
    x = (np.asarray(lon, dtype=np.float64) + 180.0) / 360.0
    s = np.sin(np.radians(lat))
    y = 0.5 - np.log((1 + s) / (1 - s)) / (4 * math.pi)
    return np.stack([x, y], axis=-1)


def to_world(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    """One position as world pixels (x, y) at ``zoom``."""
    unit = to_unit(np.array([lon]), np.array([lat]))[0]
    size = TILE * 2.0**zoom
    return float(unit[0] * size), float(unit[1] * size)


def metres_per_pixel(lat: float, zoom: int) -> float:
    """Ground metres one pixel spans at latitude ``lat`` and ``zoom``."""
    circumference = 2 * math.pi * EARTH_RADIUS_M * math.cos(math.radians(lat))
    return float(circumference / (TILE * 2.0**zoom))


def tiles_covering(bounds: Bounds, zoom: int) -> tuple[range, range]:
    """The tile columns and rows that cover ``bounds`` at ``zoom``."""
    x0, y0 = to_world(bounds.north, bounds.west, zoom)
    x1, y1 = to_world(bounds.south, bounds.east, zoom)
    last = 2**zoom - 1
    cols = range(max(0, int(x0 // TILE)), min(last, int(x1 // TILE)) + 1)
    rows = range(max(0, int(y0 // TILE)), min(last, int(y1 // TILE)) + 1)
    return cols, rows
