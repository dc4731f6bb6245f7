"""The control room as a dispatcher works it, in a real headless Chromium: every sortie's live
video at once, what each camera sees drawn on the map, confirmed detections grouped, the
selected incident followed until the map is dragged, address search on the offline basemap,
and a tone for new incidents and failsafes that can be muted. Screenshots are kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dispatch.config import DispatchSettings
from edge.geo import LatLon, bearing_deg
from edge.protocol import DetectedObject, Detections, GeoPoint, Kind, Phase
from edge.protocol.video import FramePose
from tests.dispatch.conftest import ARTIFACTS, TOKENS, RunningDispatch
from tests.dispatch.edges import ScriptedEdge
from tests.dispatch.test_camera_view import posed_frame
from tests.dispatch.test_incidents_api import docks_seen, near
from tests.dispatch.test_ui_map import STATION
from tests.dispatch.test_video import ws

ROOM = {"viewport": {"width": 1600, "height": 1000}, "bypass_csp": True}
LENS = {"camera_hfov_deg": 60}


async def stream_posed_video(
    service: RunningDispatch, edge: ScriptedEdge, target: LatLon, stop: asyncio.Event
) -> None:
    """Frames whose pose is where the scripted drone is, looking at its target."""
    dock_id = edge.spec.dock_id
    async with ws(service, f"/api/v1/video/ingest/{dock_id}", "edge") as ingest:
        n = 0
        while not stop.is_set():
            p = edge.pos
            heading = bearing_deg(p, target) if abs(p.lat - target.lat) > 1e-6 else 0.0
            pose = FramePose(
                lat=p.lat, lon=p.lon, alt_agl_m=60.0, heading_deg=round(heading, 1) % 360,
                pitch_deg=-50.0,
            )  # fmt: skip
            await ingest.send(posed_frame(dock_id, n, pose))
            n += 1
            await asyncio.sleep(0.1)


async def signed_in(browser: Any, service: RunningDispatch) -> Any:
    page = await browser.new_page(**ROOM)
    await page.goto(service.url)
    await page.fill("#login-token", TOKENS["dispatcher"])
    await page.click("#login-submit")
    await page.wait_for_function("window.outrider.knownIncidents !== undefined")
    return page


def crowd(edge: ScriptedEdge, at: LatLon) -> Detections:
    """Two more people and a bus confirmed at the scene, and a person not yet confirmed."""
    objects = [
        DetectedObject(track_id=tid, cls=cls, conf=0.8, bbox=[0, 0, 10, 10],
                       geo=GeoPoint(lat=at.lat + dlat, lon=at.lon + dlon))
        for tid, cls, dlat, dlon in ((3, "person", 0.00005, 0.0), (4, "person", 0.0, -0.00008),
                                     (5, "bus", -0.00006, 0.00004), (None, "person", 0.0001, 0.0))
    ]  # fmt: skip
    return Detections(dock_id=edge.spec.dock_id, sortie_id=edge.sortie_id, frame=2, objects=objects)


async def test_every_sortie_plays_at_once_and_the_map_shows_what_each_camera_sees(
    dispatch_service: RunningDispatch, edge_factory: Any, browser: Any
) -> None:
    service = dispatch_service
    stop = asyncio.Event()
    spec = {"fly": True, "sortie_s": 45, "limits": LENS}
    async with (
        edge_factory("near", *near(0, 900), **spec) as north,
        edge_factory("far", *near(180, 900), **spec) as south,
    ):
        await docks_seen(service, 2)
        page = await signed_in(browser, service)
        scenes = [LatLon(*near(10, 500)), LatLon(*near(170, 500))]
        raised = []
        for scene, kind in zip(scenes, ("assault", "fire"), strict=True):
            r = await service.http.post(
                "/api/v1/incidents", json={"lat": scene.lat, "lon": scene.lon, "type": kind}
            )
            assert r.status_code == 201, r.text
            raised.append(r.json())
        assert {i["dock_id"] for i in raised} == {"near", "far"}
        edges = {"near": north, "far": south}
        async with asyncio.TaskGroup() as group:
            for inc, scene in zip(raised, scenes, strict=True):
                edge = edges[inc["dock_id"]]
                group.create_task(stream_posed_video(service, edge, scene, stop))
            try:
                # every flying drone's video at once: the new incident (selected on its own)
                # large in its panel, every other one live in the strip under the map
                await page.wait_for_function(
                    "document.querySelectorAll('#video-strip .strip-item').length === 2"
                    " && document.querySelectorAll('#video-strip .strip-item.sel').length === 1"
                )
                await page.wait_for_function(
                    "[...document.querySelectorAll('#video-strip .strip-item:not(.sel) .player')]"
                    ".filter(p => Number(p.dataset.frames || 0) >= 3).length === 1"
                    " && Number(document.querySelector('#video').dataset.frames || 0) >= 3",
                    timeout=20000,
                )
                await page.wait_for_function(
                    "[...document.querySelectorAll('#video-strip .caption')]"
                    ".some(c => c.textContent.includes('fire'))"
                )
                captions = await page.locator("#video-strip .caption").all_inner_texts()
                assert any(c.startswith("near · ") for c in captions), captions
                assert any("fire" in c for c in captions), captions
                # what each camera sees: a polygon on the ground per flying drone
                await page.wait_for_function(
                    "document.querySelectorAll('#map path.or-footprint').length === 2"
                )
                # a click on a video in the strip selects its incident: now that one is large
                # and the other one plays in the strip
                first = raised[0]
                tile = f"#video-strip .strip-item[data-dock='{first['dock_id']}']"
                if await page.locator(f"{tile}.sel").count():  # it was the one selected
                    await page.click("#incident-list li:has-text('fire')")
                    await page.wait_for_selector(f"{tile}:not(.sel)")
                large = await page.evaluate(
                    "Number(document.querySelector('#video').dataset.frames)"
                )
                await page.click(tile)
                await page.wait_for_function(
                    f"document.querySelector('#inc-title').textContent.startsWith('{first['id']}')"
                )
                await page.wait_for_selector(f"{tile}.sel", timeout=5000)
                await page.wait_for_function(
                    f"Number(document.querySelector('#video').dataset.frames) >= {large + 5}"
                )
                other = "#video-strip .strip-item:not(.sel) .player"
                before = await page.evaluate(
                    f"Number(document.querySelector('{other}').dataset.frames || 0)"
                )
                await page.wait_for_function(
                    f"Number(document.querySelector('{other}').dataset.frames || 0) >= {before + 3}"
                )
                # followed: the map, sent elsewhere, comes back to the drone and its scene
                drone = f"window.outrider.docks.find(d => d.id === '{first['dock_id']}')"
                shows = (
                    f"window.outrider.map.shows({drone}.position.lat, {drone}.position.lon) && "
                    f"window.outrider.map.shows({scenes[0].lat}, {scenes[0].lon})"
                )
                await page.wait_for_function(f"{drone} && {drone}.in_air && ({shows})")
                assert await page.get_attribute("#map-follow", "aria-pressed") == "true"
                await page.evaluate(
                    "window.outrider.map.leaflet.panTo([51.60, -0.30], {animate: false})"
                )
                await page.wait_for_function(shows)
                await page.screenshot(path=str(ARTIFACTS / "room-two-sorties-followed.png"))
                # a drag is the dispatcher taking the map: following stops
                box = await page.locator("#map").bounding_box()
                x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
                await page.mouse.move(x, y)
                await page.mouse.down()
                await page.mouse.move(x + 300, y + 200, steps=8)
                await page.mouse.up()
                assert await page.get_attribute("#map-follow", "aria-pressed") == "false"
                assert not await page.evaluate("window.outrider.map.following")
                await page.click("#map-follow")
                await page.wait_for_function(shows)
                await page.mouse.move(x, y)  # and so is a zoom with the wheel
                await page.mouse.wheel(0, 300)
                await page.wait_for_function("!window.outrider.map.following")
                await page.evaluate(
                    "window.outrider.map.leaflet.panTo([51.60, -0.30], {animate: false})"
                )
                await page.click("#map-follow")  # and the button brings it back at once
                assert await page.get_attribute("#map-follow", "aria-pressed") == "true"
                await page.wait_for_function(shows)

                # confirmed detections grouped into one marker with counts
                edge = edges[first["dock_id"]]
                await page.wait_for_function(f"{drone}.phase === 'on_scene'", timeout=30000)
                # on scene, follow mode has come in close to the drone and its scene
                await page.wait_for_function("window.outrider.map.leaflet.getZoom() === 17")
                assert await page.evaluate(shows)
                await page.screenshot(path=str(ARTIFACTS / "room-followed-on-scene.png"))
                await edge.publish(Kind.DETECTIONS, edge.wire(crowd(edge, scenes[0])))
                await page.wait_for_function(
                    "document.querySelectorAll('#inc-detections li').length >= 5"
                )
                await page.evaluate(
                    f"window.outrider.map.leaflet.setView([{scenes[0].lat}, {scenes[0].lon}], 16,"
                    " {animate: false})"
                )
                labels = page.locator(".or-detection-label")
                await page.wait_for_function(
                    "document.querySelectorAll('.or-detection-label').length === 1"
                )
                assert await labels.all_inner_texts() == ["3 person, 1 bus, 1 car"]
                await page.screenshot(path=str(ARTIFACTS / "room-detections-clustered.png"))
                await page.evaluate("window.outrider.map.leaflet.setZoom(20, {animate: false})")
                await page.wait_for_function(
                    "document.querySelectorAll('.or-detection-label').length >= 3"
                )
                apart = await labels.all_inner_texts()
                assert all("%" in t or "," not in t for t in apart), apart
            finally:
                stop.set()


async def test_an_address_found_on_the_offline_map_places_the_incident_and_alerts_sound(
    make_settings: Callable[..., DispatchSettings],
    helsinki_tiles: Path,
    edge_factory: Any,
    browser: Any,
) -> None:
    settings = make_settings(
        map={"tile_file": str(helsinki_tiles), "center_lat": 60.1700, "center_lon": 24.9430,
             "zoom": 16},
    )  # fmt: skip
    async with RunningDispatch(settings) as service, edge_factory("dock-h", *STATION) as edge:
        await docks_seen(service, 1)
        page = await signed_in(browser, service)
        found = await service.http.get("/api/v1/map/search", params={"q": "Aleksanterinkatu 52"})
        place = found.json()[0]
        await page.click("#btn-new")
        await page.wait_for_selector("#raise", state="visible")
        await page.fill("#raise-search", "aleksanterinkatu 52")
        await page.wait_for_selector("#raise-search-results li[data-name='Aleksanterinkatu 52']")
        await page.screenshot(path=str(ARTIFACTS / "room-address-search.png"))
        await page.click("#raise-search-results li[data-name='Aleksanterinkatu 52']")
        assert await page.input_value("#raise-address") == "Aleksanterinkatu 52"
        pick = await page.evaluate("window.outrider.pick")
        assert (pick["lat"], pick["lon"]) == (place["lat"], place["lon"])
        assert await page.evaluate("window.outrider.map.layers.pick.size") == 1
        assert await page.evaluate(f"window.outrider.map.shows({place['lat']}, {place['lon']})")
        chimes = await page.evaluate("window.outrider.chime.played")
        await page.select_option("#raise-type", "burglary")
        await page.click("#raise-submit")
        await page.wait_for_selector("#raise-confirm", state="visible")
        await page.click("#confirm-go")
        await page.wait_for_function("document.querySelector('#inc-dock').textContent === 'dock-h'")
        detail = await page.evaluate("window.outrider.detail")
        assert detail["address"] == "Aleksanterinkatu 52"
        assert (detail["lat"], detail["lon"]) == (place["lat"], place["lon"])
        await page.wait_for_function(f"window.outrider.chime.played > {chimes}")  # a new incident

        # muted: a new incident is still highlighted, but no tone plays
        await page.click("#btn-mute")
        assert await page.get_attribute("#btn-mute", "aria-pressed") == "true"
        chimes = await page.evaluate("window.outrider.chime.played")
        lat, lon = STATION[0] + 0.001, STATION[1]
        body = {"lat": lat, "lon": lon, "type": "fire"}
        r = await service.http.post("/api/v1/incidents", json=body)
        await page.wait_for_selector(f"#incident-list li.new[data-id='{r.json()['id']}']")
        assert await page.evaluate("window.outrider.chime.played") == chimes
        assert await page.evaluate("window.outrider.chime.last") == "incident"
        await page.reload()  # the choice is kept on this desk
        await page.wait_for_function("window.outrider.knownIncidents !== undefined")
        assert await page.get_attribute("#btn-mute", "aria-pressed") == "true"

        # a failsafe: the dock's row flashes and, sound back on, the tone plays
        await page.click("#btn-mute")
        chimes = await page.evaluate("window.outrider.chime.played")
        edge.phase = Phase.FAILSAFE
        await edge.publish_state()
        await page.wait_for_selector("tr[data-dock='dock-h'].alarm")
        await page.wait_for_function(f"window.outrider.chime.played > {chimes}")
        assert await page.evaluate("window.outrider.chime.last") == "failsafe"
