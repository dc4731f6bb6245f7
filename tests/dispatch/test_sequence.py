"""A sortie's numbered events: a gap in the numbering is flagged where the dispatcher looks,
and the dock is asked to send the missing ones again."""

from __future__ import annotations

from edge.protocol import EventType, ResendCommand
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.dispatch.test_incidents_api import INCIDENT, docks_seen, near, timeline_text


async def test_events_missing_from_a_sortie_are_flagged_counted_and_asked_for_again(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800)) as edge:
        await docks_seen(dispatch_service, 1)
        r = await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)
        assert r.status_code == 201, r.text
        incident_id = r.json()["id"]

        await edge.event(EventType.LID_OPEN, seq=1)
        await edge.event(EventType.AIRBORNE, seq=4)  # 2 and 3 lost on the way
        await edge.event(EventType.ON_SCENE, seq=5)

        async def flagged() -> list[str]:
            lines = await timeline_text(dispatch_service, incident_id)
            return [line for line in lines if line.startswith("gap:")]

        gaps = await wait_for(flagged)
        assert gaps == [f"gap: near: events 2-3 of sortie {edge.sortie_id} not received"]
        lines = await timeline_text(dispatch_service, incident_id)
        assert lines.index(gaps[0]) < lines.index("on_scene: near: on scene")

        async def asked() -> list[ResendCommand]:
            return [c for c in edge.commands if isinstance(c, ResendCommand)]

        [resend] = await wait_for(asked)
        assert (resend.body.sortie_id, resend.body.seqs) == (edge.sortie_id, [2, 3])

        await edge.event(EventType.ARMED, seq=2)  # one turns up after all
        registry = dispatch_service.runtime.metrics.registry

        def count(result: str) -> float | None:
            return registry.get_sample_value("dispatch_events_total", {"result": result})

        await wait_for(lambda: count("late") == 1)
        assert count("missing") == 2
        assert await flagged() == gaps  # no new gap for a late one
        lines = await timeline_text(dispatch_service, incident_id)
        assert "armed: near: armed" in lines
        r = await dispatch_service.http.get(f"/api/v1/incidents/{incident_id}")
        assert r.json()["status"] == "on_scene"  # a late event moves the status nowhere
