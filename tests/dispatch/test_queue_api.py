"""The incident queue over the API: an incident no dock can take now waits, and goes by itself.

Against a real broker and scripted edges: a dock that is charging (not ready) can take an
incident once ready, so the incident is queued (202); when the dock says it is ready, the
queue sends it, in priority then age order, one incident per dock.
"""

from __future__ import annotations

import asyncio
from typing import Any

from edge.protocol import DispatchCommand
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.dispatch.edges import ScriptedEdge
from tests.dispatch.test_incidents_api import INCIDENT, near

QUEUE = "/api/v1/incidents/queue"


async def dock_seen(service: RunningDispatch, dock_id: str) -> None:
    async def seen() -> bool:
        docks = (await service.http.get("/api/v1/docks")).json()
        return any(d["id"] == dock_id and not d["stale"] for d in docks)

    await wait_for(seen)


async def raise_queued(service: RunningDispatch, **fields: Any) -> dict[str, Any]:
    r = await service.http.post("/api/v1/incidents", json={**INCIDENT, **fields})
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == "queued" and body["dock_id"] is None
    return body


async def queue_ids(service: RunningDispatch) -> list[str]:
    r = await service.http.get(QUEUE)
    assert r.status_code == 200, r.text
    rows = r.json()
    assert [row["queue"]["position"] for row in rows] == list(range(1, len(rows) + 1))
    return [row["id"] for row in rows]


async def make_ready(edge: ScriptedEdge) -> None:
    edge.spec.ready, edge.spec.charging, edge.spec.battery_pct = True, False, 95.0
    await edge.publish_state()


async def test_an_incident_no_dock_can_take_now_is_queued_with_its_place_and_expected_wait(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800), ready=False, charging=True, battery_pct=40) as e:
        await dock_seen(dispatch_service, "near")
        for _ in range(8):  # the charge rises: dispatch learns how fast
            e.spec.battery_pct += 1.0
            await asyncio.sleep(0.25)
        body = await raise_queued(dispatch_service, description="alarm, rear door")
        assert body["queue"]["position"] == 1
        [waiting_for] = body["queue"]["docks"]
        assert waiting_for["dock_id"] == "near" and waiting_for["code"] == "dock_not_ready"
        wait = body["queue"]["expected_wait_s"]
        assert wait is not None and 0 < wait < 120, body["queue"]
        assert e.commands == []
        kinds = [line["type"] for line in body["timeline"]]
        assert kinds[0] == "raised" and kinds[-1] == "queued"
        got = (await dispatch_service.http.get(f"/api/v1/incidents/{body['id']}")).json()
        assert got["queue"]["position"] == 1 and got["description"] == "alarm, rear door"


async def test_the_queue_is_served_by_priority_then_age_and_a_priority_change_reorders_it(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800), ready=False, battery_pct=40):
        await dock_seen(dispatch_service, "near")
        old_low = await raise_queued(dispatch_service, priority=3)
        urgent = await raise_queued(dispatch_service, priority=1)
        new_low = await raise_queued(dispatch_service, priority=3)
        assert await queue_ids(dispatch_service) == [urgent["id"], old_low["id"], new_low["id"]]
        r = await dispatch_service.http.post(
            f"/api/v1/incidents/{new_low['id']}/priority", json={"priority": 1}
        )
        assert r.status_code == 200 and r.json()["queue"]["position"] == 2, r.text
        assert await queue_ids(dispatch_service) == [urgent["id"], new_low["id"], old_low["id"]]
        assert "priority 3 → 1, by user:dispatcher-1" in [
            line["text"] for line in r.json()["timeline"]
        ]
        bad = await dispatch_service.http.post(
            f"/api/v1/incidents/{old_low['id']}/priority", json={"priority": 9}
        )
        assert bad.status_code == 422


async def test_a_cancelled_incident_leaves_the_queue_and_no_dock_is_sent_to_it(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800), ready=False) as edge:
        await dock_seen(dispatch_service, "near")
        first = await raise_queued(dispatch_service)
        second = await raise_queued(dispatch_service)
        r = await dispatch_service.http.post(f"/api/v1/incidents/{first['id']}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "closed", r.text
        assert await queue_ids(dispatch_service) == [second["id"]]
        again = await dispatch_service.http.post(f"/api/v1/incidents/{first['id']}/cancel")
        assert again.status_code == 409 and again.json()["code"] == "not_queued"
        await make_ready(edge)
        await wait_for(edge.got_command.wait)
        [cmd] = edge.commands
        assert isinstance(cmd, DispatchCommand) and cmd.body.incident_id == second["id"]


async def test_a_dock_becoming_ready_takes_the_first_queued_incident_and_only_that_one(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800), ready=False) as edge:
        await dock_seen(dispatch_service, "near")
        routine = await raise_queued(dispatch_service, priority=3)
        urgent = await raise_queued(dispatch_service, priority=1)
        await make_ready(edge)
        path = f"/api/v1/incidents/{urgent['id']}"

        async def dispatched() -> bool:
            return (await dispatch_service.http.get(path)).json()["status"] == "dispatched"

        await wait_for(dispatched)
        await dispatch_service.runtime.drain()
        await edge.publish_state()  # the dock, busy with the first, says so again
        await dispatch_service.runtime.queue.serve()
        [cmd] = edge.commands  # one dock, one incident: the other waits
        assert isinstance(cmd, DispatchCommand) and cmd.body.incident_id == urgent["id"]
        assert await queue_ids(dispatch_service) == [routine["id"]]
        detail = (await dispatch_service.http.get(path)).json()
        assert detail["dock_id"] == "near" and detail["queue"] is None
        texts = [line["text"] for line in detail["timeline"]]
        assert any(t.startswith("left the queue after") and "near is going" in t for t in texts)
