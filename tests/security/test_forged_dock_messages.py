"""A forged dock message changes nothing: not the fleet, not a timeline, not an incident.

Everything runs as in service: Mosquitto with the ACL of ``configs/mosquitto/``, dispatch and
dock-01's real edge each under their own broker user, the sim vehicle flying a real sortie.
The attackers hold what an attacker could steal: dock-01's broker password (but not its key),
the broker password of a dock that does not exist in dispatch (dock-09), and dock-02's password
and key (a dock taken over, speaking about an incident it was never sent to).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.agent import EdgeAgent
from edge.geo import destination
from edge.protocol import now_utc
from sim.vehicle import SimVehicleProcess
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.edge.helpers import HOME, edge_config, running_agent, sim_dock, sim_vehicle
from tests.keys import dock_key
from tests.security.conftest import SecureBroker, forge, service_settings

pytestmark = pytest.mark.timeout(240)


@dataclass
class Stack:
    broker: SecureBroker
    dispatch: RunningDispatch
    agent: EdgeAgent
    vehicle: SimVehicleProcess

    async def incident(self, incident_id: str) -> dict[str, Any]:
        r = await self.dispatch.http.get(f"/api/v1/incidents/{incident_id}")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def dock(self, dock_id: str) -> httpx.Response:
        return await self.dispatch.http.get(f"/api/v1/docks/{dock_id}")

    def rejected(self, kind: str, code: str) -> float:
        metric = self.dispatch.runtime.metrics.rejected.labels(kind, code)
        return float(metric._value.get())


@pytest.fixture
async def stack(secure_broker: SecureBroker, tmp_path: Path) -> AsyncIterator[Stack]:
    async with (
        sim_vehicle() as vehicle,
        RunningDispatch(service_settings(secure_broker, tmp_path)) as dispatch,
    ):
        config = edge_config(
            secure_broker,  # type: ignore[arg-type]
            tmp_path / "edge",
            vehicle_url=vehicle.url,
            mqtt=secure_broker.edge_mqtt("dock-01"),
        )
        async with running_agent(config, dock=sim_dock(vehicle)) as agent:

            async def ready() -> bool:
                r = await dispatch.http.get("/api/v1/docks/dock-01")
                return r.status_code == 200 and r.json()["ready"] and not r.json()["stale"]

            await wait_for(ready, limit_s=60, every=0.2)
            yield Stack(secure_broker, dispatch, agent, vehicle)


async def on_scene(stack: Stack) -> dict[str, Any]:
    """Raise an incident 900 m out; dock-01 flies it; return it once the drone is on scene."""
    scene = destination(HOME, 250.0, 900.0)
    r = await stack.dispatch.http.post(
        "/api/v1/incidents",
        json={"lat": scene.lat, "lon": scene.lon, "type": "fire", "on_scene_s": 600},
    )
    assert r.status_code == 201 and r.json()["dock_id"] == "dock-01", r.text
    incident_id = r.json()["id"]

    async def there() -> dict[str, Any] | None:
        incident = await stack.incident(incident_id)
        return incident if incident["status"] == "on_scene" else None

    result: dict[str, Any] = await wait_for(there, limit_s=90, every=0.3)
    return result


def event(dock_id: str, incident: dict[str, Any], kind: str, **detail: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "id": uuid.uuid4().hex,
        "dock_id": dock_id,
        "sortie_id": incident["sortie_id"],
        "incident_id": incident["id"],
        "type": kind,
        "at": now_utc().isoformat(),
        "detail": detail,
    }


async def test_a_stolen_dock_password_without_the_docks_key_changes_nothing(
    stack: Stack,
) -> None:
    incident = await on_scene(stack)
    before = await stack.incident(incident["id"])
    stolen_key = Ed25519PrivateKey.generate()  # the password, but not dock-01's key
    fake = {**(await stack.dock("dock-01")).json()}
    async with stack.broker.client("dock-01") as thief:
        root = "dfr/v1/dock-01"
        await forge(thief, f"{root}/events", event("dock-01", incident, "docked"))
        await forge(thief, f"{root}/events", event("dock-01", incident, "landed"), stolen_key)
        crashed = event("dock-01", incident, "failsafe", reason="crashed")
        await forge(thief, f"{root}/events", crashed, stolen_key)
        idle = {
            "v": 1,
            "dock_id": "dock-01",
            "phase": "docked",
            "ready": True,
            "home": {"lat": HOME.lat, "lon": HOME.lon},
        }
        await forge(thief, f"{root}/state", idle, retain=True)
        teleport = {
            "v": 1, "dock_id": "dock-01", "lat": 0.0, "lon": 0.0, "alt_rel_m": 0, "alt_amsl_m": 0,
            "heading_deg": 0, "ground_speed_mps": 0, "battery_pct": 100, "flight_mode": "HOLD",
            "armed": False, "in_air": False, "gps_fix": 3,
        }  # fmt: skip
        await forge(thief, f"{root}/telemetry", teleport, stolen_key)
        await forge(thief, f"{root}/availability", b"offline", retain=True)
        await wait_for(lambda: stack.rejected("events", "unsigned") >= 1)
        await wait_for(lambda: stack.rejected("events", "bad_signature") >= 2)
        await wait_for(lambda: stack.rejected("state", "unsigned") >= 1)
        await wait_for(lambda: stack.rejected("telemetry", "bad_signature") >= 1)

    # the forged retained "offline" is outweighed by the dock's own signed telemetry
    async def online_and_flying() -> dict[str, Any] | None:
        dock = (await stack.dock("dock-01")).json()
        ok = dock["availability"] == "online" and not dock["stale"] and dock["in_air"]
        return dock if ok else None

    dock = await wait_for(online_and_flying, limit_s=10)
    assert dock["phase"] == "on_scene" and dock["incident_id"] == incident["id"]
    assert abs(dock["position"]["lat"] - fake["position"]["lat"]) < 0.02  # not teleported
    after = await stack.incident(incident["id"])
    assert after["status"] == "on_scene"
    forged_lines = [line for line in after["timeline"] if line not in before["timeline"]]
    assert not any(
        line["type"] in ("docked", "landed", "failsafe") or "crashed" in line["text"]
        for line in forged_lines
    ), forged_lines
    truth = await stack.vehicle.truth()
    assert truth["armed"] and not truth["landed"]  # still flying the sortie


async def test_a_dock_that_does_not_exist_is_refused_counted_and_never_chosen(
    stack: Stack,
) -> None:
    incident = await on_scene(stack)
    before = await stack.incident(incident["id"])
    far = destination(HOME, 90.0, 25_000.0)  # beyond every dock's range: stays unassigned
    cad = {"lat": far.lat, "lon": far.lon, "type": "burglary", "cad_ref": "CAD-77"}
    r = await stack.dispatch.http.post("/api/v1/incidents", json=cad)
    assert r.status_code == 409
    unassigned = await stack.incident(r.json()["incident_id"])
    own_key = Ed25519PrivateKey.generate()  # dock-09 signs with a key dispatch never heard of
    async with stack.broker.client("dock-09") as ghost:
        root = "dfr/v1/dock-09"
        await forge(ghost, f"{root}/availability", b"online", retain=True)
        near_ready = {
            "v": 1, "dock_id": "dock-09", "phase": "docked", "ready": True, "battery_pct": 100,
            "home": {"lat": far.lat, "lon": far.lon},
            "limits": {
                "max_range_m": 9000, "reserve_pct": 10, "ceiling_m": 120, "wind_limit_mps": 15,
                "transit_alt_m": 40, "cruise_mps": 15, "climb_mps": 3, "descent_mps": 2,
                "launch_overhead_s": 1,
            },
        }  # fmt: skip
        await forge(ghost, f"{root}/state", near_ready, own_key, retain=True)
        crashed = event("dock-09", incident, "failsafe", reason="crashed")
        await forge(ghost, f"{root}/events", crashed, own_key)
        await forge(ghost, f"{root}/events", event("dock-09", unassigned, "docked"), own_key)
        await wait_for(lambda: stack.rejected("events", "unknown_dock") >= 2)
        await wait_for(lambda: stack.rejected("state", "unknown_dock") >= 1)
    again = await stack.dispatch.http.post("/api/v1/incidents", json=cad)
    assert again.status_code == 409 and again.json()["incident_id"] == unassigned["id"]
    assert "dock-09" not in {d["dock_id"] for d in again.json()["docks"]}
    assert (await stack.incident(unassigned["id"]))["status"] == "unassigned"
    assert (await stack.incident(incident["id"]))["timeline"][: len(before["timeline"])] == (
        before["timeline"]
    )
    assert not any(
        "crashed" in line["text"] for line in (await stack.incident(incident["id"]))["timeline"]
    )
    assert (await stack.dock("dock-09")).status_code == 404
    assert stack.dispatch.runtime.fleet.get("dock-09") is None


async def test_a_dock_speaking_of_an_incident_it_was_never_sent_to_is_kept_out_of_it(
    stack: Stack,
) -> None:
    incident = await on_scene(stack)
    before = await stack.incident(incident["id"])
    taken_over = dock_key("dock-02")  # dock-02's own password and key
    async with stack.broker.client("dock-02") as rogue:
        root = "dfr/v1/dock-02"
        await forge(rogue, f"{root}/events", event("dock-02", incident, "docked"), taken_over)
        crashed = event("dock-02", incident, "failsafe", reason="crashed")
        await forge(rogue, f"{root}/events", crashed, taken_over)
    foreign = stack.dispatch.runtime.metrics.events.labels("foreign")
    await wait_for(lambda: foreign._value.get() >= 2)
    after = await stack.incident(incident["id"])
    assert after["status"] == "on_scene"
    assert not any(line["dock_id"] == "dock-02" for line in after["timeline"])
    assert after["timeline"][: len(before["timeline"])] == before["timeline"]
    events = await stack.dispatch.http.get(
        "/api/v1/events", params={"incident_id": incident["id"], "limit": 1000}
    )
    assert {e["dock_id"] for e in events.json()} == {"dock-01"}
    truth = await stack.vehicle.truth()
    assert truth["armed"] and not truth["landed"]
    await asyncio.sleep(0)
