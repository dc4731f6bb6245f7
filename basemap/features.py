"""The city as Outrider draws it: a small typed set of features read from OpenStreetMap.

Roads (class, name, line), buildings, green, water and paved areas, railways, and named
places and addresses for search. Geometries are shapely objects in longitude/latitude
(WGS84 degrees, x = lon, y = lat), the order GeoJSON uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from shapely.geometry import LineString, MultiPolygon, Polygon

__all__ = [
    "ROAD_CLASSES",
    "Area",
    "AreaKind",
    "Bounds",
    "City",
    "Place",
    "Rail",
    "Road",
    "RoadClass",
]

RoadClass = Literal[
    "motorway", "trunk", "primary", "secondary", "tertiary", "minor", "service", "pedestrian",
    "path",
]  # fmt: skip
ROAD_CLASSES: tuple[RoadClass, ...] = (
    "path", "pedestrian", "service", "minor", "tertiary", "secondary", "primary", "trunk",
    "motorway",
)  # fmt: skip
"""Road classes from the least to the most important (the order roads are drawn in)."""

AreaKind = Literal["building", "green", "water", "paved"]


class Bounds(NamedTuple):
    """A longitude/latitude box: west, south, east, north in degrees."""

    west: float
    south: float
    east: float
    north: float

    @property
    def centre(self) -> tuple[float, float]:
        """The middle of the box as (lat, lon)."""
        return (self.south + self.north) / 2, (self.west + self.east) / 2

    def contains(self, lat: float, lon: float) -> bool:
        """Whether a point lies inside the box (edges included)."""
        return self.south <= lat <= self.north and self.west <= lon <= self.east


@dataclass(frozen=True)
class Road:
    """A street, footway or path: its class, its name ("" when unnamed) and its line."""

    cls: RoadClass
    name: str
    line: LineString
    bridge: bool = False


@dataclass(frozen=True)
class Area:
    """A building, park, lake, sea or square as a polygon."""

    kind: AreaKind
    name: str
    shape: Polygon | MultiPolygon


@dataclass(frozen=True)
class Rail:
    """A railway or tramway line above ground."""

    kind: Literal["rail", "tram"]
    line: LineString


@dataclass(frozen=True)
class Place:
    """Something a dispatcher may search for: an address, a named building, park or square."""

    name: str
    kind: str
    lat: float
    lon: float


@dataclass(frozen=True)
class City:
    """Every feature of one extract, and the box the extract covers."""

    name: str
    bounds: Bounds
    roads: list[Road] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    rails: list[Rail] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)

    def of_kind(self, kind: AreaKind) -> list[Area]:
        """The areas of one kind, in the order they were read."""
        return [a for a in self.areas if a.kind == kind]
