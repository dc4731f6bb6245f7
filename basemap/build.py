"""Builds a raster basemap: the city drawn at each zoom, cut into PNG tiles, in a tile file.

Each zoom is drawn in blocks of up to 8 x 8 tiles (one picture each, so lines cross tile
edges seamlessly), and only tiles that meet the extract are kept; a map asking for any
other gets nothing and shows its own background. Progress goes to a callback.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from basemap.archive import ArchiveInfo, write_archive
from basemap.features import City
from basemap.mercator import TILE, tiles_covering
from basemap.render import Painter, Window

__all__ = ["BLOCK", "BuildReport", "build_basemap", "ensure_basemap", "render_tiles"]

logger = logging.getLogger(__name__)

BLOCK = 8
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BuildReport:
    """What one build made."""

    path: Path
    tiles: int
    bytes: int
    seconds: float
    min_zoom: int
    max_zoom: int


def _count(city: City, zooms: range) -> int:
    total = 0
    for z in zooms:
        cols, rows = tiles_covering(city.bounds, z)
        total += len(cols) * len(rows)
    return total


def render_tiles(
    city: City, zooms: range, progress: Progress | None = None
) -> Iterator[tuple[int, int, int, bytes]]:
    """Every tile (z, x, y, PNG bytes) of ``city`` over ``zooms``."""
    painter = Painter(city)
    total, done = _count(city, zooms), 0
    for z in zooms:
        cols, rows = tiles_covering(city.bounds, z)
        for bx in range(cols.start, cols.stop, BLOCK):
            for by in range(rows.start, rows.stop, BLOCK):
                nx, ny = min(BLOCK, cols.stop - bx), min(BLOCK, rows.stop - by)
                picture = painter.render(Window(z, bx * TILE, by * TILE, nx * TILE, ny * TILE))
                for i in range(nx):
                    for j in range(ny):
                        tile = picture.crop((i * TILE, j * TILE, (i + 1) * TILE, (j + 1) * TILE))
                        out = io.BytesIO()
                        tile.save(out, "PNG", compress_level=6)
                        yield z, bx + i, by + j, out.getvalue()
                done += nx * ny
                if progress is not None:
                    progress(done, total)


def build_basemap(
    city: City,
    out: Path,
    *,
    min_zoom: int = 13,
    max_zoom: int = 19,
    progress: Progress | None = None,
) -> BuildReport:
    """Draw ``city`` at zooms ``min_zoom``..``max_zoom`` into the tile file ``out``.

    ``out`` ending in ``.mbtiles`` is written as MBTiles, anything else as PMTiles; the
    file's metadata names the city, its bounds, the zooms and the OpenStreetMap attribution.
    """
    started = time.monotonic()
    zooms = range(min_zoom, max_zoom + 1)
    tiles = list(render_tiles(city, zooms, progress))
    info = ArchiveInfo(city.name, city.bounds, min_zoom, max_zoom, tiles=len(tiles))
    write_archive(out, tiles, info, places=city.places)
    report = BuildReport(
        out, len(tiles), out.stat().st_size, time.monotonic() - started, min_zoom, max_zoom
    )
    logger.info(
        "basemap %s: %d tiles, zoom %d-%d, %.1f MB in %.1f s",
        out, report.tiles, min_zoom, max_zoom, report.bytes / 1e6, report.seconds,
    )  # fmt: skip
    return report


def ensure_basemap(
    out: Path,
    *,
    osm: Path | None = None,
    name: str = "",
    min_zoom: int = 13,
    max_zoom: int = 19,
    progress: Progress | None = None,
) -> BuildReport | None:
    """Build ``out`` from ``osm`` (the bundled Helsinki extract by default) unless it exists.

    Returns the build's report, or None when the file was already there.

    Raises:
        BasemapError: the extract is missing or unreadable, or its reader is not installed.
    """
    if out.is_file():
        return None
    from basemap.osm import bundled_extract, read_city

    city = read_city(osm or bundled_extract(), name)
    return build_basemap(city, out, min_zoom=min_zoom, max_zoom=max_zoom, progress=progress)
