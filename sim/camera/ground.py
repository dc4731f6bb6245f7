"""The camera's ground from a basemap tile file: the same streets, buildings, parks and water
the control room's map shows, as one top-down picture of the extract.

One zoom of the tile file is stitched into a texture at about 0.3-0.5 m a pixel; the
renderer looks each ground point up in it through the camera's ground projection. Outside
the extract the renderer keeps its plain ground.
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from basemap.archive import TileArchive, open_archive
from basemap.mercator import TILE, metres_per_pixel, tiles_covering, to_world
from basemap.style import NO_DATA

__all__ = ["CityGround", "load_ground"]

logger = logging.getLogger(__name__)

COARSEST_M_PER_PX = 0.5  # the coarsest zoom the ground uses when the file has finer ones
MAX_SIDE_PX = 8192
GRAIN = 6.0  # +- levels of fixed noise, so flat colours look like a surface
# The map's pale colours at a street camera's exposure: people and vehicles stand out against
# the ground as they would in daylight video (on the map's near-white the detector takes a
# small figure for a traffic light against the sky).
EXPOSURE = 0.6


@dataclass(frozen=True)
class CityGround:
    """A georeferenced top-down picture of a city.

    Attributes:
        texture: RGB pixels, rows from the north.
        zoom: the Web Mercator zoom the pixels are at.
        x0: world pixel (at ``zoom``) of the texture's left column.
        y0: world pixel of its top row.
        extent: the extract inside the texture: left, top, right, bottom (texture pixels).
    """

    texture: NDArray[np.uint8]
    zoom: int
    x0: float
    y0: float
    extent: tuple[float, float, float, float]

    def sample(
        self, lat: float, lon: float, east: NDArray[np.float32], north: NDArray[np.float32]
    ) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
        """The colours at ground points ``east``/``north`` metres from a point.

        Colours are blended from the four nearest pixels (a zoom camera sees each pixel
        several times magnified). Returns the colours and whether each point lies inside the
        extract (outside it the colours are meaningless).
        """
        wx, wy = to_world(lat, lon, self.zoom)
        per_m = np.float32(1.0 / metres_per_pixel(lat, self.zoom))  # Mercator is conformal
        col = np.float32(wx - self.x0 - 0.5) + east * per_m
        row = np.float32(wy - self.y0 - 0.5) - north * per_m
        left, top, right, bottom = self.extent
        inside = (col >= left) & (col < right - 1) & (row >= top) & (row < bottom - 1)
        h, w = self.texture.shape[:2]
        c0, r0 = np.floor(col), np.floor(row)
        fx, fy = (col - c0)[..., None], (row - r0)[..., None]
        c0i = np.clip(c0.astype(np.int64), 0, w - 2)
        r0i = np.clip(r0.astype(np.int64), 0, h - 2)
        at = r0i * w + c0i
        corners = np.take(
            self.texture.reshape(-1, 3), np.stack([at, at + 1, at + w, at + w + 1]), axis=0
        )
        a, b, c, d = corners.astype(np.float32)
        upper = a + (b - a) * fx
        colour: NDArray[np.float32] = upper + (c + (d - c) * fx - upper) * fy
        return colour, inside


def _zoom(archive: TileArchive) -> int:
    info = archive.info
    lat = info.bounds.centre[0]
    zooms = range(info.min_zoom, info.max_zoom + 1)
    fine_enough = [z for z in zooms if metres_per_pixel(lat, z) <= COARSEST_M_PER_PX]
    zoom = fine_enough[0] if fine_enough else info.max_zoom
    while zoom > info.min_zoom:
        cols, rows = tiles_covering(info.bounds, zoom)
        if max(len(cols), len(rows)) * TILE <= MAX_SIDE_PX:
            break
        zoom -= 1
    return zoom


def _stitch(archive: TileArchive, zoom: int) -> tuple[NDArray[np.uint8], range, range]:
    cols, rows = tiles_covering(archive.info.bounds, zoom)
    texture = np.empty((len(rows) * TILE, len(cols) * TILE, 3), dtype=np.uint8)
    texture[:] = NO_DATA
    for i, x in enumerate(cols):
        for j, y in enumerate(rows):
            data = archive.tile(zoom, x, y)
            if data is None:
                continue
            with Image.open(io.BytesIO(data)) as tile:
                texture[j * TILE : (j + 1) * TILE, i * TILE : (i + 1) * TILE] = np.asarray(
                    tile.convert("RGB").resize((TILE, TILE))
                )
    return texture, cols, rows


@functools.lru_cache(maxsize=2)
def load_ground(path: Path) -> CityGround:
    """The ground picture of the tile file at ``path`` (kept for the process's next camera).

    Raises:
        BasemapError: the file is missing or is not a readable tile file.
    """
    archive = open_archive(path)
    try:
        zoom = _zoom(archive)
        texture, cols, rows = _stitch(archive, zoom)
        b = archive.info.bounds
    finally:
        archive.close()
    rng = np.random.default_rng(0)
    grain = rng.uniform(-GRAIN, GRAIN, texture.shape[:2])[..., None]
    texture = np.clip(texture * EXPOSURE + grain, 0, 255).astype(np.uint8)
    x0, y0 = cols.start * TILE, rows.start * TILE
    (left, top), (right, bottom) = to_world(b.north, b.west, zoom), to_world(b.south, b.east, zoom)
    extent = (left - x0, top - y0, right - x0, bottom - y0)
    logger.info(
        "camera ground from %s: zoom %d, %dx%d px, %.2f m a pixel",
        path.name, zoom, texture.shape[1], texture.shape[0],
        metres_per_pixel(b.centre[0], zoom),
    )  # fmt: skip
    return CityGround(texture, zoom, float(x0), float(y0), extent)
