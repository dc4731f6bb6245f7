"""An edge token streams for its own dock only: not for another dock, not as another dock, and
no other role streams at all; a viewer of a dock never sees a frame someone else forged for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.dispatch.conftest import TOKENS, RunningDispatch, wait_for
from tests.dispatch.test_video import frame, frames_of, viewers_ready

pytestmark = pytest.mark.timeout(60)
EDGE_01, EDGE_02 = "edge-token-of-dock-01", "edge-token-of-dock-02"


@pytest.fixture
async def service(make_settings) -> AsyncIterator[RunningDispatch]:
    tokens = [
        {"name": "edge-01", "role": "edge", "token": EDGE_01, "docks": ["dock-01"]},
        {"name": "edge-02", "role": "edge", "token": EDGE_02, "docks": ["dock-02"]},
        {"name": "admin-1", "role": "admin", "token": TOKENS["admin"]},
        {"name": "dispatcher-1", "role": "dispatcher", "token": TOKENS["dispatcher"]},
    ]
    async with RunningDispatch(make_settings(tokens=tokens)) as running:
        yield running


def ingest(service: RunningDispatch, dock_id: str, token: str) -> Any:
    url = f"{service.ws_url}/api/v1/video/ingest/{dock_id}"
    return connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5)


async def refused(service: RunningDispatch, dock_id: str, token: str) -> None:
    with pytest.raises(InvalidStatus) as err:
        async with ingest(service, dock_id, token) as conn:
            await conn.recv()
    assert err.value.response.status_code == 403


async def test_no_token_but_the_docks_own_streams_for_it_and_no_forged_frame_is_served(
    service: RunningDispatch,
) -> None:
    viewer_url = f"{service.ws_url}/api/v1/video/dock-01/ws"
    headers = {"Authorization": f"Bearer {TOKENS['dispatcher']}"}
    async with connect(viewer_url, additional_headers=headers, open_timeout=5) as viewer:
        await viewers_ready(service, "dock-01", 1)
        for token in (EDGE_02, TOKENS["admin"], TOKENS["dispatcher"]):
            await refused(service, "dock-01", token)
        await refused(service, "dock-77", EDGE_01)  # not a registered dock
        async with ingest(service, "dock-02", EDGE_02) as own:
            for n in range(3):  # its own socket, frames claiming to be dock-01's
                await own.send(frame("dock-01", n, "redacted"))
            bad = service.runtime.metrics.frames_bad.labels("wrong_dock")
            await wait_for(lambda: bad._value.get() == 3)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.0):
                await viewer.recv()
        assert service.runtime.metrics.frames_out.labels("dock-01")._value.get() == 0
        async with ingest(service, "dock-01", EDGE_01) as mine:
            await mine.send(frame("dock-01", 7, "raw"))
            got = await frames_of(viewer, 1)
        assert got[0].frame == 7 and got[0].dock_id == "dock-01"


async def test_an_edge_token_reads_nothing_and_signs_no_one_in(service: RunningDispatch) -> None:
    async with service.client(None) as edge:
        auth = {"Authorization": f"Bearer {EDGE_01}"}
        for path in ("/api/v1/docks", "/api/v1/incidents", "/api/v1/video/dock-01/frame.jpg"):
            assert (await edge.get(path, headers=auth)).status_code == 403, path
        login = await edge.post("/api/v1/auth/login", json={"token": EDGE_01})
        assert login.status_code == 401 and "do not sign in" in login.json()["reason"]
    with pytest.raises((InvalidStatus, ConnectionClosed)):
        url = f"{service.ws_url}/api/v1/video/dock-01/ws"
        async with connect(url, additional_headers=auth, open_timeout=5) as conn:
            await conn.recv()
