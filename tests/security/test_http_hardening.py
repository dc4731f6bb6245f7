"""What every response and every page holds to: security headers, a content security policy the
UI really runs under (in Chromium), API docs from the installed package, NUL bytes refused with a
code on SQLite and PostgreSQL alike, and the role checks that held up kept as they are."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.dispatch.conftest import TOKENS, RunningDispatch, bearer, wait_for
from tests.dispatch.test_incidents_api import INCIDENT, docks_seen, near
from tests.dispatch.test_ui import ARTIFACTS, browser, chromium
from tests.dispatch.test_video import frame, ws

__all__ = ["browser", "chromium"]
pytestmark = pytest.mark.timeout(120)


async def test_every_response_carries_the_security_headers_and_hsts_only_over_tls(
    dispatch_service: RunningDispatch,
) -> None:
    async with dispatch_service.client(None) as anyone:
        for path in ("/", "/view/INC-1", "/docs", "/healthz", "/api/v1/incidents", "/nowhere"):
            r = await anyone.get(path)
            csp = r.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
            assert "script-src 'self';" in csp and "unsafe" not in csp
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["referrer-policy"] == "no-referrer"  # links carry tokens
            assert r.headers["x-content-type-options"] == "nosniff"
            assert "strict-transport-security" not in r.headers
        tls = await anyone.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert tls.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_the_api_docs_come_from_the_package_and_load_nothing_from_outside(
    dispatch_service: RunningDispatch, browser: Any
) -> None:
    page = await browser.new_page()
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    await page.goto(f"{dispatch_service.url}/docs")
    title = await page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert title is not None and "Outrider dispatch" in await title.inner_text()
    assert requested and all(u.startswith(dispatch_service.url) for u in requested), requested
    assert not [p for p in problems if "Content Security Policy" in p], problems
    await page.screenshot(path=str(ARTIFACTS / "dispatch-api-docs.png"))


async def test_the_control_room_and_the_officer_view_run_under_their_real_policy(
    dispatch_service: RunningDispatch, edge_factory: Any, browser: Any
) -> None:
    # page.evaluate runs outside the page's policy; Playwright's own waits would not
    violations: list[str] = []
    async with edge_factory("near", *near(0, 700), fly=True, sortie_s=20):
        await docks_seen(dispatch_service, 1)
        incident = (await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)).json()
        link = await dispatch_service.http.post(
            f"/api/v1/incidents/{incident['id']}/links", json={}
        )
        room = await browser.new_page(viewport={"width": 1600, "height": 1000})
        phone = await browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        for page in (room, phone):
            page.on("console", lambda m: violations.append(m.text) if "Policy" in m.text else None)
        await room.goto(dispatch_service.url)
        await room.fill("#login-token", TOKENS["dispatcher"])
        await room.click("#login-submit")
        await wait_for(lambda: room.evaluate("document.querySelector('#who').textContent"))
        await wait_for(lambda: room.evaluate("document.querySelectorAll('#fleet-body tr').length"))
        stop = asyncio.Event()

        async def stream() -> None:
            async with ws(dispatch_service, "/api/v1/video/ingest/near", "edge") as ingest:
                n = 0
                while not stop.is_set():
                    await ingest.send(frame("near", n, "redacted"))
                    n += 1
                    await asyncio.sleep(0.1)

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(stream())
            try:
                await phone.goto(link.json()["url"])
                frames = "Number(document.querySelector('#video').dataset.frames || 0) >= 2"
                await wait_for(lambda: phone.evaluate(frames), limit_s=20, every=0.2)
            finally:
                stop.set()
    assert not violations, violations


async def nul_bytes_refused(service: RunningDispatch) -> None:
    api = service.http
    for field in ("description", "type", "cad_ref"):
        r = await api.post("/api/v1/incidents", json={**INCIDENT, field: "a\x00b"})
        assert r.status_code == 422 and r.json()["code"] == "invalid_field", r.text
    login = await api.post("/api/v1/auth/login", json={"token": "\x00"})
    assert login.status_code == 422
    for path in ("/api/v1/events?dock_id=%00", "/api/v1/incidents/INC%00", "/view/%00"):
        r = await api.get(path)
        assert r.status_code == 422 and r.json()["code"] == "invalid_field", path
    assert (await api.get("/api/v1/incidents")).json() == []


async def test_nul_bytes_are_refused_with_a_code_and_nothing_is_stored(
    dispatch_service: RunningDispatch,
) -> None:
    await nul_bytes_refused(dispatch_service)


async def test_nul_bytes_are_refused_with_a_code_on_postgresql_too(
    make_settings: Any, postgres_url: str
) -> None:
    async with RunningDispatch(make_settings(db_url=postgres_url)) as service:
        await nul_bytes_refused(service)


ROUTES = [
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/audit/verify"),
    ("POST", "/api/v1/incidents/{id}/recall"),
    ("POST", "/api/v1/incidents/{id}/retask"),
    ("POST", "/api/v1/incidents/{id}/close"),
    ("POST", "/api/v1/incidents/{id}/links"),
    ("GET", "/api/v1/incidents/{id}/links"),
    ("GET", "/api/v1/video/near/frame.jpg?rendition=raw"),
]


async def test_role_checks_hold_for_viewers_links_and_edges_and_anonymous_callers(
    dispatch_service: RunningDispatch, edge_factory: Any
) -> None:
    async with edge_factory("near", *near(0, 700)):
        await docks_seen(dispatch_service, 1)
        incident = (await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)).json()
        link = (
            await dispatch_service.http.post(f"/api/v1/incidents/{incident['id']}/links", json={})
        ).json()
        body = {"lat": 51.5, "lon": -0.1}
        async with dispatch_service.client(None) as anyone:
            for method, template in ROUTES:
                path = template.format(id=incident["id"])
                sep = "&" if "?" in path else "?"
                for headers, via_link in (
                    (bearer("viewer"), False),
                    (bearer("edge"), False),
                    ({}, True),
                ):
                    url = f"{path}{sep}token={link['token']}" if via_link else path
                    r = await anyone.request(method, url, headers=headers, json=body)
                    assert r.status_code == 403, (method, url, headers, r.text)
                r = await anyone.request(method, path, json=body)
                assert r.status_code == 401 and r.json()["code"] == "unauthorized", path
