"""The basemap dispatch offers the UI: a force's XYZ tile server, or a tile file served here.

An offline tile file (PMTiles or MBTiles, e.g. from ``outrider basemap build``) is opened
once at start-up, with the addresses and named places it carries for search; a file that is
missing or unreadable is logged and the map runs without it (a control room must not stop for
want of a street map), and ``GET /api/v1/map`` says why in ``basemap.problem``.
"""

from __future__ import annotations

import hashlib
import logging

from basemap.archive import TileArchive, open_archive
from basemap.errors import BasemapError
from basemap.features import Place
from basemap.search import PlaceIndex
from dispatch.config import MapConfig
from dispatch.models import BasemapPublic
from dispatch.service_errors import NotFoundError

__all__ = ["DEFAULT_CENTER", "MapTiles"]

logger = logging.getLogger(__name__)

DEFAULT_CENTER = (51.5074, -0.1278)
DEFAULT_ZOOM = 13


class MapTiles:
    """The configured basemap: its description, start view and (for a file) its tiles.

    Args:
        config: the ``[map]`` settings.
    """

    def __init__(self, config: MapConfig) -> None:
        self.config = config
        self.archive: TileArchive | None = None
        self.problem = ""
        self.places = PlaceIndex([])
        if config.tile_file is not None:
            try:
                self.archive = open_archive(config.tile_file)
                self.places = PlaceIndex(self.archive.places())
            except BasemapError as exc:
                self.problem = exc.reason
                logger.warning(
                    "map without its basemap: %s (build one with `outrider basemap build "
                    "--out %s`)",
                    exc.reason,
                    config.tile_file,
                )

    def describe(self, tile_path: str) -> BasemapPublic:
        """The basemap in use; ``tile_path`` is where this service serves a file's tiles."""
        c = self.config
        if self.archive is not None:
            info = self.archive.info
            return BasemapPublic(
                kind="file",
                name=c.name or info.name,
                tile_url=tile_path,
                attribution=c.attribution or info.attribution,
                format=info.format,
                bounds=list(info.bounds),
                min_zoom=info.min_zoom,
                max_zoom=info.max_zoom,
                places=len(self.places),
            )
        if c.tile_url:
            return BasemapPublic(
                kind="xyz", name=c.name, tile_url=c.tile_url, attribution=c.attribution
            )
        return BasemapPublic(
            kind="none", name="", tile_url="", attribution="", problem=self.problem
        )

    def start_view(self) -> tuple[dict[str, float], int]:
        """Where the map opens: the configured centre, else the tile file's middle."""
        c = self.config
        zoom = c.zoom
        if c.center_lat is not None and c.center_lon is not None:
            lat, lon = c.center_lat, c.center_lon
        elif self.archive is not None:
            lat, lon = self.archive.info.bounds.centre
            zoom = zoom or max(self.archive.info.min_zoom, min(15, self.archive.info.max_zoom))
        else:
            lat, lon = DEFAULT_CENTER
        return {"lat": lat, "lon": lon}, zoom or DEFAULT_ZOOM

    def search(self, query: str, limit: int = 10) -> list[Place]:
        """Addresses, streets and named places of the tile file matching ``query`` (none
        without a file, or for a file built without its places)."""
        return self.places.search(query, limit)

    def tile(self, z: int, x: int, y: int) -> tuple[bytes, str]:
        """A tile of the file and its entity tag.

        Raises:
            NotFoundError: no tile file, or none at z/x/y.
            BasemapError: the file is corrupt there.
        """
        data = self.archive.tile(z, x, y) if self.archive is not None else None
        if data is None:
            raise NotFoundError(f"no basemap tile {z}/{x}/{y}")
        return data, hashlib.blake2b(data, digest_size=12).hexdigest()

    def close(self) -> None:
        """Release the tile file."""
        if self.archive is not None:
            self.archive.close()
            self.archive = None
