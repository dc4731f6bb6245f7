"""An officer link opens one incident and its sortie, for a capped time, until it is revoked
or the incident is closed; and what it opened is shut as soon as that happens, live video too.

A real dispatch with the dock's scripted edge flying real sorties and its video coming in
through the ingest; the officer's phone is a plain HTTP and WebSocket client holding the link.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.dispatch.test_incidents_api import docks_seen, near
from tests.dispatch.test_video import frame, frames_of, ws

pytestmark = pytest.mark.timeout(120)


@contextlib.asynccontextmanager
async def streaming(service: RunningDispatch, dock_id: str) -> AsyncIterator[None]:
    """The dock's edge sending redacted frames, ten a second, for the length of the block."""
    stop = asyncio.Event()

    async def send() -> None:
        async with ws(service, f"/api/v1/video/ingest/{dock_id}", "edge") as ingest:
            n = 0
            while not stop.is_set():
                await ingest.send(frame(dock_id, n, "redacted"))
                n += 1
                await asyncio.sleep(0.1)

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(send())
        try:
            yield
        finally:
            stop.set()


def token(link: dict[str, Any]) -> dict[str, str]:
    """The query parameter an officer's phone sends."""
    return {"token": link["token"]}


def watch(service: RunningDispatch, dock_id: str, link_token: str) -> Any:
    url = f"{service.ws_url}/api/v1/video/{dock_id}/ws?token={link_token}"
    return connect(url, open_timeout=5)


