"""The web UI in a real headless Chromium: raise an incident by clicking the map, watch the
drone fly and the video arrive; the officer's phone view behind its signed link."""

from __future__ import annotations

import asyncio

from tests.dispatch.conftest import ARTIFACTS, TOKENS, RunningDispatch
from tests.dispatch.test_incidents_api import docks_seen, near
from tests.dispatch.test_queue_api import dock_seen
from tests.dispatch.test_video import frame, ws


async def stream_video(service: RunningDispatch, dock_id: str, stop: asyncio.Event) -> None:
    async with ws(service, f"/api/v1/video/ingest/{dock_id}", "edge") as ingest:
        n = 0
        while not stop.is_set():
            await ingest.send(frame(dock_id, n, "raw"))
            await ingest.send(frame(dock_id, n, "redacted"))
            n += 1
            await asyncio.sleep(0.1)


async def raise_for_near(service: RunningDispatch, kind: str) -> dict[str, object]:
    """Once the dock "near" is seen, raise an incident of ``kind`` 300 m from it."""
    await docks_seen(service, 1)
    lat, lon = near(45, 300)
    r = await service.http.post("/api/v1/incidents", json={"lat": lat, "lon": lon, "type": kind})
    return r.json()  # type: ignore[no-any-return]


async def test_a_dispatcher_raises_an_incident_by_clicking_the_map_and_watches_the_sortie(
    dispatch_service: RunningDispatch, edge_factory, browser
) -> None:
    stop = asyncio.Event()
    async with (
        edge_factory("near", *near(0, 700), fly=True, sortie_s=12) as near_edge,
        edge_factory("far", *near(120, 2500)),
    ):
        await docks_seen(dispatch_service, 2)
        async with asyncio.TaskGroup() as group:
            group.create_task(stream_video(dispatch_service, "near", stop))
            try:
                # bypass_csp: Playwright's waits evaluate strings, which the page's policy
                # forbids; tests/security/test_http.py checks the UI under its real policy.
                page = await browser.new_page(
                    viewport={"width": 1280, "height": 800}, bypass_csp=True
                )
                await page.goto(dispatch_service.url)
                await page.fill("#login-token", TOKENS["dispatcher"])
                await page.click("#login-submit")
                await page.wait_for_selector('tr[data-dock="near"][data-status="ready"]')
                box = await page.locator("#map").bounding_box()
                await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                await page.wait_for_selector("#raise", state="visible")
                await page.click("#raise-submit")  # no type chosen: nothing happens
                assert await page.is_hidden("#raise-confirm")
                await page.select_option("#raise-type", "assault")
                await page.fill("#raise-description", "two people fighting outside the station")
                await page.fill("#raise-address", "Rautatientori 1")
                await page.click("#raise-submit")
                await page.wait_for_selector("#raise-confirm", state="visible")
                summary = await page.inner_text("#confirm-summary")
                assert summary.startswith("near goes") and "ETA" in summary, summary
                assert await page.inner_text("#confirm-go") == "Dispatch near"
                assert await page.evaluate("window.outrider.map.layers.route.size") == 1
                assert await page.evaluate("window.outrider.map.layers.rings.size") == 2
                label = await page.inner_text(".leaflet-tooltip:has-text('near ·')")
                assert label.startswith("near · ") and label.endswith(" km"), label
                await page.screenshot(path=str(ARTIFACTS / "dispatch-raise-confirm.png"))
                assert near_edge.commands == []  # nothing launches before the confirmation
                await page.click("#confirm-go")
                await page.wait_for_selector("#incident", state="visible")
                await page.wait_for_function(
                    "document.querySelector('#inc-words').textContent.includes('Rautatientori')"
                )
                words = await page.inner_text("#inc-words")
                assert "two people fighting" in words and "Rautatientori 1" in words
                await page.wait_for_function(
                    "document.querySelector('#inc-dock').textContent === 'near'"
                )
                where = "window.outrider.docks.find(d => d.id === 'near')"
                await page.wait_for_function(f"{where} && {where}.in_air")
                first = await page.evaluate(f"{where}.position")
                moved = f"{where}.position.lat !== {first['lat']}"
                await page.wait_for_function(f"{moved} || {where}.position.lon !== {first['lon']}")
                await page.wait_for_function(
                    "Number(document.querySelector('#video').dataset.frames || 0) >= 5"
                )
                await page.wait_for_function("window.outrider.trails.get('near').length >= 3")
                assert "frames" in await page.inner_text("#video-stats")
                await page.wait_for_function(
                    "document.querySelectorAll('#inc-detections li').length >= 2", timeout=15000
                )
                timeline = await page.inner_text("#inc-timeline")
                assert "near accepted" in timeline
                await page.screenshot(path=str(ARTIFACTS / "dispatch-control-room.png"))
            finally:
                stop.set()


