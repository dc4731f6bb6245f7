"""The whole system on one machine: broker, dispatch, and per dock an edge agent and a vehicle.

:class:`DemoStack` is an async context manager. Entering it prepares the state directory
(keys, configs, the scene every synthetic camera renders), starts the embedded MQTT broker
unless a broker URL is given, ``outrider dispatch`` on SQLite, one vehicle per dock and
``outrider edge`` per dock, and returns once dispatch sees every dock ready. Leaving it stops
everything in reverse order: edges first (they say ``offline``), vehicles, dispatch, broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from outrider.demo.config import DemoConfig, DemoDock
from outrider.demo.demo_errors import DemoError
from outrider.demo.files import DemoTokens, RunFiles, dispatch_settings, dumps_toml, edge_settings
from outrider.demo.procs import ChildProcess, outrider_command
from outrider.demo.vehicles import VehicleLink, VehicleSource
from sim.camera import Scene

__all__ = ["DemoStack", "resolve_model"]

logger = logging.getLogger(__name__)

MARKER = ".outrider-demo"
HEALTH_TIMEOUT_S = 90.0
READY_TIMEOUT_S = 180.0
POLL_S = 0.25


def resolve_model(configured: Path | None) -> Path | None:
    """The detector model to run: the configured one, else ``$OUTRIDER_MODEL``; None if absent."""
    candidate = configured or (
        Path(os.environ["OUTRIDER_MODEL"]) if os.environ.get("OUTRIDER_MODEL") else None
    )
    if candidate is None or not candidate.is_file():
        return None
    return candidate.resolve()


def ensure_city_basemap(city: DemoConfig) -> Path | None:
    """The city's tile file, built from OpenStreetMap first when it is not there yet.

    A city without a basemap, or one that cannot be built (logged, with the reason), runs
    with a plain map and a plain camera ground: the demo never stops for want of streets.
    """
    b = city.basemap
    if b.tiles is None:
        return None
    from basemap.build import ensure_basemap
    from basemap.cli import logged_progress
    from basemap.errors import BasemapError

    if not b.tiles.is_file():
        logger.info("building the %s street map once, into %s", city.name, b.tiles)
    try:
        ensure_basemap(
            b.tiles,
            osm=b.osm,
            name=city.name,
            min_zoom=b.min_zoom,
            max_zoom=b.max_zoom,
            progress=logged_progress(f"{city.name} street map", step_pct=25),
        )
    except BasemapError as exc:
        logger.warning("no street map: %s", exc)
        return None
    return b.tiles


def prepare_state_dir(root: Path) -> RunFiles:
    """An empty state directory for this run; an earlier run's files are removed.

    Raises:
        DemoError: the folder holds files that are not a demo run's.
    """
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise DemoError(
                f"{root} is not empty and not a demo state directory; choose another --state-dir",
                code="invalid_config",
            )
        shutil.rmtree(root)
    (root / "logs").mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("state of an `outrider demo` run; removed by the next run\n")
    return RunFiles(root.resolve())


class DemoStack:
    """Every part of Outrider for a demo or a scenario run.

    Args:
        city: the demo city.
        docks: the docks to run (a prefix of the city's).
        vehicles: where the vehicles come from (sim or PX4).
        state_dir: the run's folder (wiped at start).
        speed_factor: sim speed; wall-clock figures of the configs are scaled by it.
        scene: every actor the synthetic cameras render.
        mqtt_url: an outside broker; the embedded amqtt broker when ``None``.
        port: dispatch's HTTP port (0: any free port).
        model: detector model; no video when ``None``.
    """

    def __init__(
        self,
        city: DemoConfig,
        docks: Sequence[DemoDock],
        vehicles: VehicleSource,
        state_dir: Path,
        *,
        speed_factor: float,
        scene: Scene,
        mqtt_url: str | None = None,
        port: int = 0,
        model: Path | None = None,
    ) -> None:
        self.city = city
        self.docks = list(docks)
        self.vehicles = vehicles
        self.state_dir = state_dir
        self.speed_factor = speed_factor
        self.scene = scene
        self.mqtt_url = mqtt_url or ""
        self.port = port
        self.model = model
        self.tokens = DemoTokens(*(secrets.token_urlsafe(18) for _ in range(4)))
        self.files = RunFiles(state_dir)
        self.dispatch: ChildProcess | None = None
        self.edges: list[ChildProcess] = []
        self.links: dict[str, VehicleLink] = {}
        self._stack = contextlib.AsyncExitStack()

    @property
    def url(self) -> str:
        """Base URL of dispatch (API and UI)."""
        return f"http://{self.city.dispatch.host}:{self.port}"

    def client(self, role: str = "dispatcher") -> httpx.AsyncClient:
        """An HTTP client of dispatch holding the token of ``role``."""
        token = getattr(self.tokens, role)
        return httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=15.0
        )

    def children(self) -> list[ChildProcess]:
        return [c for c in (self.dispatch, *self.edges) if c is not None]

    def check_alive(self) -> None:
        """Raise :class:`DemoError` ``child_failed`` when dispatch or an edge has exited."""
        for child in self.children():
            child.check_alive()

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    async def _start(self) -> None:
        self.files = prepare_state_dir(self.state_dir)
        tiles = await asyncio.to_thread(ensure_city_basemap, self.city)
        scene = self.scene.model_copy(update={"ground": tiles})
        self.files.scene.write_text(scene.model_dump_json(indent=1))
        from dispatch.keys import dock_keys, init_keys

        init_keys(self.files.keys)
        for dock in self.docks:
            dock_keys(self.files.keys, dock.id)
        if not self.mqtt_url:
            from sim.broker import EmbeddedBroker

            broker = await self._stack.enter_async_context(EmbeddedBroker())
            self.mqtt_url = broker.url
        await self._start_dispatch()
        links = await self._start_vehicles()
        for dock, link in zip(self.docks, links, strict=True):
            self.links[dock.id] = link
            await self._start_edge(dock, link)
        await self.wait_docks_ready(READY_TIMEOUT_S)

    async def _start_dispatch(self) -> None:
        from sim.net import free_tcp_port

        if self.port == 0:
            self.port = free_tcp_port(self.city.dispatch.host)
        else:
            _check_port_free(self.city.dispatch.host, self.port)
        settings = dispatch_settings(
            self.city,
            self.files,
            mqtt_url=self.mqtt_url,
            port=self.port,
            tokens=self.tokens,
            speed_factor=self.speed_factor,
            docks=[d.id for d in self.docks],
        )
        self.files.dispatch_config.write_text(dumps_toml(settings))
        child = ChildProcess(
            "dispatch",
            outrider_command("dispatch", "--config", str(self.files.dispatch_config)),
            self.files.logs / "dispatch.log",
            env={"PYTHONUNBUFFERED": "1"},
        )
        self.dispatch = await self._stack.enter_async_context(child)
        await self._wait_healthy(HEALTH_TIMEOUT_S)

    async def _wait_healthy(self, timeout_s: float) -> None:
        async with self.client() as http:
            try:
                async with asyncio.timeout(timeout_s):
                    while True:
                        self.check_alive()
                        with contextlib.suppress(httpx.HTTPError):
                            if (await http.get("/readyz")).status_code == 200:
                                return
                        await asyncio.sleep(POLL_S)  # no event to wait on across processes
            except TimeoutError:
                raise DemoError(
                    f"dispatch not healthy after {timeout_s:.0f} s; see {self.files.logs}",
                    code="not_ready",
                ) from None

    async def _start_vehicles(self) -> list[VehicleLink]:
        """One vehicle per dock, started together; all stopped if any fails to start."""
        cms = [self.vehicles.vehicle(d, i, self.files.logs) for i, d in enumerate(self.docks)]
        results = await asyncio.gather(*(cm.__aenter__() for cm in cms), return_exceptions=True)
        failure: BaseException | None = None
        links = []
        for cm, result in zip(cms, results, strict=True):
            if isinstance(result, BaseException):
                failure = failure or result
            else:
                self._stack.push_async_exit(cm)
                links.append(result)
        if failure is not None:
            raise failure
        return links

    async def _start_edge(self, dock: DemoDock, link: VehicleLink) -> None:
        settings = edge_settings(
            self.city,
            dock,
            self.files,
            mqtt_url=self.mqtt_url,
            vehicle_url=link.url,
            charger=link.charger,
            dispatch_url=self.url,
            tokens=self.tokens,
            speed_factor=self.speed_factor,
            model=self.model,
            px4=self.vehicles.real_time_only,
        )
        path = self.files.edge_config(dock.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps_toml(settings))
        child = ChildProcess(
            f"edge {dock.id}",
            outrider_command("edge", "--config", str(path)),
            self.files.logs / f"edge-{dock.id}.log",
            env={"PYTHONUNBUFFERED": "1"},
        )
        self.edges.append(await self._stack.enter_async_context(child))

    async def docks_view(self, http: httpx.AsyncClient) -> list[dict[str, Any]]:
        """Dispatch's view of the fleet (``GET /api/v1/docks``)."""
        response = await http.get("/api/v1/docks")
        response.raise_for_status()
        docks: list[dict[str, Any]] = response.json()
        return docks

    async def wait_docks_ready(self, timeout_s: float) -> None:
        """Return once dispatch sees every dock online, fresh and ready.

        Raises:
            DemoError: ``not_ready`` naming the docks that are not, with their reasons.
        """
        wanted = {d.id for d in self.docks}
        seen: dict[str, str] = {}
        async with self.client() as http:
            try:
                async with asyncio.timeout(timeout_s):
                    while True:
                        self.check_alive()
                        with contextlib.suppress(httpx.HTTPError):
                            seen = _not_ready(await self.docks_view(http), wanted)
                            if not seen:
                                return
                        await asyncio.sleep(POLL_S)  # dispatch's fleet view, polled
            except TimeoutError:
                why = "; ".join(f"{k}: {v}" for k, v in sorted(seen.items())) or "no answer"
                raise DemoError(
                    f"docks not ready after {timeout_s:.0f} s ({why}); logs in {self.files.logs}",
                    code="not_ready",
                ) from None


def _not_ready(view: list[dict[str, Any]], wanted: set[str]) -> dict[str, str]:
    """The wanted docks that are not ready yet, each with why."""
    by_id = {d["id"]: d for d in view}
    out = {}
    for dock_id in wanted:
        d = by_id.get(dock_id)
        if d is None:
            out[dock_id] = "not seen yet"
        elif d["stale"] or not d["ready"]:
            reasons = [r.get("reason", "") for r in d.get("not_ready", [])]
            out[dock_id] = d.get("stale_reason") or "; ".join(reasons) or "not ready"
    return out


def _check_port_free(host: str, port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            raise DemoError(
                f"port {port} on {host} is in use; pass --port 0 for any free port",
                code="port_busy",
            ) from None
