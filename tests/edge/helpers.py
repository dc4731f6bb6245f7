"""The edge test helper: configs, a running agent, commands, waits (AutopilotTester style)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edge.agent import EdgeAgent
from edge.config import EdgeConfig, load_config
from edge.dock import Dock
from edge.errors import ProtocolError
from edge.geo import LatLon, destination, distance_m
from sim.broker import LocalBroker
from sim.dock import SimDock
from sim.vehicle import SimVehicleProcess, launch
from tests.edge.conftest import Listener
from tests.keys import dispatch_key_files, dock_key_files, signed

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
HOME = LatLon(51.5045, -0.0865)  # dock-01
HOME_AMSL = 31.0
SPEED = float(os.environ.get("OUTRIDER_EDGE_TEST_SPEED", "20"))
FULL_SORTIE = [
    "accepted", "lid_open", "armed", "airborne", "en_route", "on_scene", "returning",
    "landing", "landed", "disarmed", "lid_closed", "docked", "charging", "ready",
]  # fmt: skip
RETURN_HOME = ["landing", "landed", "disarmed", "lid_closed", "docked"]


def edge_config(
    broker: LocalBroker,
    state_dir: Path,
    *,
    dock_id: str = "dock-01",
    vehicle_url: str = "udpin://127.0.0.1:1",
    home: LatLon = HOME,
    **sections: dict[str, Any],
) -> EdgeConfig:
    """dock-01.toml pointed at this test's broker, vehicle and state directory, with signing on:
    the test dispatch key's public half, and this dock's own key."""
    base = {
        "dock": {
            "id": dock_id,
            "home": {"lat": home.lat, "lon": home.lon, "alt_amsl_m": 31.0},
            "hardware": {"type": "sim", "lid_time_s": 0.3, "wind_mps": 3.0},
            "ready_pct": 90,
        },
        "mqtt": {"url": broker.url, "backoff_initial_s": 0.1, "backoff_max_s": 1.0},
        "vehicle": {"url": vehicle_url, "connect_timeout_s": 15.0},
        "flight": {"transit_alt_m": 40, "cruise_mps": 12, "acceptance_m": 5},
        "signing": {"public_key": dispatch_key_files()[1], "key": dock_key_files(dock_id)[0]},
        "state_dir": state_dir,
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}  # type: ignore[dict-item]
    return load_config(CONFIGS / "dock-01.toml", **base)


@contextlib.asynccontextmanager
async def running_agent(
    config: EdgeConfig, *, dock: Dock | None = None
) -> AsyncIterator[EdgeAgent]:
    """An edge agent running in this event loop until the block ends."""
    agent = EdgeAgent(config, dock=dock)
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(agent.run())
        await asyncio.wait_for(agent.started.wait(), 20)
        assert agent.runner is not None
        await asyncio.wait_for(agent.runner.recovered.wait(), 60)
        try:
            yield agent
        finally:
            task.cancel()


def command(
    kind: str, dock_id: str = "dock-01", body: dict[str, Any] | None = None, **envelope: Any
) -> dict[str, Any]:
    now = datetime.now(UTC)
    cmd: dict[str, Any] = {
        "v": 1,
        "id": uuid.uuid4().hex,
        "type": kind,
        "dock_id": dock_id,
        "issued_at": now.isoformat(),
        "expires_at": (now + timedelta(seconds=60)).isoformat(),
        "body": body if body is not None else {},
    }
    cmd.update(envelope)
    return cmd


def dispatch(
    target: LatLon,
    *,
    dock_id: str = "dock-01",
    incident: str = "INC-1",
    duration_s: float = 2.0,
    pattern: str = "orbit",
    alt: float | None = None,
    **envelope: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "incident_id": incident,
        "target": {"lat": target.lat, "lon": target.lon},
        "on_scene": {"pattern": pattern, "radius_m": 30, "duration_s": duration_s},
    }
    if alt is not None:
        body["alt_rel_m"] = alt
    return command("dispatch", dock_id, body, **envelope)


async def send(
    listener: Listener, cmd: dict[str, Any] | bytes, within: float = 15.0, *, sign: bool = True
) -> dict[str, Any]:
    """Publish a command, signed by the test dispatch key unless it carries a ``sig`` already
    or ``sign`` is false, and return its ack."""
    if isinstance(cmd, bytes):
        raise TypeError("use send_raw for raw payloads")
    if sign and "sig" not in cmd:
        with contextlib.suppress(ProtocolError):  # no valid command: refused before signatures
            cmd = signed(cmd)
    dock = cmd.get("dock_id", "dock-01")
    await listener.publish(f"dfr/v1/{dock}/cmd", json.dumps(cmd).encode())
    return await listener.ack_for(cmd["id"], within)


def near(km: float, bearing: float = 250.0, home: LatLon = HOME) -> LatLon:
    return destination(home, bearing, km * 1000.0)


def sim_vehicle(home: LatLon = HOME, **options: Any) -> SimVehicleProcess:
    """A sim vehicle on the dock (child process), at the test speed factor."""
    options.setdefault("speed_factor", SPEED)
    options.setdefault("battery_pct", 97.0)
    return launch(home=(home.lat, home.lon, HOME_AMSL), **options)


def sim_dock(vehicle: SimVehicleProcess | None, **options: Any) -> SimDock:
    """A sim dock whose charger feeds ``vehicle``'s battery."""
    options.setdefault("lid_time_s", 0.3)
    options.setdefault("charge_pct_per_s", 20.0)

    async def charge(pct: float) -> None:
        if vehicle is not None:
            await vehicle.charge(pct)

    return SimDock(charge=charge, **options)


@contextlib.asynccontextmanager
async def dock_with_vehicle(
    broker: LocalBroker,
    listener: Listener,
    vehicle: SimVehicleProcess,
    state_dir: Path,
    *,
    dock: SimDock | None = None,
    home: LatLon = HOME,
    dock_id: str = "dock-01",
    wait_ready: bool = True,
    **sections: dict[str, Any],
) -> AsyncIterator[EdgeAgent]:
    """An agent flying ``vehicle`` from a sim dock; yields once the dock reports ready."""
    config = edge_config(
        broker, state_dir, dock_id=dock_id, vehicle_url=vehicle.url, home=home, **sections
    )
    async with running_agent(config, dock=dock or sim_dock(vehicle)) as agent:
        if wait_ready:
            await listener.wait(lambda: agent.state().ready, 30, f"{dock_id} ready")
        yield agent


async def truth_at_home(vehicle: SimVehicleProcess, home: LatLon = HOME) -> dict[str, Any]:
    """The vehicle's ground truth, checked to be on the dock, disarmed."""
    truth = await vehicle.truth()
    off = distance_m(LatLon(truth["lat"], truth["lon"]), home)
    assert off < 5.0, f"vehicle is {off:.1f} m from the dock"
    assert not truth["armed"] and truth["landed"]
    return truth


async def flown_out(
    listener: Listener, metres: float, home: LatLon = HOME, dock: str = "dock-01"
) -> None:
    """Wait until telemetry puts the drone at least ``metres`` from its dock."""

    def far() -> bool:
        samples = listener.of("telemetry", dock)
        if not samples:
            return False
        t = samples[-1].json()
        return bool(distance_m(LatLon(t["lat"], t["lon"]), home) >= metres)

    await listener.wait(far, 60, f"{dock} {metres:g} m out")
