"""The look of the basemap: colours, and road widths by class and zoom.

A light street-map style in the manner of OpenStreetMap's own: cream land, green parks,
blue water, grey-brown buildings, white minor streets and yellow-orange main roads with
darker casings. Widths are real-world metres at close zoom and never thinner than a
minimum in pixels when zoomed out, so the camera sees streets at their true width and the
map stays readable from afar.
"""

from __future__ import annotations

from dataclasses import dataclass

from basemap.features import RoadClass

__all__ = ["AREA_FILL", "BUILDING_EDGE", "LAND", "NO_DATA", "RAIL", "ROADS", "RoadStyle"]

Colour = tuple[int, int, int]

NO_DATA: Colour = (221, 225, 229)  # outside the extract: nothing is known there
LAND: Colour = (242, 239, 233)
AREA_FILL: dict[str, Colour] = {
    "green": (200, 230, 180),
    "water": (170, 211, 223),
    "paved": (226, 223, 218),
    "building": (217, 208, 201),
}
BUILDING_EDGE: Colour = (190, 178, 168)
RAIL: Colour = (112, 112, 112)
TRAM: Colour = (150, 140, 150)


@dataclass(frozen=True)
class RoadStyle:
    """How one road class is drawn."""

    fill: Colour
    casing: Colour
    width_m: float
    min_px: float
    min_zoom: int


ROADS: dict[RoadClass, RoadStyle] = {
    "motorway": RoadStyle((232, 146, 162), (200, 80, 100), 22.0, 3.0, 5),
    "trunk": RoadStyle((249, 178, 156), (200, 110, 90), 20.0, 3.0, 6),
    "primary": RoadStyle((252, 214, 164), (190, 140, 80), 18.0, 2.5, 8),
    "secondary": RoadStyle((247, 250, 191), (170, 170, 100), 15.0, 2.0, 10),
    "tertiary": RoadStyle((255, 255, 255), (170, 165, 150), 12.0, 1.5, 12),
    "minor": RoadStyle((255, 255, 255), (190, 185, 175), 9.0, 1.0, 13),
    "service": RoadStyle((255, 255, 255), (200, 195, 185), 5.0, 0.6, 14),
    "pedestrian": RoadStyle((237, 237, 237), (190, 190, 190), 8.0, 1.0, 14),
    "path": RoadStyle((246, 190, 175), (246, 190, 175), 1.2, 0.6, 15),
}
"""Per class: fill, casing, width in metres, least width in pixels, first zoom drawn."""

CASING_PX = 0.8  # each side; a path has none
