"""The fault-suite rig: broker, dispatch, one dock's edge and its sim vehicle, and the faults.

One object, read as flight-test steps (PX4's ``AutopilotTester`` style): raise an incident, wait
for a phase, restart the broker, kill the edge, cut MAVLink, then settle and check. Every part is
real: Mosquitto, the dispatch service on uvicorn with SQLite, the edge agent (in this process, or
as an ``outrider edge`` process when the scenario kills it), MAVSDK and the sim vehicle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import pytest

from dispatch.config import DispatchSettings, load_settings
from dispatch.keys import init_keys
from edge.agent import EdgeAgent
from edge.geo import destination
from sim.broker import LocalBroker, MosquittoBroker
from sim.linkproxy import LinkProxy
from sim.vehicle import SimVehicleProcess
from tests.dispatch.conftest import TOKENS, RunningDispatch, wait_for
from tests.edge.conftest import Listener
from tests.edge.helpers import (
    CONFIGS,
    HOME,
    edge_config,
    flown_out,
    running_agent,
    sim_dock,
    sim_vehicle,
)
from tests.keys import registered, signing_env

__all__ = ["FAULT_SPEED", "PHASE_EVENT", "Rig", "persistent_broker"]

logger = logging.getLogger(__name__)

FAULT_SPEED = float(os.environ.get("OUTRIDER_FAULT_SPEED", "20"))
TRANSIT_M = 200.0  # "in transit" starts this far out
PHASE_EVENT = {"en_route": "en_route", "on_scene": "on_scene", "returning": "returning"}
EDGE_ENV = {  # what tests.edge.helpers.edge_config sets, for an ``outrider edge`` process
    "OUTRIDER_DOCK__HARDWARE__LID_TIME_S": "0.3",
    "OUTRIDER_DOCK__HARDWARE__WIND_MPS": "3",
    "OUTRIDER_DOCK__READY_PCT": "90",
    "OUTRIDER_FLIGHT__TRANSIT_ALT_M": "40",
    "OUTRIDER_FLIGHT__CRUISE_MPS": "12",
    "OUTRIDER_MQTT__BACKOFF_INITIAL_S": "0.1",
    "OUTRIDER_MQTT__BACKOFF_MAX_S": "1.0",
}


def persistent_broker() -> MosquittoBroker:
    """Mosquitto, which keeps sessions, queued messages and retained state across a restart."""
    if not shutil.which("mosquitto"):
        pytest.skip("the fault suite needs mosquitto (sessions kept across broker restarts)")
    return MosquittoBroker()


class Rig:
    """Everything one fault scenario needs, as an async context manager.

    Args:
        tmp: the test's own directory (store, keys, edge state).
        edge_process: run the edge as an ``outrider edge`` process, so it can be killed.
        proxy: put a :class:`~sim.linkproxy.LinkProxy` between the edge and the broker.
        vehicle: options of :func:`sim.vehicle.launch`.
        edge: config sections for the edge agent (merged over the test defaults).
    """

    def __init__(
        self,
        tmp: Path,
        *,
        edge_process: bool = False,
        proxy: bool = False,
        vehicle: dict[str, Any] | None = None,
        edge: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.tmp = tmp
        self.edge_process = edge_process
        self.use_proxy = proxy
        self.vehicle_options = {"speed_factor": FAULT_SPEED, **(vehicle or {})}
        self.edge_sections = edge or {}
        self.proxy: LinkProxy | None = None
        self.agent: EdgeAgent | None = None
        self.process: asyncio.subprocess.Process | None = None
        self.restarts: dict[str, int] = {"broker": 0, "dispatch": 0, "edge": 0}
        self._stack = contextlib.AsyncExitStack()
        self._dispatch: RunningDispatch | None = None

    # -- setting up ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _start(self) -> None:
        stack = self._stack
        self.broker: LocalBroker = await stack.enter_async_context(persistent_broker())
        if self.use_proxy:
            self.proxy = await stack.enter_async_context(LinkProxy("127.0.0.1", self.broker.port))
        self.listener = await stack.enter_async_context(Listener(self.broker))
        self.keys = init_keys(self.tmp / "keys")
        self.settings = self._settings()
        await self._start_dispatch()
        self.vehicle: SimVehicleProcess = await stack.enter_async_context(
            sim_vehicle(**self.vehicle_options)
        )
        await self._start_edge()
        await self.dock_ready()

    def _settings(self) -> DispatchSettings:
        return load_settings(
            None,
            mqtt_url=self.broker.url,
            db_url=f"sqlite:///{self.tmp / 'dispatch.db'}",
            signing_key=self.keys[0],
            secret="fault-suite-secret-0123456789",
            log_format="text",
            dispatch={"ack_timeout_s": 5.0, "stale_after_s": 5.0},
            tokens=[{"name": "dispatcher-1", "role": "dispatcher", "token": TOKENS["dispatcher"]}],
            docks=registered("dock-01"),
        )

    @property
    def edge_url(self) -> str:
        return self.proxy.url if self.proxy is not None else self.broker.url

    async def _start_dispatch(self) -> None:
        self._dispatch = RunningDispatch(self.settings)
        await self._dispatch.__aenter__()

    @property
    def dispatch(self) -> RunningDispatch:
        assert self._dispatch is not None, "dispatch is down"
        return self._dispatch

    async def _start_edge(self) -> None:
        if self.edge_process:
            await self._spawn_edge()
            return
        sections = {"signing": {"public_key": self.keys[1]}, **self.edge_sections}
        sections["mqtt"] = {"url": self.edge_url, **sections.get("mqtt", {})}
        config = edge_config(
            self.broker, self.tmp / "edge", vehicle_url=self.vehicle.url, **sections
        )
        self.agent = await self._stack.enter_async_context(
            running_agent(config, dock=sim_dock(self.vehicle))
        )

    async def _spawn_edge(self) -> None:
        env = {
            **os.environ,
            **EDGE_ENV,
            **signing_env("dock-01"),
            "OUTRIDER_SIGNING__PUBLIC_KEY": str(self.keys[1]),
            "OUTRIDER_DOCK__HARDWARE__VEHICLE_CONTROL": f"127.0.0.1:{self.vehicle.control_port}",
        }
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "outrider", "edge", "--config", str(CONFIGS / "dock-01.toml"),
            "--mqtt", self.edge_url, "--vehicle", self.vehicle.url,
            "--state-dir", str(self.tmp / "edge"),
            env=env, stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self.process is not None and self.process.returncode is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(self.process.wait(), 20)
                except TimeoutError:
                    self.process.kill()
                    await self.process.wait()
            if self._dispatch is not None:
                await self._dispatch.__aexit__(None, None, None)
                self._dispatch = None
        finally:
            await self._stack.aclose()

    # -- steps -----------------------------------------------------------------------------------

    async def docks(self) -> list[dict[str, Any]]:
        return (await self.dispatch.http.get("/api/v1/docks")).json()  # type: ignore[no-any-return]

    async def dock_ready(self, within: float = 60.0) -> None:
        """Until dispatch sees dock-01 online, fresh and ready."""

        async def ready() -> bool:
            return any(
                d["id"] == "dock-01" and d["ready"] and not d["stale"] for d in await self.docks()
            )

        await wait_for(ready, limit_s=within, every=0.2)

    async def raise_incident(self, distance_m: float = 900.0, on_scene_s: float = 40.0) -> str:
        """Raise an incident over the API; dispatch sends dock-01, which accepts."""
        scene = destination(HOME, 250.0, distance_m)
        r = await self.dispatch.http.post(
            "/api/v1/incidents",
            json={"lat": scene.lat, "lon": scene.lon, "type": "fire", "on_scene_s": on_scene_s},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["dock_id"] == "dock-01", body
        return str(body["id"])

    async def reach(self, phase: str, within: float = 60.0) -> None:
        """Until the edge reports the event that starts ``phase`` (in transit: 200 m out)."""
        await self.listener.event(PHASE_EVENT[phase], within)
        if phase == "en_route":
            await flown_out(self.listener, TRANSIT_M)

    async def restart_broker(self, down_s: float = 1.0) -> None:
        """Stop the broker, keep it down for ``down_s``, start it on the same port."""
        self.restarts["broker"] += 1
        await self.broker.restart(down_s)

    async def restart_dispatch(self, down_s: float = 1.0) -> None:
        """Stop the dispatch service cleanly and start a new one on the same store."""
        self.restarts["dispatch"] += 1
        await self.stop_dispatch()
        await asyncio.sleep(down_s)  # the outage itself
        await self._start_dispatch()

    async def stop_dispatch(self) -> None:
        """Stop the dispatch service cleanly (``start_dispatch`` brings a new one up)."""
        old, self._dispatch = self._dispatch, None
        assert old is not None
        await old.__aexit__(None, None, None)

    async def start_dispatch(self) -> None:
        """A new dispatch service on the same store."""
        await self._start_dispatch()

    async def kill_edge(self) -> None:
        """SIGKILL the edge process (no clean shutdown: the last will says offline)."""
        assert self.process is not None, "the edge runs in this process; use edge_process=True"
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def restart_edge(self) -> None:
        """Kill the edge process and start a new one on the same state directory."""
        self.restarts["edge"] += 1
        await self.kill_edge()
        await self.listener.wait(
            lambda: self.listener.of("availability")[-1].payload == b"offline", 30, "last will"
        )
        await self._spawn_edge()

    async def incident(self, incident_id: str) -> dict[str, Any]:
        r = await self.dispatch.http.get(f"/api/v1/incidents/{incident_id}")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def stored_events(self, incident_id: str) -> list[dict[str, Any]]:
        r = await self.dispatch.http.get(
            "/api/v1/events", params={"incident_id": incident_id, "limit": 1000}
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def publish_raw(self, topic: str, payload: bytes) -> None:
        await self.listener.publish(topic, payload)

    def http(self) -> httpx.AsyncClient:
        return self.dispatch.client("dispatcher")
