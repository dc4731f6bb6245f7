"""Fixtures of the dispatch tests: keys, settings, a running service, scripted edges."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dispatch.app import create_app
from dispatch.config import DispatchSettings, load_settings
from dispatch.keys import init_keys
from dispatch.runtime import Runtime
from edge.protocol.signing import load_public_key
from sim.broker import LocalBroker
from sim.net import free_tcp_port
from tests.dispatch.edges import EdgeSpec, ScriptedEdge
from tests.keys import registered

TOKENS = {
    "admin": "admin-token",
    "dispatcher": "dispatcher-token",
    "viewer": "viewer-token",
    "edge": "edge-token",
    "metrics": "metrics-token",
}
LONDON = (51.5074, -0.1278)


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return init_keys(tmp_path / "keys")


@pytest.fixture
def public_key(keys: tuple[Path, Path]) -> Ed25519PublicKey:
    return load_public_key(keys[1])


@pytest.fixture
def make_settings(
    tmp_path: Path, keys: tuple[Path, Path], broker: LocalBroker
) -> Callable[..., DispatchSettings]:
    """Settings for a test service: the test broker, a fresh SQLite file, short timeouts."""

    def make(**overrides: Any) -> DispatchSettings:
        dispatch = {"ack_timeout_s": 1.0, "stale_after_s": 2.0, **overrides.pop("dispatch", {})}
        base: dict[str, Any] = {
            "mqtt_url": broker.url,
            "db_url": f"sqlite:///{tmp_path / 'dispatch.db'}",
            "signing_key": keys[0],
            "secret": "test-secret-test-secret",
            "log_format": "text",
            "dispatch": dispatch,
            "tokens": [{"name": f"{r}-1", "role": r, "token": t} for r, t in TOKENS.items()],
            "docks": registered(),
        }
        return load_settings(None, **{**base, **overrides})

    return make


class RunningDispatch:
    """A dispatch service on uvicorn, on a free port, with an HTTP client for each role."""

    def __init__(self, settings: DispatchSettings, port: int | None = None) -> None:
        self.settings = settings
        self.runtime = Runtime(settings)
        self.port = port or free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(self.runtime),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self._stack = contextlib.AsyncExitStack()

    def client(self, role: str | None = "dispatcher") -> httpx.AsyncClient:
        headers = bearer(role) if role else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=20.0)

    async def __aenter__(self) -> RunningDispatch:
        group = await self._stack.enter_async_context(asyncio.TaskGroup())
        self._task = group.create_task(self.server.serve())
        async with asyncio.timeout(15):
            while not self.server.started:
                if self._task.done():
                    raise RuntimeError("dispatch did not start")
                await asyncio.sleep(0.02)
            await self.runtime.bus.connected.wait()
        self.http = await self._stack.enter_async_context(self.client("dispatcher"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await self._stack.aclose()


@pytest.fixture
async def dispatch_service(
    make_settings: Callable[..., DispatchSettings],
) -> AsyncIterator[RunningDispatch]:
    async with RunningDispatch(make_settings()) as service:
        yield service


@pytest.fixture
def edge_factory(
    broker: LocalBroker, public_key: Ed25519PublicKey
) -> Callable[..., contextlib.AbstractAsyncContextManager[ScriptedEdge]]:
    """``async with edge_factory("dock-01", lat, lon, **spec) as edge``."""

    def make(dock_id: str, lat: float, lon: float, **spec: Any) -> ScriptedEdge:
        return ScriptedEdge(broker.url, EdgeSpec(dock_id, lat, lon, **spec), public_key)

    return make


async def wait_for(predicate: Callable[[], Any], limit_s: float = 10.0, every: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy (for state seen over HTTP/MQTT)."""
    async with asyncio.timeout(limit_s):
        while True:
            value = predicate()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            await asyncio.sleep(every)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards (skips when unreachable)."""
    import uuid

    import asyncpg

    try:
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test", timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (user postgres, db test)")
    name = f"outrider_test_{uuid.uuid4().hex[:10]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# -- a real Chromium for the UI tests ---------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(
    os.environ.get("OUTRIDER_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts")
)


def ensure_chromium() -> str:
    """Debian's Chromium, installed with apt-get when missing and allowed (root)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("Chromium is not installed (apt-get install chromium, as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"could not install Chromium: {done.stderr[-300:]}")
    return CHROMIUM


def ensure_tool(binary: str, package: str) -> str:
    """A program from Debian's packages, installed with apt-get when missing and allowed (root);
    the test skips, saying so, when it cannot be had."""
    found = shutil.which(binary) or shutil.which(f"/usr/sbin/{binary}")
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{binary} is not installed (apt-get install {package}, as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", package]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"could not install {package}: {done.stderr[-300:]}")
    found = shutil.which(binary) or shutil.which(f"/usr/sbin/{binary}")
    if found is None:
        pytest.skip(f"{package} installed no {binary}")
    return found


@pytest.fixture(scope="module")
def chromium() -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ensure_chromium()


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()
