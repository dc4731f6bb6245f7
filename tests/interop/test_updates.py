"""Updates out: signed webhooks retried until the receiver recovers and delivered once per
update id, dead letters, and the Server-Sent Events stream with resume."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from dispatch.config import DispatchSettings
from dispatch.interop.cad import EidoAdapter
from dispatch.interop.signing import ReplayGuard
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.interop.conftest import Receiver

SCENE = {"lat": 51.5068, "lon": -0.0901, "type": "burglary", "cad_ref": "CAD-7"}


async def subscribe(service: RunningDispatch, url: str, **extra: Any) -> dict[str, Any]:
    async with service.client("admin") as admin:
        r = await admin.post("/api/v1/subscriptions", json={"url": url, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_webhooks_are_retried_until_the_receiver_recovers_and_each_update_arrives_once(
    cad_service: RunningDispatch,
) -> None:
    async with Receiver(fail_first=3) as receiver:
        sub = await subscribe(cad_service, receiver.url)
        r = await cad_service.http.post("/api/v1/incidents", json=SCENE)
        assert r.status_code == 409  # no dock: raised, then unassigned
        incident_id = r.json()["incident_id"]
        r = await cad_service.http.post(f"/api/v1/incidents/{incident_id}/close")
        assert r.status_code == 200

        def all_in() -> bool:
            types = [body["properties"]["update"]["type"] for _, body in receiver.accepted()]
            return "closed" in types

        await wait_for(all_in, limit_s=20)
        await asyncio.sleep(0.5)  # nothing more may arrive
        accepted = receiver.accepted()
        ids = [int(h["x-outrider-delivery"]) for h, _ in accepted]
        assert len(ids) == len(set(ids)) and ids == sorted(ids)
        types = [body["properties"]["update"]["type"] for _, body in accepted]
        assert types == ["raised", "unassigned", "closed"]
        failed = [s for _, _, s in receiver.received if s != 200]
        assert len(failed) == 3
        feature = accepted[-1][1]
        assert feature["type"] == "Feature" and feature["geometry"]["coordinates"] == [
            -0.0901,
            51.5068,
        ]
        assert feature["properties"]["status"] == "closed"
        guard = ReplayGuard(300)
        for headers, body_bytes, status in receiver.received:
            if status == 200:
                guard.verify(sub["secret"].encode(), headers["x-outrider-signature"], body_bytes)
        async with cad_service.client("admin") as admin:
            done = (await admin.get("/api/v1/subscriptions/deliveries")).json()
        assert {d["status"] for d in done} == {"delivered"}
        assert max(d["attempts"] for d in done) > 1


async def test_a_receiver_that_never_recovers_is_dead_lettered_and_can_be_retried(
    interop_settings: Callable[..., DispatchSettings],
) -> None:
    settings = interop_settings(
        webhooks={"backoff_s": 0.05, "backoff_max_s": 0.1, "max_attempts": 3}
    )
    async with (
        RunningDispatch(settings) as service,
        Receiver(fail_first=10**6, status=500) as receiver,
    ):
        await subscribe(service, receiver.url, format="eido")
        await service.http.post("/api/v1/incidents", json=SCENE)
        async with service.client("admin") as admin:

            async def dead() -> list[dict[str, Any]]:
                r = await admin.get("/api/v1/subscriptions/deliveries?status=dead")
                return list(r.json())

            letters = await wait_for(dead, limit_s=20)
            assert letters[0]["attempts"] == 3 and "HTTP 500" in letters[0]["last_error"]
            receiver.fail_first = 0
            receiver.received.clear()
            r = await admin.post(f"/api/v1/subscriptions/deliveries/{letters[-1]['id']}/retry")
            assert r.status_code == 200
            await wait_for(lambda: receiver.accepted(), limit_s=10)
        # The EIDO rendition reads back through Outrider's own EIDO adapter.
        body = receiver.received[0][1]
        message = EidoAdapter().parse(body)
        assert message.ref.startswith("urn:emergency:uid:incidentid:INC-")
        assert message.incident is not None and message.incident.type == "burglary"
        assert (message.incident.lat, message.incident.lon) == (51.5068, -0.0901)


async def read_events(lines: AsyncIterator[str], count: int) -> list[tuple[int, dict[str, Any]]]:
    events: list[tuple[int, dict[str, Any]]] = []
    event_id: int | None = None
    async for line in lines:
        if line.startswith("id: "):
            event_id = int(line[4:])
        elif line.startswith("data: ") and event_id is not None:
            events.append((event_id, json.loads(line[6:])))
            if len(events) == count:
                return events
    return events


async def test_the_event_stream_sends_updates_live_and_resumes_after_the_last_event_id(
    cad_service: RunningDispatch,
) -> None:
    async with cad_service.client("viewer") as viewer:
        async with viewer.stream("GET", "/api/v1/stream") as live:
            assert live.headers["content-type"].startswith("text/event-stream")
            lines = live.aiter_lines()
            assert await anext(lines) == ": live"
            await cad_service.http.post("/api/v1/incidents", json=SCENE)
            events = await asyncio.wait_for(read_events(lines, 2), 10)
        assert [e["properties"]["update"]["type"] for _, e in events] == ["raised", "unassigned"]
        first_id = events[0][0]
        headers = {"Last-Event-ID": str(first_id)}
        async with viewer.stream("GET", "/api/v1/stream?format=eido", headers=headers) as again:
            [(event_id, doc)] = await asyncio.wait_for(read_events(again.aiter_lines(), 1), 10)
        assert event_id == events[1][0]
        assert doc["eidoVersion"] == "1.0" and doc["notesComponent"][0]["notesActionComments"]
        r = await viewer.post("/api/v1/subscriptions", json={"url": "http://127.0.0.1:9/x"})
        assert (r.status_code, r.json()["code"]) == (403, "forbidden")


async def test_a_subscription_can_be_stopped_and_an_unknown_one_is_not_found(
    cad_service: RunningDispatch,
) -> None:
    sub = await subscribe(cad_service, "http://127.0.0.1:9/hook", incident_id="INC-NONE")
    async with cad_service.client("admin") as admin:
        r = await admin.delete(f"/api/v1/subscriptions/{sub['id']}")
        assert r.status_code == 200 and r.json()["active"] is False and r.json()["secret"] is None
        assert (await admin.get("/api/v1/subscriptions")).json() == []
        r = await admin.delete("/api/v1/subscriptions/SUB-NOPE")
        assert (r.status_code, r.json()["code"]) == (404, "not_found")
        r = await admin.post("/api/v1/subscriptions/deliveries/12345/retry")
        assert (r.status_code, r.json()["code"]) == (404, "not_found")