async def test_raised_while_every_dock_is_charging_it_is_queued_and_goes_when_a_dock_is_ready(
    dispatch_service: RunningDispatch, edge_factory, browser
) -> None:
    async with edge_factory("near", *near(0, 700), ready=False) as edge:
        await dock_seen(dispatch_service, "near")
        page = await browser.new_page(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
        await page.goto(dispatch_service.url)
        await page.fill("#login-token", TOKENS["dispatcher"])
        await page.click("#login-submit")
        await page.wait_for_selector('tr[data-dock="near"][data-status="not_ready"]')
        box = await page.locator("#map").bounding_box()
        await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        await page.select_option("#raise-type", "burglary")
        await page.click("#raise-submit")
        await page.wait_for_selector("#raise-confirm", state="visible")
        assert await page.inner_text("#confirm-go") == "Queue incident"
        assert "near" in await page.inner_text("#confirm-docks")
        await page.click("#confirm-go")
        await page.wait_for_function(
            "document.querySelector('#inc-status').textContent === 'queued'"
        )
        assert "next in line" in await page.inner_text("#inc-queue")
        assert await page.is_visible("#btn-cancel")
        assert await page.is_disabled("#btn-recall")  # no drone out to call back
        await page.screenshot(path=str(ARTIFACTS / "dispatch-queued.png"))
        assert edge.commands == []
        edge.spec.ready = True
        await edge.publish_state()  # charged: the queue sends it by itself
        await page.wait_for_function("document.querySelector('#inc-dock').textContent === 'near'")
        assert await page.inner_text("#inc-status") == "dispatched"
        assert await page.is_hidden("#inc-queue") and await page.is_hidden("#btn-cancel")
        assert await page.is_enabled("#btn-recall") and await page.is_enabled("#btn-retask")
        assert len(edge.commands) == 1


async def test_an_officer_opens_the_phone_view_from_a_link_and_sees_video_and_timeline(
    dispatch_service: RunningDispatch, edge_factory, browser
) -> None:
    stop = asyncio.Event()
    async with edge_factory("near", *near(0, 700), fly=True, sortie_s=12):
        incident = await raise_for_near(dispatch_service, "missing person")
        link = (
            await dispatch_service.http.post(f"/api/v1/incidents/{incident['id']}/links", json={})
        ).json()
        async with asyncio.TaskGroup() as group:
            group.create_task(stream_video(dispatch_service, "near", stop))
            try:
                phone = await browser.new_page(
                    viewport={"width": 390, "height": 844}, is_mobile=True, bypass_csp=True
                )
                await phone.goto(link["url"])
                await phone.wait_for_function(
                    "document.querySelector('#status').textContent !== '…'"
                )
                await phone.wait_for_function(
                    "Number(document.querySelector('#video').dataset.frames || 0) >= 3"
                )
                rendition = await phone.evaluate(
                    "document.querySelector('#video').player.lastHeader.rendition"
                )
                assert rendition == "redacted", "an officer link sees the redacted rendition"
                assert "accepted" in await phone.inner_text("#timeline")
                await phone.screenshot(
                    path=str(ARTIFACTS / "dispatch-officer-view.png"), full_page=True
                )
                expired = (
                    await dispatch_service.http.post(
                        f"/api/v1/incidents/{incident['id']}/links", json={"ttl_s": 0.2}
                    )
                ).json()
                await asyncio.sleep(0.4)
                await phone.goto(expired["url"])
                await phone.wait_for_function(
                    "document.querySelector('#conn').textContent.includes('expired')"
                )
            finally:
                stop.set()


async def test_a_dispatcher_revokes_an_officer_link_and_the_phone_says_it_was_withdrawn(
    dispatch_service: RunningDispatch, edge_factory, browser
) -> None:
    async with edge_factory("near", *near(0, 700), fly=True, sortie_s=30):
        incident = await raise_for_near(dispatch_service, "assault")
        room = await browser.new_page(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
        await room.goto(dispatch_service.url)
        await room.fill("#login-token", TOKENS["dispatcher"])
        await room.click("#login-submit")
        await room.click("#incident-list li:has-text('assault')")
        await room.click("#btn-link")
        anchor = await room.wait_for_selector("#inc-link a")
        assert anchor is not None
        url = await anchor.get_attribute("href")
        phone = await browser.new_page(
            viewport={"width": 390, "height": 844}, is_mobile=True, bypass_csp=True
        )
        await phone.goto(str(url))
        await phone.wait_for_function("document.querySelector('#status').textContent !== '…'")
        await room.click("#inc-links button:has-text('Revoke')")
        await room.wait_for_selector("#inc-links li.revoked")
        await phone.wait_for_function("!document.querySelector('#ended').hidden")
        assert "withdrawn" in await phone.inner_text("#ended-text")
        assert await phone.is_hidden("#content")
        await room.screenshot(path=str(ARTIFACTS / "dispatch-link-revoked.png"))
        links = await dispatch_service.http.get(f"/api/v1/incidents/{incident['id']}/links")
        assert [row["revoked_by"] for row in links.json()] == ["user:dispatcher-1"]


def eta_seconds(selector: str) -> str:
    """JavaScript: the seconds an ETA element shows ("ETA 1:12 (on scene 18:42)"), or null."""
    return (
        f"(() => {{ const m = document.querySelector('{selector}').textContent"
        ".match(/^ETA (\\d+):(\\d\\d) \\(on scene \\d\\d:\\d\\d\\)$/);"
        " return m ? Number(m[1]) * 60 + Number(m[2]) : null; })()"
    )


async def test_the_eta_counts_down_while_the_drone_flies_in_the_room_and_on_the_phone(
    dispatch_service: RunningDispatch, edge_factory, browser
) -> None:
    async with edge_factory("near", *near(0, 2000), fly=True, sortie_s=30):
        await docks_seen(dispatch_service, 1)
        words = {
            "description": "man with a knife outside the bank",
            "address": "Aleksanterinkatu 9",
        }
        body = {"lat": near(0, 0)[0], "lon": near(0, 0)[1], "type": "assault", **words}
        incident = (await dispatch_service.http.post("/api/v1/incidents", json=body)).json()
        room = await browser.new_page(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
        await room.goto(dispatch_service.url)
        await room.fill("#login-token", TOKENS["dispatcher"])
        await room.click("#login-submit")
        await room.click("#incident-list li:has-text('assault')")
        eta = "window.outrider.detail && window.outrider.detail.eta"
        await room.wait_for_function(f"{eta} && {eta}.state === 'en_route'")
        first = await room.wait_for_function(eta_seconds("#inc-eta"))
        start = await first.json_value()
        await room.wait_for_function(f"{eta_seconds('#inc-eta')} < {start - 2}")
        drone = await room.inner_text(".or-drone-label")
        assert drone == "near · 60 m · 95% · en route", drone
        latest = await room.inner_text("#inc-timeline li.latest")
        assert "airborne" in latest, latest
        lines = await room.locator("#inc-timeline li").all_inner_texts()
        assert sum("accepted" in line for line in lines) == 1, lines  # three lines merged
        await room.screenshot(path=str(ARTIFACTS / "dispatch-eta-room.png"))

        link = (
            await dispatch_service.http.post(f"/api/v1/incidents/{incident['id']}/links", json={})
        ).json()
        phone = await browser.new_page(
            viewport={"width": 390, "height": 844}, is_mobile=True, bypass_csp=True
        )
        await phone.goto(link["url"])
        shown = await phone.wait_for_function(eta_seconds("#eta"))
        then = await shown.json_value()
        await phone.wait_for_function(f"{eta_seconds('#eta')} < {then - 1}")
        await phone.wait_for_function("window.outrider.framed === true")  # scene and drone
        in_view = await phone.evaluate(
            "(() => { const m = window.outrider.map.leaflet, d = window.outrider.dock.position;"
            " return m.getBounds().contains([d.lat, d.lon]); })()"
        )
        assert in_view, "the drone is on the officer's map with the scene"
        shown_words = await phone.inner_text("#words")
        assert all(text in shown_words for text in words.values()), shown_words
        assert "airborne" in await phone.inner_text("#timeline li.latest")
        await phone.screenshot(path=str(ARTIFACTS / "dispatch-eta-phone.png"), full_page=True)
        await phone.set_viewport_size({"width": 844, "height": 390})
        await phone.screenshot(path=str(ARTIFACTS / "dispatch-eta-phone-landscape.png"))
        await phone.goto(link["url"][:-4] + "abcd")  # a link copied wrong is not an expired one
        await phone.wait_for_function("!document.querySelector('#ended').hidden")
        assert await phone.inner_text("#conn") == "invalid link"
        assert "not valid" in await phone.inner_text("#ended-text")


async def test_a_new_incident_is_highlighted_and_shown_and_its_retask_target_is_marked(
    dispatch_service: RunningDispatch, edge_factory, browser
) -> None:
    async with edge_factory("near", *near(0, 1500), fly=True, sortie_s=30):
        await docks_seen(dispatch_service, 1)
        room = await browser.new_page(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
        await room.goto(dispatch_service.url)
        await room.fill("#login-token", TOKENS["dispatcher"])
        await room.click("#login-submit")
        await room.wait_for_function("window.outrider.knownIncidents !== undefined")
        incident = await raise_for_near(dispatch_service, "fire")  # from a CAD, say
        await room.wait_for_selector(f"#incident-list li.new[data-id='{incident['id']}']")
        await room.wait_for_function(
            "document.querySelector('#inc-title').textContent.includes('fire')"
        )
        eta = "window.outrider.detail && window.outrider.detail.eta"
        await room.wait_for_function(f"{eta} && {eta}.state === 'en_route'")
        await room.wait_for_function("window.outrider.map.layers.route.size === 1")  # heading
        lat, lon = near(90, 400)
        r = await dispatch_service.http.post(
            f"/api/v1/incidents/{incident['id']}/retask", json={"lat": lat, "lon": lon}
        )
        assert r.status_code == 200, r.text
        await room.wait_for_selector(".leaflet-tooltip:has-text('retask target')")
        await room.screenshot(path=str(ARTIFACTS / "dispatch-retask-target.png"))
