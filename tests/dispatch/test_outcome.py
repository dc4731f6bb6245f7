"""Honest outcomes: a drone home without ever reaching the scene leaves its incident open."""

from __future__ import annotations

from typing import Any

import pytest

from edge.protocol import EventType, Phase
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.dispatch.test_incidents_api import INCIDENT, docks_seen, near, timeline_text

E = EventType
HOME_AFTER_FAILSAFE = [
    (E.ARMED, Phase.LAUNCHING),
    (E.AIRBORNE, Phase.EN_ROUTE),
    (E.FAILSAFE, Phase.FAILSAFE),
    (E.RETURNING, Phase.RETURNING),
    (E.LANDED, Phase.LANDING),
    (E.DOCKED, Phase.DOCKED),
]
HOME_AFTER_EDGE_RESTART = [
    (E.ARMED, Phase.LAUNCHING),
    (E.AIRBORNE, Phase.EN_ROUTE),
    (E.RESUMED, Phase.EN_ROUTE),
    (E.RETURNING, Phase.RETURNING),
    (E.LANDED, Phase.LANDING),
    (E.DOCKED, Phase.DOCKED),
]


async def incident(service: RunningDispatch, incident_id: str) -> dict[str, Any]:
    r = await service.http.get(f"/api/v1/incidents/{incident_id}")
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("events", "why"),
    [
        (HOME_AFTER_FAILSAFE, "after a failsafe"),
        (HOME_AFTER_EDGE_RESTART, "its edge restarted on the way"),
    ],
    ids=["failsafe", "edge_restart"],
)
async def test_a_sortie_home_without_reaching_the_scene_leaves_its_incident_open(
    dispatch_service: RunningDispatch, edge_factory, events: list[tuple[E, Phase]], why: str
) -> None:
    async with edge_factory("near", *near(0, 800)) as edge:
        await docks_seen(dispatch_service, 1)
        r = await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)
        assert r.status_code == 201, r.text
        incident_id = r.json()["id"]
        for kind, phase in events:
            await edge.event(kind, phase=phase)

        async def reopened() -> bool:
            lines = await timeline_text(dispatch_service, incident_id)
            return any(line.startswith("docked:") for line in lines)

        await wait_for(reopened)
        body = await incident(dispatch_service, incident_id)
        assert body["status"] == "unassigned"
        assert body["dock_id"] is None
        lines = await timeline_text(dispatch_service, incident_id)
        assert (
            f"unserved: near: back at its dock without reaching the scene ({why}); "
            "the incident needs another dock" in lines
        )
        assert "completed" not in {line["type"] for line in body["timeline"]}


async def test_a_sortie_that_reached_the_scene_completes_its_incident(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800), fly=True, sortie_s=0.6) as edge:
        await docks_seen(dispatch_service, 1)
        r = await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)
        assert r.status_code == 201, r.text
        incident_id = r.json()["id"]

        async def status() -> str | None:
            s = (await incident(dispatch_service, incident_id))["status"]
            return s if s == "completed" else None

        await wait_for(status)
        lines = await timeline_text(dispatch_service, incident_id)
        assert not any(line.startswith("unserved:") for line in lines)
        assert edge.sortie_id is None
