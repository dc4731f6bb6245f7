"""Draws a city's features into an RGB picture of any Web Mercator window, at any zoom.

The tile builder cuts such pictures into 256-pixel tiles; the picture is drawn larger by a
supersampling factor and reduced, which smooths the edges Pillow draws without antialiasing.
Features are projected once, and each window draws only those whose box meets it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw
from shapely.geometry import LineString, MultiPolygon, Polygon

from basemap.features import ROAD_CLASSES, AreaKind, City, RoadClass
from basemap.mercator import TILE, metres_per_pixel, to_unit
from basemap.style import AREA_FILL, BUILDING_EDGE, CASING_PX, LAND, NO_DATA, RAIL, ROADS, TRAM

__all__ = ["Painter", "Window"]

AREA_ORDER: tuple[AreaKind, ...] = ("green", "paved", "water", "building")
Coords = NDArray[np.float64]
Box = tuple[float, float, float, float]
Flat = Callable[[Coords], list[float]]


@dataclass(frozen=True)
class Window:
    """A rectangle of world pixels at one zoom: its top-left corner and its size."""

    zoom: int
    x: float
    y: float
    width: int
    height: int

    def box(self) -> Box:
        """The window on the unit square: min x, min y, max x, max y."""
        size = TILE * 2.0**self.zoom
        return (
            self.x / size,
            self.y / size,
            (self.x + self.width) / size,
            (self.y + self.height) / size,
        )


class _Layer:
    """Projected shapes of one kind, each with its box, for quick selection."""

    def __init__(self) -> None:
        self.shapes: list[list[Coords]] = []  # a polygon's rings (outer first) or one line
        self.tags: list[str] = []
        self._boxes: list[tuple[float, float, float, float]] = []
        self.boxes = np.zeros((0, 4))

    def add(self, rings: list[Coords], tag: str = "") -> None:
        every = np.concatenate(rings)
        lo, hi = every.min(axis=0), every.max(axis=0)
        self.shapes.append(rings)
        self.tags.append(tag)
        self._boxes.append((lo[0], lo[1], hi[0], hi[1]))

    def freeze(self) -> None:
        self.boxes = np.array(self._boxes, dtype=np.float64).reshape(-1, 4)

    def meeting(self, box: Box, pad: float) -> NDArray[np.intp]:
        b = self.boxes
        hit = (
            (b[:, 0] <= box[2] + pad)
            & (b[:, 2] >= box[0] - pad)
            & (b[:, 1] <= box[3] + pad)
            & (b[:, 3] >= box[1] - pad)
        )
        return np.flatnonzero(hit)


def _project(geom: LineString) -> Coords:
    xy = np.asarray(geom.coords, dtype=np.float64)
    return to_unit(xy[:, 0], xy[:, 1])


def _polygons(shape: Polygon | MultiPolygon) -> list[Polygon]:
    return list(shape.geoms) if isinstance(shape, MultiPolygon) else [shape]


class Painter:
    """Draws one city; build once, then :meth:`render` as many windows as needed.

    Args:
        city: the features to draw.
    """

    def __init__(self, city: City) -> None:
        self.city = city
        self.areas: dict[AreaKind, _Layer] = {k: _Layer() for k in AREA_ORDER}
        ordered = sorted(city.areas, key=lambda a: -a.shape.area)  # containers first
        for area in ordered:
            for poly in _polygons(area.shape):
                rings = [_project(poly.exterior), *(_project(r) for r in poly.interiors)]
                self.areas[area.kind].add(rings)
        self.roads: dict[RoadClass, _Layer] = {c: _Layer() for c in ROAD_CLASSES}
        for road in city.roads:
            self.roads[road.cls].add([_project(road.line)])
        self.rails = _Layer()
        for rail in city.rails:
            self.rails.add([_project(rail.line)], rail.kind)
        for layer in (*self.areas.values(), *self.roads.values(), self.rails):
            layer.freeze()
        b = city.bounds
        corners = to_unit(np.array([b.west, b.east]), np.array([b.north, b.south]))
        self.extent = corners  # unit-square corners: top-left, bottom-right
        self.lat = b.centre[0]
        self._ss = 2

    def render(self, window: Window, supersample: int = 2) -> Image.Image:
        """The window as an RGB picture of ``window.width`` x ``window.height`` pixels."""
        ss = self._ss = max(1, supersample)
        size = (window.width * ss, window.height * ss)
        scale = TILE * 2.0**window.zoom * ss
        offset = np.array([window.x * ss, window.y * ss])
        img = Image.new("RGB", size, NO_DATA)
        draw = ImageDraw.Draw(img)
        (x0, y0), (x1, y1) = self.extent * scale - offset
        draw.rectangle((x0, y0, x1, y1), fill=LAND)
        box = window.box()
        pad = 40.0 / scale  # half the widest road, in unit-square terms

        def flat(coords: Coords) -> list[float]:
            values: list[float] = (coords * scale - offset).ravel().tolist()
            return values

        for kind in AREA_ORDER:
            self._fill(img, kind, box, pad, flat)
        if window.zoom >= 15:
            edge = max(1, ss // 2)
            for i in self.areas["building"].meeting(box, pad):
                for ring in self.areas["building"].shapes[i]:
                    draw.line(flat(ring), fill=BUILDING_EDGE, width=edge)
        self._roads(draw, window, box, flat)
        self._rails(draw, window, box, flat)
        return img.reduce(ss) if ss > 1 else img

    def _fill(self, img: Image.Image, kind: AreaKind, box: Box, pad: float, flat: Flat) -> None:
        layer = self.areas[kind]
        hits = layer.meeting(box, pad)
        if not hits.size:
            return
        mask = Image.new("L", img.size, 0)
        draw = ImageDraw.Draw(mask)
        for i in hits:
            outer, *holes = layer.shapes[i]
            draw.polygon(flat(outer), fill=255)
            for hole in holes:
                draw.polygon(flat(hole), fill=0)
        img.paste(AREA_FILL[kind], mask=mask)

    def _roads(self, draw: ImageDraw.ImageDraw, window: Window, box: Box, flat: Flat) -> None:
        ss = self._ss
        mpp = metres_per_pixel(self.lat, window.zoom) / ss
        shown = [c for c in ROAD_CLASSES if window.zoom >= ROADS[c].min_zoom]
        widths = {c: max(ROADS[c].min_px * ss, ROADS[c].width_m / mpp) for c in shown}
        pad = 40.0 / (TILE * 2.0**window.zoom * ss)  # half the widest road
        hits = {c: self.roads[c].meeting(box, pad) for c in shown}
        for cls in shown:  # casings under every fill, so crossings look joined
            if cls == "path" or widths[cls] < 2 * ss:
                continue
            width = widths[cls] + 2 * CASING_PX * ss
            for i in hits[cls]:
                _line(draw, flat(self.roads[cls].shapes[i][0]), ROADS[cls].casing, width)
        for cls in shown:
            for i in hits[cls]:
                _line(draw, flat(self.roads[cls].shapes[i][0]), ROADS[cls].fill, widths[cls])

    def _rails(self, draw: ImageDraw.ImageDraw, window: Window, box: Box, flat: Flat) -> None:
        ss = self._ss
        mpp = metres_per_pixel(self.lat, window.zoom) / ss
        pad = 40.0 / (TILE * 2.0**window.zoom * ss)  # half the widest road
        for i in self.rails.meeting(box, pad):
            tram = self.rails.tags[i] == "tram"
            width = max(ss * (0.6 if tram else 1.0), (1.0 if tram else 1.5) / mpp)
            colour = TRAM if tram else RAIL
            draw.line(flat(self.rails.shapes[i][0]), fill=colour, width=round(width))


def _line(
    draw: ImageDraw.ImageDraw, points: list[float], colour: tuple[int, int, int], width: float
) -> None:
    """A polyline with round joins and, when wide enough to show, round ends."""
    w = max(1, round(width))
    draw.line(points, fill=colour, width=w, joint="curve" if w > 2 else None)
    if w > 3:
        r = w / 2
        for x, y in ((points[0], points[1]), (points[-2], points[-1])):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
