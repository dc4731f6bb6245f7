"""The basemap from real OpenStreetMap data: features, tiles with streets where the roads
are, PMTiles and MBTiles files, the command line, and tile files that are not."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from shapely.geometry import LineString

from basemap.archive import ArchiveInfo, open_archive, write_archive
from basemap.errors import BasemapError
from basemap.features import City
from basemap.mercator import TILE, to_world
from basemap.osm import bundled_extract, read_city
from basemap.style import AREA_FILL, LAND, NO_DATA, ROADS

REPO = Path(__file__).resolve().parents[2]


def longest(city: City, name: str) -> LineString:
    return max((r.line for r in city.roads if r.name == name), key=lambda line: line.length)


def pixels_around(path: Path, lat: float, lon: float, zoom: int, r: int = 3) -> np.ndarray:
    """The pixels within ``r`` of a position, from the tile of ``path`` that holds it."""
    x, y = to_world(lat, lon, zoom)
    archive = open_archive(path)
    try:
        data = archive.tile(zoom, int(x // TILE), int(y // TILE))
    finally:
        archive.close()
    assert data is not None, f"no tile at {lat}, {lon} zoom {zoom}"
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    px, py = int(x % TILE), int(y % TILE)
    return img[max(0, py - r) : py + r + 1, max(0, px - r) : px + r + 1].reshape(-1, 3)


def damaged(source: Path, cut: int, flips: list[tuple[int, int]], folder: Path) -> Path:
    """A copy of ``source`` in ``folder`` cut after ``cut`` bytes, with bytes overwritten."""
    data = bytearray(source.read_bytes()[: max(cut, 1)])
    for at, value in flips:
        if at < len(data):
            data[at] = value
    path = folder / f"damaged-{source.name}"
    path.write_bytes(bytes(data))
    return path


def has_colour(pixels: np.ndarray, colour: tuple[int, int, int], tol: int = 6) -> bool:
    return bool(np.any(np.all(np.abs(pixels.astype(int) - colour) <= tol, axis=1)))


def test_the_helsinki_extract_holds_streets_buildings_green_water_rail_and_places(
    helsinki: City,
) -> None:
    b = helsinki.bounds
    assert helsinki.name == "Helsinki" and b.contains(60.1699, 24.9410)  # the railway square
    assert 0.015 < b.east - b.west < 0.02 and 0.013 < b.north - b.south < 0.017
    assert len(helsinki.roads) > 1000 and {r.cls for r in helsinki.roads} >= {"primary", "minor"}
    counts = {k: len(helsinki.of_kind(k)) for k in ("building", "green", "water", "paved")}
    assert counts["building"] > 300 and counts["green"] > 50 and counts["water"] > 3, counts
    assert len(helsinki.rails) > 100
    kinds = {p.kind for p in helsinki.places}
    assert {"address", "street"} <= kinds
    assert any(p.name == "Mannerheimintie" and p.kind == "street" for p in helsinki.places)
    # The bay north of Kaisaniemi is sea, closed from the coastline against the box.
    assert any(a.shape.contains(_point(60.1775, 24.9440)) for a in helsinki.of_kind("water"))


def _point(lat: float, lon: float):  # type: ignore[no-untyped-def]
    from shapely.geometry import Point

    return Point(lon, lat)


def test_tiles_are_pngs_with_streets_where_openstreetmap_has_roads(
    helsinki: City, helsinki_tiles: Path
) -> None:
    archive = open_archive(helsinki_tiles)
    info = archive.info
    assert (info.min_zoom, info.max_zoom, info.format) == (15, 17, "pmtiles")
    assert info.name == "Helsinki" and "OpenStreetMap" in info.attribution
    assert info.bounds == helsinki.bounds and info.tiles > 50
    assert len(archive.places()) == len(helsinki.places)
    archive.close()
    street = longest(helsinki, "Yrjönkatu").interpolate(0.5, normalized=True)
    assert has_colour(pixels_around(helsinki_tiles, street.y, street.x, 17), ROADS["minor"].fill)
    main = longest(helsinki, "Mannerheimintie").interpolate(0.3, normalized=True)
    around = pixels_around(helsinki_tiles, main.y, main.x, 17)
    assert has_colour(around, ROADS["primary"].fill)
    assert not has_colour(around, LAND, tol=2)  # 30 px of road in every direction
    sea = pixels_around(helsinki_tiles, 60.1775, 24.9440, 16)
    assert has_colour(sea, AREA_FILL["water"])
    station = next(a for a in helsinki.of_kind("building") if a.name.startswith("Helsingin pää"))
    inside = station.shape.representative_point()
    assert has_colour(
        pixels_around(helsinki_tiles, inside.y, inside.x, 17, 1), AREA_FILL["building"]
    )


def test_a_tile_reaching_past_the_extract_shows_where_the_data_ends(
    helsinki: City, helsinki_tiles: Path
) -> None:
    b = helsinki.bounds
    outside = pixels_around(helsinki_tiles, b.north + 0.0004, (b.west + b.east) / 2, 17, 1)
    assert has_colour(outside, NO_DATA, tol=1)
    archive = open_archive(helsinki_tiles)
    assert archive.tile(17, 0, 0) is None and archive.tile(5, 99, 99) is None
    archive.close()


def test_mbtiles_hold_the_same_tiles_rows_counted_from_the_south(
    helsinki: City, helsinki_tiles: Path, tmp_path: Path
) -> None:
    pm = open_archive(helsinki_tiles)
    x, y = (int(v // TILE) for v in to_world(60.1699, 24.9410, 16))
    tile = pm.tile(16, x, y)
    assert tile is not None
    out = tmp_path / "one.mbtiles"
    write_archive(out, [(16, x, y, tile)], pm.info, places=pm.places()[:3])
    mb = open_archive(out)
    assert mb.info.format == "mbtiles" and mb.info.bounds == pm.info.bounds
    assert mb.tile(16, x, y) == tile and mb.tile(16, x, y + 1) is None
    assert mb.places() == pm.places()[:3]
    with sqlite3.connect(out) as db:
        assert db.execute("SELECT tile_row FROM tiles").fetchone()[0] == 2**16 - 1 - y
    mb.close()
    pm.close()


def test_the_command_line_builds_a_basemap_and_describes_it(tmp_path: Path) -> None:
    out = tmp_path / "h.pmtiles"
    cmd = [sys.executable, "-m", "outrider", "basemap", "build", "--out", str(out)]
    done = subprocess.run(
        [*cmd, "--min-zoom", "14", "--max-zoom", "15"], capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert "tiles, zoom 14-15" in done.stdout and "100%" in done.stderr
    info = subprocess.run(
        [sys.executable, "-m", "outrider", "basemap", "info", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    described = json.loads(info.stdout)
    assert described["name"] == "Helsinki" and described["max_zoom"] == 15
    refused = subprocess.run(
        [*cmd, "--osm", str(tmp_path / "none.osm.pbf")], capture_output=True, text=True, cwd=REPO
    )
    assert refused.returncode == 2 and "basemap_missing" in refused.stderr


def test_an_extract_that_is_not_one_is_refused_with_a_code(tmp_path: Path) -> None:
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"not a protobuf at all" * 10)
    with pytest.raises(BasemapError) as err:
        read_city(bad)
    assert err.value.code == "basemap_invalid"


def test_files_that_are_not_tile_files_are_refused_with_a_code(tmp_path: Path) -> None:
    with pytest.raises(BasemapError) as missing:
        open_archive(tmp_path / "none.pmtiles")
    assert missing.value.code == "basemap_missing"
    with pytest.raises(BasemapError) as folder:
        open_archive(tmp_path)
    assert folder.value.code == "basemap_missing"
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (a)")
    with pytest.raises(BasemapError) as sql:
        open_archive(other)
    assert sql.value.code == "basemap_invalid"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(0, 40_000),
    flips=st.lists(st.tuples(st.integers(0, 40_000), st.integers(0, 255)), max_size=8),
    zxy=st.tuples(st.integers(0, 20), st.integers(0, 2**20), st.integers(0, 2**20)),
)
def test_a_damaged_pmtiles_file_reads_or_gives_a_coded_refusal(
    helsinki_tiles: Path, tmp_path_factory: pytest.TempPathFactory, cut: int,
    flips: list[tuple[int, int]], zxy: tuple[int, int, int],
) -> None:  # fmt: skip
    path = damaged(helsinki_tiles, cut, flips, tmp_path_factory.mktemp("fuzz"))
    try:
        archive = open_archive(path)
    except BasemapError as exc:
        assert exc.code == "basemap_invalid"
        return
    try:
        tile = archive.tile(*zxy)
        assert tile is None or isinstance(tile, bytes)
        assert isinstance(archive.places(), list)
    except BasemapError as exc:
        assert exc.code == "basemap_invalid"
    finally:
        archive.close()


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_as_a_tile_file_give_a_coded_refusal(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("bytes") / "x.pmtiles"
    path.write_bytes(b"PMTiles\x03" + data if data[:1] == b"\x00" else data)
    with pytest.raises(BasemapError) as err:
        open_archive(path).close()
    assert err.value.code == "basemap_invalid"


def test_an_archive_needs_tiles_and_a_box() -> None:
    info = ArchiveInfo("x", helsinki_box(), 1, 2)
    with pytest.raises(BasemapError):
        write_archive(Path("/nonexistent-dir-for-test/none.pmtiles"), [], info)


def helsinki_box():  # type: ignore[no-untyped-def]
    from basemap.features import Bounds

    return Bounds(24.93, 60.16, 24.95, 60.18)


@settings(max_examples=60, deadline=None)
@given(
    cut=st.integers(1, 700_000),
    flips=st.lists(st.tuples(st.integers(0, 700_000), st.integers(0, 255)), max_size=6),
)
def test_a_damaged_extract_reads_or_gives_a_coded_refusal(
    tmp_path_factory: pytest.TempPathFactory, cut: int, flips: list[tuple[int, int]]
) -> None:
    path = damaged(bundled_extract(), cut, flips, tmp_path_factory.mktemp("osm"))
    try:
        city = read_city(path)
    except BasemapError as exc:
        assert exc.code == "basemap_invalid"
    else:
        assert city.roads or city.areas
