"""Tile files: PMTiles (written and read) and MBTiles (read, and written for other tools).

:func:`open_archive` tells the two apart by their first bytes and returns a
:class:`TileArchive`; :func:`write_archive` picks the format from the file's suffix. Both
keep the basemap's description (:class:`ArchiveInfo`: name, bounds, zoom range,
attribution) in the file's own metadata. A file that is not a tile file, or a corrupt
one, is a :class:`~basemap.errors.BasemapError`, never another exception.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from basemap.errors import BasemapError
from basemap.features import Bounds, Place

__all__ = [
    "ArchiveInfo",
    "MbtilesArchive",
    "PmtilesArchive",
    "TileArchive",
    "open_archive",
    "write_archive",
]

PMTILES_MAGIC = b"PMTiles\x03"
SQLITE_MAGIC = b"SQLite format 3\x00"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"


@dataclass(frozen=True)
class ArchiveInfo:
    """What a tile file holds."""

    name: str
    bounds: Bounds
    min_zoom: int
    max_zoom: int
    attribution: str = OSM_ATTRIBUTION
    format: Literal["pmtiles", "mbtiles"] = "pmtiles"
    tiles: int = 0

    def metadata(self) -> dict[str, Any]:
        """The description as the file's JSON metadata."""
        out = asdict(self)
        out["bounds"] = list(self.bounds)
        return out


class TileArchive(Protocol):
    """A read-only store of PNG tiles by zoom, column and row (XYZ, row 0 at the north)."""

    info: ArchiveInfo

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes, or None when the file has no such tile.

        Raises:
            BasemapError: ``basemap_invalid`` when the file is corrupt.
        """
        ...

    def places(self) -> list[Place]:
        """The addresses and named places the file carries (none when it has no list)."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...


def _bounds(value: Any) -> Bounds:
    w, s, e, n = (float(v) for v in value)
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ValueError(f"bounds {value} are not a west, south, east, north box")
    return Bounds(w, s, e, n)


class PmtilesArchive:
    """A PMTiles v3 file, memory-mapped; thread-safe for reading."""

    def __init__(self, path: Path) -> None:
        import mmap

        from pmtiles.tile import deserialize_header

        self.path = path
        with path.open("rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._dirs: dict[tuple[int, int], list[Any]] = {}
        try:
            self._header = deserialize_header(self._map[:127])
            meta = self._metadata()
            h = self._header
            bounds = (
                h["min_lon_e7"] / 1e7,
                h["min_lat_e7"] / 1e7,
                h["max_lon_e7"] / 1e7,
                h["max_lat_e7"] / 1e7,
            )
            self.info = ArchiveInfo(
                name=str(meta.get("name", path.stem)),
                bounds=_bounds(meta.get("bounds", bounds)),
                min_zoom=int(h["min_zoom"]),
                max_zoom=int(h["max_zoom"]),
                attribution=str(meta.get("attribution", OSM_ATTRIBUTION)),
                format="pmtiles",
                tiles=int(h["addressed_tiles_count"] or 0),
            )
        except BasemapError:
            self.close()
            raise
        except Exception as exc:  # any corruption the decoder trips on
            self.close()
            raise BasemapError(f"{path} is not a valid PMTiles file: {exc!r}") from None

    def _metadata(self) -> dict[str, Any]:
        import gzip

        from pmtiles.tile import Compression

        h = self._header
        raw = self._map[h["metadata_offset"] : h["metadata_offset"] + h["metadata_length"]]
        if h["internal_compression"] == Compression.GZIP:
            raw = gzip.decompress(raw)
        meta = json.loads(raw) if raw else {}
        if not isinstance(meta, dict):
            raise BasemapError(f"{self.path}: metadata is not a JSON object")
        return meta

    def _directory(self, offset: int, length: int) -> list[Any]:
        from pmtiles.tile import deserialize_directory

        key = (offset, length)
        found = self._dirs.get(key)
        if found is None:
            if offset < 0 or length <= 0 or offset + length > len(self._map):
                raise ValueError("directory outside the file")
            found = deserialize_directory(self._map[offset : offset + length])
            if len(self._dirs) < 256:
                self._dirs[key] = found
        return found

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's PNG bytes, or None when the file has none there."""
        from pmtiles.tile import find_tile, zxy_to_tileid

        if not 0 <= z <= 30 or not (0 <= x < 2**z and 0 <= y < 2**z):
            return None
        h = self._header
        try:
            tile_id = zxy_to_tileid(z, x, y)
            offset, length = h["root_offset"], h["root_length"]
            for _ in range(4):  # PMTiles nests directories at most this deep
                entry = find_tile(self._directory(offset, length), tile_id)
                if entry is None:
                    return None
                if entry.run_length > 0:
                    start = h["tile_data_offset"] + entry.offset
                    if start + entry.length > len(self._map):
                        raise ValueError("tile outside the file")
                    return bytes(self._map[start : start + entry.length])
                offset, length = h["leaf_directory_offset"] + entry.offset, entry.length
        except Exception as exc:
            raise BasemapError(f"{self.path} is corrupt at tile {z}/{x}/{y}: {exc!r}") from None
        return None

    def places(self) -> list[Place]:
        """The addresses and named places in the file's metadata."""
        try:
            return _read_places(self._metadata().get("places"))
        except Exception:  # a corrupt list of names leaves the tiles usable
            return []

    def close(self) -> None:
        """Unmap the file."""
        self._map.close()


class MbtilesArchive:
    """An MBTiles file (SQLite; rows counted from the south, as MBTiles does), read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            meta = dict(self._db.execute("SELECT name, value FROM metadata").fetchall())
            zooms = self._db.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles")
            low, high = zooms.fetchone()
            count = self._db.execute("SELECT count(*) FROM tiles").fetchone()[0]
            self.info = ArchiveInfo(
                name=str(meta.get("name", path.stem)),
                bounds=_bounds(str(meta.get("bounds", "-180,-85,180,85")).split(",")),
                min_zoom=int(meta.get("minzoom", low or 0)),
                max_zoom=int(meta.get("maxzoom", high or 0)),
                attribution=str(meta.get("attribution", OSM_ATTRIBUTION)),
                format="mbtiles",
                tiles=int(count),
            )
        except (sqlite3.Error, ValueError, TypeError) as exc:
            raise BasemapError(f"{path} is not a valid MBTiles file: {exc}") from None

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes, or None when the file has none there."""
        if not 0 <= z <= 30 or not (0 <= x < 2**z and 0 <= y < 2**z):
            return None
        query = "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?"
        try:
            with self._lock:
                row = self._db.execute(query, (z, x, 2**z - 1 - y)).fetchone()
        except sqlite3.Error as exc:
            raise BasemapError(f"{self.path} is corrupt at tile {z}/{x}/{y}: {exc}") from None
        return bytes(row[0]) if row and row[0] is not None else None

    def places(self) -> list[Place]:
        """The addresses and named places in the ``json`` metadata row."""
        try:
            with self._lock:
                row = self._db.execute("SELECT value FROM metadata WHERE name='json'").fetchone()
            return _read_places(json.loads(row[0]).get("places")) if row else []
        except (sqlite3.Error, ValueError, TypeError, AttributeError):
            return []

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def open_archive(path: Path) -> TileArchive:
    """The tile file at ``path``, PMTiles or MBTiles, told apart by its first bytes.

    Raises:
        BasemapError: ``basemap_missing`` when there is no file, ``basemap_invalid`` when it
            is neither format or is corrupt.
    """
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise BasemapError(f"no tile file at {path}", code="basemap_missing") from None
    except OSError as exc:
        raise BasemapError(f"tile file {path} cannot be read: {exc.strerror}") from None
    if head.startswith(PMTILES_MAGIC):
        return PmtilesArchive(path)
    if head.startswith(SQLITE_MAGIC):
        return MbtilesArchive(path)
    raise BasemapError(f"{path} is neither a PMTiles nor an MBTiles file")


Tiles = Iterable[tuple[int, int, int, bytes]]


def _places_json(places: Iterable[Place]) -> list[list[object]]:
    return [[p.name, p.kind, round(p.lat, 7), round(p.lon, 7)] for p in places]


def _read_places(value: Any) -> list[Place]:
    out = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, list) and len(item) == 4:
            name, kind, lat, lon = item
            if isinstance(name, str) and isinstance(kind, str):
                with contextlib.suppress(TypeError, ValueError):
                    out.append(Place(name, kind, float(lat), float(lon)))
    return out


