"""The street map in a real headless Chromium: the control room and the officer's phone draw
the offline Helsinki basemap that dispatch serves, with streets where OpenStreetMap has them,
and a click on the map still raises an incident there. Screenshots are kept in the test's
folder."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from basemap.features import City
from basemap.style import NO_DATA, ROADS
from dispatch.config import DispatchSettings
from tests.dispatch.conftest import ARTIFACTS, TOKENS, RunningDispatch
from tests.dispatch.test_incidents_api import docks_seen

STATION = (60.17162, 24.94059)
# Loaded, and faded in: Leaflet fades each new tile from transparent.
TILES_DRAWN = """window.outrider.map && !window.outrider.map.tiles.isLoading() && (() => {
  const tiles = [...document.querySelectorAll('#map img.leaflet-tile-loaded')];
  return tiles.length >= 4 && tiles.every(t => getComputedStyle(t).opacity === '1'
    && getComputedStyle(t.parentElement).opacity === '1');
})()"""


def on_street(city: City, name: str, at: float = 0.5) -> tuple[float, float]:
    line = max((r.line for r in city.roads if r.name == name), key=lambda x: x.length)
    p = line.interpolate(at, normalized=True)
    return p.y, p.x


async def map_pixels(page: Any, lat: float, lon: float, shot: Path, r: int = 4) -> np.ndarray:
    """The map's screen pixels within ``r`` of a position; the whole page saved to ``shot``."""
    shown = await page.screenshot(path=str(shot))
    box = await page.locator("#map").bounding_box()
    point = await page.evaluate(
        f"(() => {{ const p = window.outrider.map.leaflet.latLngToContainerPoint([{lat}, {lon}]);"
        " return [p.x, p.y]; })()"
    )
    x, y = round(box["x"] + point[0]), round(box["y"] + point[1])
    img = np.asarray(Image.open(io.BytesIO(shown)).convert("RGB"))
    assert 0 <= y < img.shape[0] and 0 <= x < img.shape[1], (x, y, img.shape)
    return img[y - r : y + r + 1, x - r : x + r + 1].reshape(-1, 3)


REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def near_colour(pixels: np.ndarray, colour: tuple[int, int, int], tol: int = 8) -> bool:
    return bool(np.any(np.all(np.abs(pixels.astype(int) - colour) <= tol, axis=1)))


async def test_the_control_room_draws_the_offline_street_map_and_raises_where_clicked(
    make_settings: Callable[..., DispatchSettings],
    helsinki: City,
    helsinki_tiles: Path,
    edge_factory: Any,
    browser: Any,
    tmp_path: Path,
) -> None:
    settings = make_settings(
        map={"tile_file": str(helsinki_tiles), "center_lat": 60.1700, "center_lon": 24.9430,
             "zoom": 16},
        airspace={"no_fly": [str(REPO_CONFIGS / "nofly" / "helsinki-central.geojson")]},
    )  # fmt: skip
    async with RunningDispatch(settings) as service, edge_factory("dock-h", *STATION):
        await docks_seen(service, 1)
        # bypass_csp: Playwright's waits evaluate strings, which the page's policy forbids;
        # tests/security/test_http_hardening.py checks the UI under its real policy.
        page = await browser.new_page(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
        await page.goto(service.url)
        await page.fill("#login-token", TOKENS["dispatcher"])
        await page.click("#login-submit")
        await page.wait_for_function(TILES_DRAWN)
        await page.wait_for_selector('tr[data-dock="dock-h"][data-status="ready"]')
        zones = await page.locator(".or-zone-label").all_inner_texts()
        assert zones and all(z.startswith("No-fly: ") for z in zones), zones
        attribution = await page.inner_text(".leaflet-control-attribution")
        assert "OpenStreetMap contributors" in attribution
        street = await map_pixels(page, *on_street(helsinki, "Yrjönkatu"), tmp_path / "room.png")
        assert near_colour(street, ROADS["minor"].fill), street[:5]
        main = await map_pixels(
            page, *on_street(helsinki, "Mannerheimintie", 0.3), tmp_path / "r.png"
        )
        assert near_colour(main, ROADS["primary"].fill) and not near_colour(main, NO_DATA, 2)
        tiles = await page.evaluate(
            "[...document.querySelectorAll('#map img.leaflet-tile-loaded')].map(i => i.src)"
        )
        assert tiles and all("/api/v1/map/tiles/16/" in src for src in tiles)

        target = on_street(helsinki, "Aleksanterinkatu")
        point = await page.evaluate(
            "(() => { const p = window.outrider.map.leaflet.latLngToContainerPoint("
            f"[{target[0]}, {target[1]}]); return [p.x, p.y]; }})()"
        )
        box = await page.locator("#map").bounding_box()
        await page.mouse.click(box["x"] + point[0], box["y"] + point[1])
        await page.wait_for_selector("#raise", state="visible")
        picked = await page.evaluate("window.outrider.pick")
        assert abs(picked["lat"] - target[0]) < 2e-5 and abs(picked["lon"] - target[1]) < 4e-5
        await page.select_option("#raise-type", "traffic collision")
        await page.click("#raise-submit")
        await page.wait_for_selector("#raise-confirm", state="visible")
        await page.screenshot(path=str(ARTIFACTS / "dispatch-raise-confirm-helsinki.png"))
        await page.click("#confirm-go")
        await page.wait_for_function(
            "document.querySelector('#inc-dock') && "
            "document.querySelector('#inc-dock').textContent === 'dock-h'"
        )
        await page.screenshot(path=str(tmp_path / "control-room-raised.png"))
        incident = await page.evaluate("window.outrider.detail")
        assert abs(incident["lat"] - target[0]) < 2e-5

        link = (
            await service.http.post(f"/api/v1/incidents/{incident['id']}/links", json={})
        ).json()
        phone = await browser.new_page(
            viewport={"width": 390, "height": 844}, is_mobile=True, bypass_csp=True
        )
        await phone.goto(link["url"])
        await phone.wait_for_function(TILES_DRAWN)
        await phone.locator("#map").scroll_into_view_if_needed()
        await phone.wait_for_function(TILES_DRAWN)
        scene = await map_pixels(phone, *target, tmp_path / "officer-view.png", r=12)
        assert near_colour(scene, ROADS["minor"].fill) or near_colour(scene, (255, 255, 255))
        assert "OpenStreetMap" in await phone.inner_text(".leaflet-control-attribution")
