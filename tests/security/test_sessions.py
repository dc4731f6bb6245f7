"""Sessions end when they should, and a cookie works only from dispatch's own pages.

Two dispatch instances on one store stand for a restart and for several instances in service:
a session signed out on one is refused by the other. A page of another site cannot use the
control room's cookie, on HTTP or on a WebSocket, raw video included.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from dispatch.api.deps import SESSION_COOKIE
from tests.dispatch.conftest import TOKENS, RunningDispatch
from tests.dispatch.test_incidents_api import INCIDENT
from tests.dispatch.test_video import frame, frames_of, viewers_ready, ws

pytestmark = pytest.mark.timeout(90)
EVIL = "https://evil.example"


async def sign_in(service: RunningDispatch, role: str) -> str:
    """The session cookie a browser gets for ``role``'s token."""
    async with service.client(None) as browser:
        r = await browser.post("/api/v1/auth/login", json={"token": TOKENS[role]})
        assert r.status_code == 200, r.text
        return r.cookies[SESSION_COOKIE]


def with_cookie(cookie: str, **headers: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={cookie}", **headers}


async def test_signing_out_ends_the_session_on_every_instance(make_settings) -> None:
    settings = make_settings()
    async with (
        RunningDispatch(settings) as one,
        RunningDispatch(settings.model_copy(update={"mqtt_client_id": "two"})) as two,
        one.client(None) as a,
        two.client(None) as b,
    ):
        cookie = await sign_in(one, "dispatcher")
        for client in (a, b):
            me = await client.get("/api/v1/auth/me", headers=with_cookie(cookie))
            assert me.status_code == 200 and me.json()["name"] == "dispatcher-1"
        out = await a.post("/api/v1/auth/logout", headers=with_cookie(cookie))
        assert out.status_code == 204
        for client in (a, b):  # a copy of the cookie kept after signing out is worth nothing
            r = await client.get("/api/v1/incidents", headers=with_cookie(cookie))
            assert r.status_code == 401 and "ended" in r.json()["reason"]
    async with RunningDispatch(settings) as restarted, restarted.client(None) as c:
        r = await c.get("/api/v1/auth/me", headers=with_cookie(cookie))
        assert r.status_code == 401


async def test_removing_or_replacing_a_token_ends_its_sessions(make_settings) -> None:
    settings = make_settings()
    async with RunningDispatch(settings) as before:
        viewer = await sign_in(before, "viewer")
        dispatcher = await sign_in(before, "dispatcher")
    tokens: list[dict[str, Any]] = [
        {"name": t.name, "role": t.role, "sha256": t.digest}
        for t in settings.tokens
        if t.role not in ("viewer", "dispatcher")
    ]
    tokens.append({"name": "dispatcher-1", "role": "dispatcher", "token": "a-new-token-value"})
    async with (
        RunningDispatch(make_settings(tokens=tokens)) as after,
        after.client(None) as browser,
    ):
        for cookie, why in ((viewer, "removed or replaced"), (dispatcher, "removed or replaced")):
            r = await browser.get("/api/v1/auth/me", headers=with_cookie(cookie))
            assert r.status_code == 401 and why in r.json()["reason"]


async def test_a_cookie_used_by_another_sites_page_is_refused_and_changes_nothing(
    dispatch_service: RunningDispatch,
) -> None:
    cookie = await sign_in(dispatch_service, "admin")
    own = dispatch_service.url
    async with dispatch_service.client(None) as browser:
        before = len((await dispatch_service.http.get("/api/v1/incidents")).json())
        for headers in (
            {"Origin": EVIL},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site", "Origin": "https://maps.example"},
            {"Origin": "null"},
        ):
            r = await browser.post(
                "/api/v1/incidents", json=INCIDENT, headers=with_cookie(cookie, **headers)
            )
            assert r.status_code == 403 and r.json()["code"] == "cross_origin", headers
            audit = await browser.get("/api/v1/audit", headers=with_cookie(cookie, **headers))
            assert audit.status_code == 403
        assert len((await dispatch_service.http.get("/api/v1/incidents")).json()) == before
        same = with_cookie(cookie, Origin=own, **{"Sec-Fetch-Site": "same-origin"})
        ok = await browser.post("/api/v1/incidents", json=INCIDENT, headers=same)
        assert ok.status_code in (201, 409), ok.text  # taken: no dock is up in this test
        typed = await browser.get("/api/v1/incidents", headers=with_cookie(cookie))
        assert typed.status_code == 200  # no Origin at all: a top-level visit, allowed
        bearer = await browser.get(
            "/api/v1/incidents",
            headers={"Authorization": f"Bearer {TOKENS['viewer']}", "Origin": EVIL},
        )
        assert bearer.status_code == 200  # a token is no ambient credential: CSRF cannot use it


async def test_a_cross_origin_raw_video_socket_is_refused_and_gets_no_frame(
    dispatch_service: RunningDispatch,
) -> None:
    cookie = await sign_in(dispatch_service, "dispatcher")  # may see raw video
    base = f"{dispatch_service.ws_url}/api/v1/video/dock-01/ws?rendition=raw"
    async with ws(dispatch_service, "/api/v1/video/ingest/dock-01", "edge") as ingest:
        for headers in (with_cookie(cookie, Origin=EVIL), {"Origin": EVIL, **_bearer()}):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(base, additional_headers=headers, open_timeout=5):
                    pass
            assert refused.value.response.status_code == 403
        assert not dispatch_service.runtime.video.channels.get("dock-01", None) or not (
            dispatch_service.runtime.video.channels["dock-01"].viewers
        )
        own = with_cookie(cookie, Origin=dispatch_service.url)
        async with connect(base, additional_headers=own, open_timeout=5) as mine:
            await viewers_ready(dispatch_service, "dock-01", 1)
            for n in range(3):
                await ingest.send(frame("dock-01", n, "raw"))
                await asyncio.sleep(0.05)
            got = await frames_of(mine, 3)
        assert {h.rendition for h in got} == {"raw"}
        stats = dispatch_service.runtime.metrics.frames_out.labels("dock-01")._value.get()
        assert stats == 3  # the refused sockets got nothing


def _bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS['dispatcher']}"}
