"""End to end: an incident raised over the API is flown by a real edge agent and the sim
vehicle (MAVSDK ↔ MAVLink), and its timeline completes."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.geo import destination
from sim.broker import LocalBroker
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.edge.helpers import HOME, edge_config, running_agent

vehicle = pytest.importorskip("sim.vehicle", reason="the sim vehicle is not in this tree yet")
ORDER = [
    "raised",
    "dispatched",
    "accepted",
    "airborne",
    "on_scene",
    "returning",
    "landed",
    "docked",
]


async def test_an_incident_is_flown_by_a_real_edge_and_sim_vehicle_and_the_timeline_completes(
    dispatch_service: RunningDispatch, broker: LocalBroker, tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    home = (HOME.lat, HOME.lon, 31.0)
    async with vehicle.launch(home=home, speed_factor=10) as sim:
        config = edge_config(
            broker,
            tmp_path / "edge",
            vehicle_url=sim.url,
            signing={"public_key": keys[1]},
            telemetry={"rate_hz": 5},
        )
        async with running_agent(config):
            api = dispatch_service.http

            async def ready() -> bool:
                docks = (await api.get("/api/v1/docks")).json()
                return any(d["id"] == "dock-01" and d["ready"] and not d["stale"] for d in docks)

            await wait_for(ready, limit_s=60)
            scene = destination(HOME, 250, 400)
            r = await api.post(
                "/api/v1/incidents",
                json={"lat": scene.lat, "lon": scene.lon, "type": "fire", "on_scene_s": 20},
            )
            assert r.status_code == 201, r.text
            path = f"/api/v1/incidents/{r.json()['id']}"

            async def docked() -> bool:
                detail = (await api.get(path)).json()
                types = [line["type"] for line in detail["timeline"]]
                return detail["status"] == "completed" and "docked" in types

            await wait_for(docked, limit_s=150, every=0.5)
            await dispatch_service.runtime.drain()
            timeline = (await api.get(path)).json()["timeline"]
            assert [line["type"] for line in timeline if line["type"] in ORDER] == ORDER
            assert any(
                line["type"] == "dispatched" and line["dock_id"] == "dock-01" for line in timeline
            )
