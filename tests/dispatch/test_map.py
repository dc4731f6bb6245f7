"""The map API: the basemap in use, an offline tile file's tiles served with cache headers,
404 outside it, the same role rules as the rest of the map."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from basemap.archive import open_archive, write_archive
from basemap.mercator import TILE, to_world
from dispatch.config import DispatchSettings, MapConfig
from edge.errors import ConfigError
from tests.dispatch.conftest import RunningDispatch

STATION = (60.1712, 24.9412)


def tile_at(lat: float, lon: float, zoom: int) -> tuple[int, int, int]:
    x, y = to_world(lat, lon, zoom)
    return zoom, int(x // TILE), int(y // TILE)


async def test_the_map_names_the_offline_basemap_and_serves_its_tiles(
    make_settings: Callable[..., DispatchSettings], helsinki_tiles: Path
) -> None:
    settings = make_settings(map={"tile_file": str(helsinki_tiles)})
    async with RunningDispatch(settings) as service:
        described = (await service.http.get("/api/v1/map")).json()
        b = described["basemap"]
        assert b["kind"] == "file" and b["name"] == "Helsinki" and b["format"] == "pmtiles"
        assert b["tile_url"] == "/api/v1/map/tiles/{z}/{x}/{y}.png"
        assert (b["min_zoom"], b["max_zoom"]) == (15, 17)
        assert b["attribution"] == "© OpenStreetMap contributors"
        west, south, east, north = b["bounds"]
        assert west < STATION[1] < east and south < STATION[0] < north
        c = described["center"]
        assert south < c["lat"] < north and west < c["lon"] < east and described["zoom"] == 15

        z, x, y = tile_at(*STATION, 16)
        tile = await service.http.get(f"/api/v1/map/tiles/{z}/{x}/{y}.png")
        assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"
        assert tile.content.startswith(b"\x89PNG") and "max-age" in tile.headers["cache-control"]
        archive = open_archive(helsinki_tiles)
        assert tile.content == archive.tile(z, x, y)
        archive.close()
        again = await service.http.get(
            f"/api/v1/map/tiles/{z}/{x}/{y}.png", headers={"If-None-Match": tile.headers["etag"]}
        )
        assert again.status_code == 304 and not again.content

        for path in (f"{z}/{x + 50}/{y}", f"{z + 3}/{x}/{y}", "3/1/1"):
            missing = await service.http.get(f"/api/v1/map/tiles/{path}.png")
            assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        for path in ("16/-1/5.png", "99/1/1.png", "16/1/..%2F..%2Fetc.png", "16/1/1.jpg"):
            refused = await service.http.get(f"/api/v1/map/tiles/{path}")
            assert refused.status_code in (404, 422), path
        traversal = await service.http.get("/api/v1/map/tiles/../../../etc/passwd")
        assert traversal.status_code == 404

        async with service.client(None) as anonymous:
            assert (await anonymous.get(f"/api/v1/map/tiles/{z}/{x}/{y}.png")).status_code == 401
        async with service.client("viewer") as viewer:
            assert (await viewer.get(f"/api/v1/map/tiles/{z}/{x}/{y}.png")).status_code == 200


async def test_an_officer_link_reads_the_map_and_its_tiles(
    make_settings: Callable[..., DispatchSettings], helsinki_tiles: Path, edge_factory
) -> None:
    from tests.dispatch.test_incidents_api import docks_seen

    settings = make_settings(map={"tile_file": str(helsinki_tiles)})
    async with (
        RunningDispatch(settings) as service,
        edge_factory("dock-h", STATION[0], STATION[1] + 0.004),
    ):
        await docks_seen(service, 1)
        raised = await service.http.post(
            "/api/v1/incidents", json={"lat": 60.1690, "lon": 24.9440, "type": "collision"}
        )
        assert raised.status_code == 201, raised.text
        link = await service.http.post(f"/api/v1/incidents/{raised.json()['id']}/links", json={})
        token = link.json()["url"].split("token=")[1]
        async with service.client(None) as phone:
            described = await phone.get("/api/v1/map", params={"token": token})
            assert described.json()["basemap"]["kind"] == "file"
            z, x, y = tile_at(*STATION, 17)
            tile = await phone.get(f"/api/v1/map/tiles/{z}/{x}/{y}.png", params={"token": token})
            assert tile.status_code == 200


async def test_an_mbtiles_file_is_served_too(
    make_settings: Callable[..., DispatchSettings], helsinki_tiles: Path, tmp_path: Path
) -> None:
    source = open_archive(helsinki_tiles)
    z, x, y = tile_at(*STATION, 17)
    data = source.tile(z, x, y)
    assert data is not None
    mbtiles = tmp_path / "h.mbtiles"
    write_archive(mbtiles, [(z, x, y, data)], source.info)
    source.close()
    settings = make_settings(map={"tile_file": str(mbtiles), "name": "Central Helsinki"})
    async with RunningDispatch(settings) as service:
        b = (await service.http.get("/api/v1/map")).json()["basemap"]
        assert b["format"] == "mbtiles" and b["name"] == "Central Helsinki"
        assert (await service.http.get(f"/api/v1/map/tiles/{z}/{x}/{y}.png")).content == data


async def test_a_missing_tile_file_leaves_a_map_without_tiles_and_says_why(
    make_settings: Callable[..., DispatchSettings], tmp_path: Path
) -> None:
    settings = make_settings(map={"tile_file": str(tmp_path / "absent.pmtiles")})
    async with RunningDispatch(settings) as service:
        described = (await service.http.get("/api/v1/map")).json()
        assert described["basemap"]["kind"] == "none" and described["basemap"]["tile_url"] == ""
        assert "absent.pmtiles" in described["basemap"]["problem"]
        assert (await service.http.get("/api/v1/map/tiles/1/0/0.png")).status_code == 404


async def test_a_tile_server_is_named_as_it_is(
    make_settings: Callable[..., DispatchSettings],
) -> None:
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    settings = make_settings(map={"tile_url": url, "attribution": "© Example"})
    async with RunningDispatch(settings) as service:
        b = (await service.http.get("/api/v1/map")).json()["basemap"]
        assert (b["kind"], b["tile_url"], b["attribution"]) == ("xyz", url, "© Example")


def test_map_settings_refuse_two_sources_and_a_template_without_its_fields() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not both"):
        MapConfig(tile_url="http://t/{z}/{x}/{y}.png", tile_file=Path("a.pmtiles"))
    with pytest.raises(ValidationError, match=r"\{z\}"):
        MapConfig(tile_url="http://t/tiles.png")


def test_the_shipped_dispatch_config_uses_the_offline_helsinki_basemap() -> None:
    from dispatch.config import load_settings

    configs = Path(__file__).resolve().parents[2] / "configs"
    settings = load_settings(configs / "dispatch.toml")
    assert settings.map.tile_file is not None and settings.map.tile_url == ""
    assert settings.map.tile_file.resolve() == configs.parent / "state/cache/helsinki.pmtiles"
    assert [p.name for p in settings.airspace.no_fly] == ["helsinki-central.geojson"]
    with pytest.raises(ConfigError, match="map"):
        load_settings(configs / "dispatch.toml", map={"tile_url": "x"})


async def test_address_search_finds_the_tile_files_streets_addresses_and_places_offline(
    make_settings: Callable[..., DispatchSettings], helsinki_tiles: Path
) -> None:
    settings = make_settings(map={"tile_file": str(helsinki_tiles)})
    async with RunningDispatch(settings) as service:
        described = (await service.http.get("/api/v1/map")).json()
        assert described["basemap"]["places"] > 500  # streets, addresses and named places
        west, south, east, north = described["basemap"]["bounds"]

        async def search(q: str, **params: object) -> list[dict[str, object]]:
            r = await service.http.get("/api/v1/map/search", params={"q": q, **params})
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

        found = await search("aleksanterinkatu 52")
        assert found[0]["name"] == "Aleksanterinkatu 52" and found[0]["kind"] == "address"
        assert south < found[0]["lat"] < north and west < found[0]["lon"] < east
        streets = await search("YRJÖNKATU")
        assert streets[0] == {**streets[0], "name": "Yrjönkatu", "kind": "street"}
        assert all("Yrjönkatu" in str(p["name"]) for p in streets)
        assert len(streets) == 10 and len(await search("yrjonkatu", limit=3)) == 3  # no accents
        numbered = [p["name"] for p in await search("Mannerheimintie 5")]
        assert numbered[0] == "Mannerheimintie 5"
        assert any(p["kind"] == "railway=station" for p in await search("Rautatientori"))
        assert await search("no such street anywhere") == []

        for bad in ({"q": ""}, {"q": "x" * 201}, {"q": "a", "limit": 0}, {}):
            r = await service.http.get("/api/v1/map/search", params=bad)
            assert r.status_code == 422, (bad, r.text)
        async with service.client(None) as anonymous:
            r = await anonymous.get("/api/v1/map/search", params={"q": "a"})
            assert r.status_code == 401


async def test_without_a_tile_file_address_search_finds_nothing(
    make_settings: Callable[..., DispatchSettings],
) -> None:
    async with RunningDispatch(make_settings()) as service:
        r = await service.http.get("/api/v1/map/search", params={"q": "Mannerheimintie"})
        assert r.status_code == 200 and r.json() == []
        assert (await service.http.get("/api/v1/map")).json()["basemap"]["places"] == 0