def write_archive(
    path: Path, tiles: Tiles, info: ArchiveInfo, *, places: Iterable[Place] = ()
) -> None:
    """Write PNG tiles (z, x, y, bytes) to ``path``: ``.mbtiles`` as MBTiles, else PMTiles.

    ``places`` (addresses and named places) go into the file's metadata, so a service that
    holds only the tile file can search the map's own names. The file appears whole or not
    at all: it is written beside ``path`` and renamed.
    """
    named = _places_json(places)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.suffix.lower() == ".mbtiles":
            _write_mbtiles(tmp, tiles, info, named)
        else:
            _write_pmtiles(tmp, tiles, info, named)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_pmtiles(path: Path, tiles: Tiles, info: ArchiveInfo, places: list[list[object]]) -> None:
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    ordered = sorted((zxy_to_tileid(z, x, y), data) for z, x, y, data in tiles)
    if not ordered:
        raise BasemapError(f"no tiles to write to {path}")
    b = info.bounds
    with path.open("wb") as f:
        writer = Writer(f)  # type: ignore[no-untyped-call]
        for tile_id, data in ordered:
            writer.write_tile(tile_id, data)  # type: ignore[no-untyped-call]
        header = {
            "tile_type": TileType.PNG,
            "tile_compression": Compression.NONE,
            "min_lon_e7": round(b.west * 1e7),
            "min_lat_e7": round(b.south * 1e7),
            "max_lon_e7": round(b.east * 1e7),
            "max_lat_e7": round(b.north * 1e7),
            "center_zoom": info.min_zoom,
            "center_lon_e7": round((b.west + b.east) / 2 * 1e7),
            "center_lat_e7": round((b.south + b.north) / 2 * 1e7),
        }
        meta = {**info.metadata(), "format": "png", "tiles": len(ordered), "places": places}
        writer.finalize(header, meta)  # type: ignore[no-untyped-call]


def _write_mbtiles(path: Path, tiles: Tiles, info: ArchiveInfo, places: list[list[object]]) -> None:
    db = sqlite3.connect(path)
    try:
        db.executescript(
            "CREATE TABLE metadata (name TEXT, value TEXT);"
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
            " tile_data BLOB);"
            "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);"
        )
        rows = [(z, x, 2**z - 1 - y, data) for z, x, y, data in tiles]
        db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", rows)
        meta = {
            "name": info.name,
            "format": "png",
            "bounds": ",".join(f"{v:.7f}" for v in info.bounds),
            "minzoom": str(info.min_zoom),
            "maxzoom": str(info.max_zoom),
            "attribution": info.attribution,
            "type": "baselayer",
            "json": json.dumps({"places": places}, ensure_ascii=False),
        }
        db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
        db.commit()
    finally:
        db.close()
