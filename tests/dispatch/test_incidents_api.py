"""Incidents over the API, against a real broker and scripted edges that ack like an edge."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.config import load_config
from edge.geo import LatLon, destination
from edge.protocol import AckCode, Availability, DispatchCommand, EventType, RecallCommand
from edge.protocol.signing import verify
from tests.dispatch.conftest import LONDON, RunningDispatch, wait_for

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

SCENE = LatLon(*LONDON)


def near(bearing: float, metres: float) -> tuple[float, float]:
    p = destination(SCENE, bearing, metres)
    return p.lat, p.lon


async def docks_seen(service: RunningDispatch, n: int) -> None:
    async def seen() -> bool:
        r = await service.http.get("/api/v1/docks")
        return sum(1 for d in r.json() if not d["stale"] and d["ready"]) >= n

    await wait_for(seen)


INCIDENT = {"lat": SCENE.lat, "lon": SCENE.lon, "type": "burglary", "priority": 1}


async def test_the_nearest_ready_dock_is_sent_with_a_signed_command(
    dispatch_service: RunningDispatch, edge_factory, public_key: Ed25519PublicKey
) -> None:
    async with (
        edge_factory("near", *near(0, 800)) as near_edge,
        edge_factory("far", *near(90, 2500)) as far_edge,
    ):
        await docks_seen(dispatch_service, 2)
        r = await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["dock_id"] == "near"
        assert body["sortie_id"] == near_edge.sortie_id
        assert 20 < body["eta_s"] < 200
        assert body["status"] == "dispatched"
        [cmd] = near_edge.commands
        assert isinstance(cmd, DispatchCommand) and cmd.body.incident_id == body["id"]
        verify(cmd, public_key)
        assert far_edge.commands == []
        kinds = [line["type"] for line in body["timeline"]]
        assert kinds[0] == "raised" and "candidate" in kinds and kinds[-1] == "dispatched"


async def timeline_text(service: RunningDispatch, incident_id: str) -> list[str]:
    r = await service.http.get(f"/api/v1/incidents/{incident_id}")
    return [f"{line['type']}: {line['text']}" for line in r.json()["timeline"]]


async def test_when_the_best_dock_refuses_the_next_best_goes_and_the_timeline_says_so(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with (
        edge_factory("near", *near(0, 800), respond="refuse", refuse_code=AckCode.WIND_HIGH),
        edge_factory("far", *near(90, 2500)) as far_edge,
    ):
        await docks_seen(dispatch_service, 2)
        r = await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)
        assert r.status_code == 201, r.text
        assert r.json()["dock_id"] == "far" and len(far_edge.commands) == 1
        lines = await timeline_text(dispatch_service, r.json()["id"])
        assert any(
            line.startswith("fallback: near:") and "trying the next" in line for line in lines
        )


async def test_when_the_best_dock_stays_silent_the_next_best_goes_after_the_ack_timeout(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with (
        edge_factory("near", *near(0, 800), respond="silent") as silent,
        edge_factory("far", *near(90, 2500)),
    ):
        await docks_seen(dispatch_service, 2)
        r = await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)
        assert r.status_code == 201, r.text
        assert r.json()["dock_id"] == "far" and len(silent.commands) == 1
        sent = silent.commands[0]
        assert (sent.expires_at - sent.issued_at).total_seconds() == pytest.approx(1.0)
        lines = await timeline_text(dispatch_service, r.json()["id"])
        assert any("near: no ack within 1 s" in line for line in lines)


async def test_no_dock_that_could_ever_go_answers_409_with_every_docks_reason(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    four_hours = {**INCIDENT, "on_scene_s": 4 * 3600}  # more than even a full battery holds
    async with (
        edge_factory("weak", *near(0, 800), battery_pct=25),
        edge_factory("remote", *near(90, 9000)),
        edge_factory("gone", *near(180, 900)) as gone,
    ):
        await docks_seen(dispatch_service, 3)
        gone.telemetry_on = False  # a dock that goes offline falls silent too
        await gone.set_availability(Availability.OFFLINE)
        await asyncio.sleep(0.3)
        r = await dispatch_service.http.post("/api/v1/incidents", json=four_hours)
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["code"] == "no_dock_available"
        codes = {d["dock_id"]: d["code"] for d in body["docks"]}
        assert codes == {"weak": "battery_low", "remote": "out_of_range", "gone": "offline"}
        kept = await dispatch_service.http.get(f"/api/v1/incidents/{body['incident_id']}")
        assert kept.json()["status"] == "unassigned"


async def test_an_altitude_over_a_raised_pads_ceiling_is_refused_by_dispatch_without_a_command(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    dock01 = load_config(CONFIGS / "dock-01.toml")  # its pad is 20 m above the ground
    limits = dock01.published_limits().model_dump()
    async with edge_factory("dock-01", *near(0, 800), limits=limits) as edge:
        await docks_seen(dispatch_service, 1)
        r = await dispatch_service.http.post(
            "/api/v1/incidents", json={**INCIDENT, "alt_rel_m": 110}
        )
        assert r.status_code == 409, r.text
        [dock] = r.json()["docks"]
        assert dock["code"] == "above_ceiling" and "20 m up" in dock["reason"], dock
        assert edge.commands == []
        r = await dispatch_service.http.post(
            "/api/v1/incidents", json={**INCIDENT, "alt_rel_m": 100}
        )
        assert r.status_code == 201 and len(edge.commands) == 1, r.text


async def test_raising_the_same_cad_reference_twice_gives_back_the_same_incident(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800)) as edge:
        await docks_seen(dispatch_service, 1)
        first = await dispatch_service.http.post(
            "/api/v1/incidents", json={**INCIDENT, "cad_ref": "CAD-7"}
        )
        again = await dispatch_service.http.post(
            "/api/v1/incidents", json={**INCIDENT, "cad_ref": "CAD-7"}
        )
        assert first.status_code == 201 and again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        assert len(edge.commands) == 1


async def test_recall_and_retask_reach_the_dock_signed_and_their_acks_land_in_the_timeline(
    dispatch_service: RunningDispatch, edge_factory, public_key: Ed25519PublicKey
) -> None:
    async with edge_factory("near", *near(0, 800)) as edge:
        await docks_seen(dispatch_service, 1)
        incident = (await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)).json()
        path = f"/api/v1/incidents/{incident['id']}"
        retask = await dispatch_service.http.post(
            f"{path}/retask", json={"lat": 51.51, "lon": -0.12}
        )
        assert retask.status_code == 200 and retask.json()["ok"] is True
        recall = await dispatch_service.http.post(f"{path}/recall")
        assert recall.status_code == 200
        assert isinstance(edge.commands[-1], RecallCommand)
        for cmd in edge.commands:
            verify(cmd, public_key)
        detail = (await dispatch_service.http.get(path)).json()
        assert detail["target"] == {"lat": 51.51, "lon": -0.12}
        await dispatch_service.runtime.drain()
        lines = await timeline_text(dispatch_service, incident["id"])
        assert any(line.startswith("recall: near accepted recall") for line in lines)


async def test_a_refused_recall_answers_409_with_the_docks_code(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800)) as edge:
        await docks_seen(dispatch_service, 1)
        incident = (await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)).json()
        edge.spec.respond, edge.spec.refuse_code = "refuse", AckCode.NOT_FLYING
        r = await dispatch_service.http.post(f"/api/v1/incidents/{incident['id']}/recall")
        assert r.status_code == 409 and r.json()["code"] == "not_flying"


async def test_an_event_published_twice_is_stored_once(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800)) as edge:
        await docks_seen(dispatch_service, 1)
        incident = (await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)).json()
        ev = await edge.event(EventType.AIRBORNE, id="ev-airborne-1")
        await edge.event(EventType.AIRBORNE, id=ev.id)
        await edge.event(EventType.ON_SCENE, id="ev-on-scene-1")
        api = dispatch_service.http

        async def ours() -> list[str] | None:
            events = (await api.get("/api/v1/events", params={"dock_id": "near"})).json()
            ids = sorted(e["id"] for e in events if e["id"].startswith("ev-"))
            return ids if "ev-on-scene-1" in ids else None

        assert await wait_for(ours) == ["ev-airborne-1", "ev-on-scene-1"]
        assert dispatch_service.runtime.metrics.events.labels("duplicate")._value.get() == 1
        detail = (await dispatch_service.http.get(f"/api/v1/incidents/{incident['id']}")).json()
        assert [line["type"] for line in detail["timeline"]].count("airborne") == 1
        assert detail["status"] == "on_scene"


async def test_a_dock_gone_offline_or_silent_is_shown_stale(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("a", *near(0, 800)) as a, edge_factory("b", *near(90, 800)) as b:
        await docks_seen(dispatch_service, 2)
        a.telemetry_on = False  # a dock that goes offline falls silent too
        await a.set_availability(Availability.OFFLINE)
        b.telemetry_on = False

        async def both_stale() -> dict[str, str] | None:
            docks = (await dispatch_service.http.get("/api/v1/docks")).json()
            reasons = {d["id"]: d["stale_reason"] for d in docks if d["stale"]}
            return reasons if len(reasons) == 2 else None

        reasons = await wait_for(both_stale, limit_s=8)
        assert reasons["a"] == "dock reports offline"
        assert "telemetry stopped" in reasons["b"]


async def test_closing_an_incident_keeps_it_readable_and_refuses_further_commands(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800)):
        await docks_seen(dispatch_service, 1)
        incident = (await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)).json()
        path = f"/api/v1/incidents/{incident['id']}"
        await dispatch_service.runtime.drain()
        closed = await dispatch_service.http.post(f"{path}/close")
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        r = await dispatch_service.http.post(f"{path}/recall")
        assert r.status_code == 409 and r.json()["code"] == "conflict"
        detail = (await dispatch_service.http.get(path)).json()
        assert detail["status"] == "closed" and detail["closed_at"] is not None
        assert "closed" in [line["type"] for line in detail["timeline"]]


async def test_a_scripted_sortie_completes_the_timeline(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800), fly=True, sortie_s=1.5):
        await docks_seen(dispatch_service, 1)
        incident = (await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)).json()
        path = f"/api/v1/incidents/{incident['id']}"

        async def docked() -> bool:
            detail = (await dispatch_service.http.get(path)).json()
            done = detail["status"] == "completed"
            return done and any(line["type"] == "docked" for line in detail["timeline"])

        await wait_for(docked, limit_s=10)
        types = [
            line["type"] for line in (await dispatch_service.http.get(path)).json()["timeline"]
        ]
        order = [
            "raised",
            "dispatched",
            "accepted",
            "airborne",
            "on_scene",
            "returning",
            "landed",
            "docked",
        ]
        assert [t for t in types if t in order] == order


async def test_when_the_accepted_dock_fails_its_preflight_the_next_best_dock_is_sent(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with (
        edge_factory("near", *near(0, 800), fail_preflight=True),
        edge_factory("far", *near(90, 2500)) as far_edge,
    ):
        await docks_seen(dispatch_service, 2)
        r = await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)
        assert r.status_code == 201 and r.json()["dock_id"] == "near"
        path = f"/api/v1/incidents/{r.json()['id']}"

        async def moved_on() -> bool:
            return (await dispatch_service.http.get(path)).json()["dock_id"] == "far"

        await wait_for(moved_on, limit_s=10)
        assert len(far_edge.commands) == 1
        lines = await timeline_text(dispatch_service, r.json()["id"])
        assert any("near: GPS: no 3D fix; sending the next best dock" in ln for ln in lines)


async def test_the_whole_service_runs_on_postgresql(
    make_settings, postgres_url: str, edge_factory
) -> None:
    async with (
        RunningDispatch(make_settings(db_url=postgres_url)) as service,
        edge_factory("near", *near(0, 800), fly=True, sortie_s=1.5),
    ):
        assert service.runtime.store.dialect == "postgresql"
        await docks_seen(service, 1)
        r = await service.http.post("/api/v1/incidents", json={**INCIDENT, "cad_ref": "PG-1"})
        assert r.status_code == 201, r.text
        path = f"/api/v1/incidents/{r.json()['id']}"

        async def completed() -> bool:
            return (await service.http.get(path)).json()["status"] == "completed"

        await wait_for(completed, limit_s=10)
        async with service.client("admin") as admin:
            assert (await admin.get("/api/v1/audit/verify")).json()["ok"] is True
