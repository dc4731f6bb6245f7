"""Fixtures of the interoperability tests: a dispatch service that knows two CAD systems,
signed requests, the EIDO examples, and a webhook receiver of the test's own."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dispatch.config import DispatchSettings
from dispatch.interop.signing import signed_headers
from sim.net import free_tcp_port
from tests.dispatch.conftest import (  # noqa: F401  (fixtures, used by name)
    RunningDispatch,
    edge_factory,
    keys,
    make_settings,
    public_key,
    wait_for,
)

EXAMPLES = Path(__file__).parent / "examples"
EIDO_KEY = "eido-cad-key-0123456789abcdef"
GENERIC_KEY = "generic-cad-key-0123456789abcd"
CAD_SYSTEMS = [
    {"name": "met-cad", "adapter": "eido", "secret": EIDO_KEY},
    {"name": "script-cad", "adapter": "generic", "secret": GENERIC_KEY},
]
KEYS = {"eido": ("met-cad", EIDO_KEY), "generic": ("script-cad", GENERIC_KEY)}


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def cad_headers(adapter: str, body: bytes, **kw: Any) -> dict[str, str]:
    """The headers the configured CAD system of ``adapter`` signs ``body`` with."""
    source, key = KEYS[adapter]
    return {"Content-Type": "application/json", **signed_headers(source, key.encode(), body, **kw)}


async def post_cad(
    client: httpx.AsyncClient, adapter: str, body: bytes, **kw: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/cad/{adapter}", content=body, headers=cad_headers(adapter, body, **kw)
    )


@pytest.fixture
def interop_settings(
    make_settings: Callable[..., DispatchSettings],  # noqa: F811 (the fixture of that name)
) -> Callable[..., DispatchSettings]:
    """Settings with the two CAD systems and quick webhook retries."""

    def make(**interop: Any) -> DispatchSettings:
        section = {
            "force": "met",
            "cad": CAD_SYSTEMS,
            "webhooks": {"backoff_s": 0.1, "backoff_max_s": 0.4, "max_attempts": 5},
            **interop,
        }
        return make_settings(interop=section)

    return make


@pytest.fixture
async def cad_service(
    interop_settings: Callable[..., DispatchSettings],
) -> AsyncIterator[RunningDispatch]:
    async with RunningDispatch(interop_settings()) as service:
        yield service


class Receiver:
    """An HTTP server that takes webhook deliveries, failing the first ``fail_first`` of them."""

    def __init__(self, fail_first: int = 0, status: int = 503) -> None:
        self.fail_first = fail_first
        self.status = status
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        self.port = free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.got = asyncio.Event()
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan="off")
        )
        self._stack = contextlib.AsyncExitStack()

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        failing = len(self.received) < self.fail_first
        status = self.status if failing else 200
        self.received.append((dict(request.headers), body, status))
        self.got.set()
        return Response(status_code=status)

    def accepted(self) -> list[tuple[dict[str, str], dict[str, Any]]]:
        return [(h, json.loads(b)) for h, b, s in self.received if s == 200]

    async def __aenter__(self) -> Receiver:
        group = await self._stack.enter_async_context(asyncio.TaskGroup())
        group.create_task(self.server.serve())
        await wait_for(lambda: self.server.started)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await self._stack.aclose()