async def cut_off(conn: ClientConnection, within: float = 8.0) -> int | None:
    """Read until the server closes the socket; its close code."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(within):
            while True:
                await conn.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


async def raise_incident(service: RunningDispatch, bearing: float) -> dict[str, Any]:
    lat, lon = near(bearing, 400)
    r = await service.http.post("/api/v1/incidents", json={"lat": lat, "lon": lon, "type": "fire"})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def link_to(service: RunningDispatch, incident_id: str, **body: Any) -> dict[str, Any]:
    r = await service.http.post(f"/api/v1/incidents/{incident_id}/links", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def status_is(service: RunningDispatch, incident_id: str, *wanted: str) -> None:
    async def check() -> bool:
        r = await service.http.get(f"/api/v1/incidents/{incident_id}")
        return r.json()["status"] in wanted

    await wait_for(check, limit_s=30, every=0.1)


@pytest.fixture
async def quick_service(make_settings) -> AsyncIterator[RunningDispatch]:
    """Dispatch holding a dock for its incident only briefly: sorties here last seconds."""
    async with RunningDispatch(make_settings(dispatch={"reserve_ttl_s": 1.0})) as service:
        yield service


async def test_a_link_sees_its_own_sortie_and_nothing_of_the_docks_next_incident(
    quick_service: RunningDispatch, edge_factory
) -> None:
    dispatch_service = quick_service
    async with edge_factory("near", *near(0, 700), fly=True, sortie_s=4):
        await docks_seen(dispatch_service, 1)
        first = await raise_incident(dispatch_service, 45)
        link = await link_to(dispatch_service, first["id"])
        assert link["sortie_id"] == first["sortie_id"] is not None
        mine = token(link)
        async with dispatch_service.client(None) as phone, streaming(dispatch_service, "near"):
            await status_is(dispatch_service, first["id"], "en_route", "on_scene")
            assert (await phone.get("/api/v1/docks/near", params=mine)).status_code == 200
            async with watch(dispatch_service, "near", link["token"]) as video:
                assert len(await frames_of(video, 3)) == 3
                await status_is(dispatch_service, first["id"], "completed")
                second = await raise_incident(dispatch_service, 200)
                assert second["dock_id"] == "near"
                await status_is(dispatch_service, second["id"], "en_route", "on_scene")
                assert await cut_off(video) == 1008  # cut off as the dock took the next sortie
            dock = await phone.get("/api/v1/docks/near", params=mine)
            assert dock.status_code == 403 and second["id"] not in dock.text
            assert "lat" not in dock.text
            assert (await phone.get("/api/v1/docks/near/trail", params=mine)).status_code == 403
            snap = await phone.get("/api/v1/video/near/frame.jpg", params=mine)
            assert snap.status_code == 403 and snap.json()["code"] == "forbidden"
            with pytest.raises(InvalidStatus) as refused:
                async with watch(dispatch_service, "near", link["token"]):
                    pass
            assert refused.value.response.status_code == 403
            other = await phone.get(f"/api/v1/incidents/{second['id']}", params=mine)
            assert other.status_code == 403


@contextlib.asynccontextmanager
async def watching_by_link(
    service: RunningDispatch, edge_factory: Any
) -> AsyncIterator[tuple[dict[str, Any], dict[str, Any], httpx.AsyncClient, ClientConnection]]:
    """The dock flying an incident and streaming, and an officer's phone watching it by link:
    ``(incident, link, phone, video socket)``."""
    async with edge_factory("near", *near(0, 700), fly=True, sortie_s=60):
        await docks_seen(service, 1)
        incident = await raise_incident(service, 45)
        link = await link_to(service, incident["id"])
        await status_is(service, incident["id"], "en_route", "on_scene")
        async with (
            streaming(service, "near"),
            service.client(None) as phone,
            watch(service, "near", link["token"]) as video,
        ):
            assert len(await frames_of(video, 2)) == 2
            yield incident, link, phone, video


async def test_a_revoked_link_is_refused_at_once_and_its_open_video_is_cut(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with watching_by_link(dispatch_service, edge_factory) as (incident, link, phone, video):
        spare = await link_to(dispatch_service, incident["id"])
        path = f"/api/v1/incidents/{incident['id']}/links/{link['id']}"
        revoked = await dispatch_service.http.delete(path)
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert await cut_off(video, within=3.0) == 1008
        r = await phone.get(f"/api/v1/incidents/{incident['id']}", params=token(link))
        assert r.status_code == 401 and r.json()["code"] == "link_revoked"
        snap = await phone.get("/api/v1/video/near/frame.jpg", params=token(link))
        assert snap.status_code == 401
        kept = await phone.get(f"/api/v1/incidents/{incident['id']}", params=token(spare))
        assert kept.status_code == 200  # revoking one link leaves the others
        listed = await dispatch_service.http.get(f"/api/v1/incidents/{incident['id']}/links")
        by_id = {row["id"]: row for row in listed.json()}
        assert by_id[link["id"]]["revoked_by"] == "user:dispatcher-1"
        assert by_id[spare["id"]]["revoked_at"] is None
        assert all("token" not in row for row in listed.json())
        async with dispatch_service.client("viewer") as viewer:
            assert (await viewer.delete(path)).status_code == 403


async def test_closing_the_incident_ends_its_links_and_their_video(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with watching_by_link(dispatch_service, edge_factory) as (incident, link, phone, video):
        closed = await dispatch_service.http.post(f"/api/v1/incidents/{incident['id']}/close")
        assert closed.status_code == 200
        assert await cut_off(video, within=3.0) == 1008
        r = await phone.get(f"/api/v1/incidents/{incident['id']}", params=token(link))
        assert r.status_code == 401 and r.json()["code"] == "link_ended"
        again = await dispatch_service.http.post(
            f"/api/v1/incidents/{incident['id']}/links", json={}
        )
        assert again.status_code == 409


async def test_a_links_lifetime_is_capped_and_it_expires(make_settings, edge_factory) -> None:
    async with (
        RunningDispatch(make_settings(link_max_ttl_s=600, link_ttl_s=300)) as service,
        edge_factory("near", *near(0, 700)),
    ):
        await docks_seen(service, 1)
        incident = await raise_incident(service, 45)
        path = f"/api/v1/incidents/{incident['id']}/links"
        week = await service.http.post(path, json={"ttl_s": 7 * 24 * 3600})
        assert week.status_code == 422 and week.json()["code"] == "invalid_field"
        assert "600" in week.json()["reason"]
        assert (await service.http.post(path, json={"ttl_s": 600})).status_code == 201
        short = await link_to(service, incident["id"], ttl_s=0.3)
        await asyncio.sleep(0.5)
        async with service.client(None) as phone:
            r = await phone.get(f"/api/v1/incidents/{incident['id']}", params=token(short))
            assert r.status_code == 401 and r.json()["code"] == "link_expired"
            forged = await phone.get(
                f"/api/v1/incidents/{incident['id']}", params={"token": short["token"] + "x"}
            )
            assert forged.status_code == 401 and forged.json()["code"] == "unauthorized"


async def test_links_and_their_revocation_hold_across_a_restart_and_a_second_instance(
    make_settings, edge_factory
) -> None:
    settings = make_settings()
    async with edge_factory("near", *near(0, 700)):
        async with RunningDispatch(settings) as first:
            await docks_seen(first, 1)
            incident = await raise_incident(first, 45)
            kept = await link_to(first, incident["id"])
            gone = await link_to(first, incident["id"])
            await first.http.delete(f"/api/v1/incidents/{incident['id']}/links/{gone['id']}")
        again = RunningDispatch(settings.model_copy(update={"mqtt_client_id": "second"}))
        async with again as second, second.client(None) as phone:
            path = f"/api/v1/incidents/{incident['id']}"
            assert (await phone.get(path, params=token(kept))).status_code == 200
            r = await phone.get(path, params=token(gone))
            assert r.status_code == 401 and r.json()["code"] == "link_revoked"
