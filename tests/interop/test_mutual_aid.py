"""Mutual aid between two forces, each with its own broker, store and dispatch: north has no
dock that can go, asks south, south decides with its own fleet and flies its own dock; north
sees the answer, the timeline and the video link; refusals carry south's reasons; either side
can recall; both sides audit every cross-force request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from dispatch.interop.aid import order
from dispatch.interop.signing import signed_headers
from edge.geo import LatLon, destination
from tests.dispatch.conftest import wait_for
from tests.dispatch.edges import EdgeSpec, ScriptedEdge
from tests.edge.helpers import HOME, edge_config, running_agent, sim_vehicle
from tests.interop.forces import AGREEMENT_KEY, TwoForces

NORTH_HOME = HOME
SOUTH_HOME = destination(HOME, 180.0, 8000.0)  # 8 km: beyond north's 6 km range
SCENE = destination(SOUTH_HOME, 30.0, 350.0)
ORDER = ["aid_asked", "dispatched", "airborne", "on_scene", "returning", "docked"]


async def ready(client: httpx.AsyncClient, dock_id: str) -> bool:
    docks = (await client.get("/api/v1/docks")).json()
    return any(d["id"] == dock_id and d["ready"] and not d["stale"] for d in docks)


def incident(scene: LatLon = SCENE, **extra: Any) -> dict[str, Any]:
    return {"lat": scene.lat, "lon": scene.lon, "type": "missing_person", **extra}


async def audit_actions(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    async with httpx.AsyncClient(
        base_url=str(client.base_url), headers={"Authorization": "Bearer admin-token"}
    ) as admin:
        rows = (await admin.get("/api/v1/audit?limit=500")).json()
    return [(r["actor"], r["action"]) for r in rows]


async def test_a_neighbour_flies_a_mutual_aid_sortie_end_to_end_on_sim_vehicles(
    tmp_path: Path,
) -> None:
    async with TwoForces(tmp_path, lent=["dock-s1"]) as forces:
        north, south = forces.north.service, forces.south.service
        async with (
            sim_vehicle(NORTH_HOME) as north_vehicle,
            sim_vehicle(SOUTH_HOME) as south_vehicle,
        ):
            edges = []
            for force, dock, home, vehicle in (
                (forces.north, "dock-n1", NORTH_HOME, north_vehicle),
                (forces.south, "dock-s1", SOUTH_HOME, south_vehicle),
            ):
                edges.append(
                    edge_config(
                        force.broker,
                        tmp_path / dock,
                        dock_id=dock,
                        home=home,
                        vehicle_url=vehicle.url,
                        signing={"public_key": force.keys[1]},
                        telemetry={"rate_hz": 5},
                    )
                )
            async with running_agent(edges[0]), running_agent(edges[1]):
                await wait_for(lambda: ready(north.http, "dock-n1"), limit_s=60)
                await wait_for(lambda: ready(south.http, "dock-s1"), limit_s=60)
                r = await north.http.post("/api/v1/incidents", json=incident(on_scene_s=15))
                assert r.status_code == 201, r.text
                ours = r.json()
                assert ours["dock_id"] == "south/dock-s1" and ours["status"] == "dispatched"
                path = f"/api/v1/incidents/{ours['id']}"

                async def completed() -> bool:
                    detail = (await north.http.get(path)).json()
                    return detail["status"] == "completed" and any(
                        line["type"] == "docked" for line in detail["timeline"]
                    )

                await wait_for(completed, limit_s=180, every=0.5)
            timeline = (await north.http.get(path)).json()["timeline"]
            types = [line["type"] for line in timeline]
            assert set(ORDER) <= set(types), types
            firsts = [types.index(t) for t in ORDER]
            assert firsts == sorted(firsts), types
            [unassigned] = [line for line in timeline if line["type"] == "unassigned"]
            [why] = unassigned["detail"]["docks"]
            assert (why["dock_id"], why["code"]) == ("dock-n1", "out_of_range"), why
            on_scene = next(line for line in timeline if line["type"] == "on_scene")
            assert on_scene["text"].startswith("south: ") and on_scene["dock_id"] == "south/dock-s1"
            [asked] = (await north.http.get(f"/api/v1/aid/incidents/{ours['id']}")).json()
            assert asked["direction"] == "asked" and asked["status"] == "accepted"
            theirs = asked["remote_incident_id"]
            lent = (await south.http.get(f"/api/v1/incidents/{theirs}")).json()
            assert lent["cad_ref"] == f"aid:north:{ours['id']}" and lent["dock_id"] == "dock-s1"
            assert lent["status"] == "completed"
            video = asked["video"]
            assert video["rendition"] == "redacted"
            assert video["url"].startswith(f"{forces.south.url}/view/{theirs}?token=")
            token = video["url"].split("token=")[1]
            async with httpx.AsyncClient(base_url=forces.south.url) as officer:
                seen = await officer.get(f"/api/v1/incidents/{theirs}", params={"token": token})
                assert seen.status_code == 200
                other = await officer.get("/api/v1/incidents", params={"token": token})
                assert other.status_code == 403  # the link opens that incident only
            north_audit = await audit_actions(north.http)
            south_audit = await audit_actions(south.http)
            assert ("force:south", "aid.answer") in north_audit and (
                "force:south",
                "aid.update",
            ) in north_audit
            assert ("force:north", "aid.received") in south_audit
            assert ("force:north", "aid.accepted") in south_audit


async def test_a_refusal_reaches_the_asking_force_with_the_neighbours_reasons(
    tmp_path: Path,
) -> None:
    async with TwoForces(tmp_path, lent=["dock-s1"], types=["missing_person"]) as forces:
        north, south = forces.north.service, forces.south.service
        spec = EdgeSpec("dock-s1", SOUTH_HOME.lat, SOUTH_HOME.lon, battery_pct=30.0)
        key = south.runtime.commander.key.public_key()
        async with ScriptedEdge(forces.south.broker.url, spec, key):
            await wait_for(lambda: south.runtime.fleet.get("dock-s1"))
            r = await north.http.post("/api/v1/incidents", json=incident())
            assert r.status_code == 409, r.text
            incident_id = r.json()["incident_id"]
            [asked] = (await north.http.get(f"/api/v1/aid/incidents/{incident_id}")).json()
            assert asked["status"] == "refused"
            [reason] = asked["reasons"]
            assert reason["dock_id"] == "dock-s1" and reason["code"] == "battery_low", reason
            timeline = (await north.http.get(f"/api/v1/incidents/{incident_id}")).json()["timeline"]
            refused = next(line for line in timeline if line["type"] == "aid_refused")
            assert refused["code"] == "no_dock_available" and "dock-s1" in refused["text"]
            r = await north.http.post("/api/v1/incidents", json=incident(type="fire"))
            timeline = (
                await north.http.get(f"/api/v1/incidents/{r.json()['incident_id']}")
            ).json()["timeline"]
            refused = next(line for line in timeline if line["type"] == "aid_refused")
            assert (
                refused["code"] == "not_in_agreement" and "'fire' is not covered" in refused["text"]
            )
        south_audit = await audit_actions(south.http)
        assert south_audit.count(("force:north", "aid.refused")) == 2


async def test_either_side_can_recall_the_lent_drone(tmp_path: Path) -> None:
    async with TwoForces(tmp_path, lent=["dock-s1"]) as forces:
        north, south = forces.north.service, forces.south.service
        spec = EdgeSpec("dock-s1", SOUTH_HOME.lat, SOUTH_HOME.lon, fly=True, sortie_s=60.0)
        key = south.runtime.commander.key.public_key()
        async with ScriptedEdge(forces.south.broker.url, spec, key) as edge:
            await wait_for(lambda: south.runtime.fleet.get("dock-s1"))
            r = await north.http.post("/api/v1/incidents", json=incident())
            assert r.status_code == 201, r.text
            ours = r.json()["id"]
            r = await north.http.post(f"/api/v1/incidents/{ours}/recall")
            assert r.status_code == 200 and r.json()["ok"], r.text
            assert r.json()["dock_id"] == "south/dock-s1"
            assert [c.type for c in edge.commands] == ["dispatch", "recall"]
            [asked] = (await north.http.get(f"/api/v1/aid/incidents/{ours}")).json()
            r = await south.http.post(f"/api/v1/incidents/{asked['remote_incident_id']}/recall")
            assert r.status_code == 200, r.text

            async def told() -> bool:
                lines = (await north.http.get(f"/api/v1/incidents/{ours}")).json()["timeline"]
                return any(
                    line["text"].startswith("south: recall sent")
                    and "user:dispatcher-1" in line["text"]
                    for line in lines
                )

            await wait_for(told, limit_s=10)
            # a signed recall replayed as a close is refused, and its signature is spent
            theirs_id = asked["remote_incident_id"]
            recall_body = json.dumps(order(theirs_id, "recall")).encode()
            headers = {
                "Content-Type": "application/json",
                **signed_headers("north", AGREEMENT_KEY.encode(), recall_body),
            }
            r = await south.http.post(
                f"/api/v1/aid/incidents/{theirs_id}/close", content=recall_body, headers=headers
            )
            assert (r.status_code, r.json()["code"]) == (422, "invalid_field"), r.text
            r = await south.http.post(
                f"/api/v1/aid/incidents/{theirs_id}/recall", content=recall_body, headers=headers
            )
            assert (r.status_code, r.json()["code"]) == (409, "replayed"), r.text
            r = await north.http.post(f"/api/v1/incidents/{ours}/close")
            assert r.status_code == 200

            async def closed_there() -> bool:
                theirs = await south.runtime.store.get_incident(asked["remote_incident_id"])
                return theirs is not None and theirs.status.value == "closed"

            await wait_for(closed_there)
        north_audit = await audit_actions(north.http)
        assert ("user:dispatcher-1", "aid.recall") in north_audit
        assert ("user:dispatcher-1", "aid.close") in north_audit


@pytest.mark.parametrize("before", [False, True], ids=["queue_first", "ask_first"])
async def test_an_incident_that_could_wait_in_our_queue_is_asked_for_only_as_agreed(
    tmp_path: Path, before: bool
) -> None:
    """North's own dock by the scene is charging: the incident could wait in north's queue.
    South is asked first only under an agreement that says ``ask_before_queue``."""
    async with TwoForces(tmp_path, lent=["dock-s1"], ask_before_queue=before) as forces:
        north, south = forces.north.service, forces.south.service
        ours = EdgeSpec("dock-n1", *destination(SCENE, 0.0, 500.0), ready=False)
        theirs = EdgeSpec("dock-s1", SOUTH_HOME.lat, SOUTH_HOME.lon)
        async with (
            ScriptedEdge(forces.north.broker.url, ours, north.runtime.commander.key.public_key()),
            ScriptedEdge(
                forces.south.broker.url, theirs, south.runtime.commander.key.public_key()
            ) as lent,
        ):
            await wait_for(lambda: ready(south.http, "dock-s1"))
            await wait_for(lambda: north.runtime.fleet.get("dock-n1"))
            r = await north.http.post("/api/v1/incidents", json=incident())
            asked = (await north.http.get(f"/api/v1/aid/incidents/{r.json()['id']}")).json()
            if before:
                assert r.status_code == 201 and r.json()["dock_id"] == "south/dock-s1", r.text
                assert [a["status"] for a in asked] == ["accepted"]
            else:
                assert r.status_code == 202 and r.json()["status"] == "queued", r.text
                assert asked == [] and lent.commands == []
