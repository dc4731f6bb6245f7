"""The FastAPI application of dispatch: API, ops endpoints, UI, one error handler."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.api import api_router
from dispatch.api.error_handlers import install_handlers
from dispatch.api.middleware import RequestGuard, SecurityHeaders
from dispatch.api.routes import ops, pages, public
from dispatch.metrics import Metrics
from dispatch.runtime import Runtime
from edge.protocol.video import API_PREFIX

__all__ = ["API_PREFIX", "create_app"]


def _version() -> str:
    """The installed distribution's version (dispatch does not import the command line)."""
    try:
        return metadata.version("outrider")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


class TimingMiddleware:
    """Counts every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.metrics.http.labels(scope["method"], path, str(status)).observe(
                time.perf_counter() - start
            )


def create_app(runtime: Runtime) -> FastAPI:
    """The app serving ``runtime``; the runtime starts and stops with the app's lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime:
            yield

    app = FastAPI(
        title="Outrider dispatch",
        version=_version(),
        summary="Incidents in, best dock out, fleet state, live video, timeline and audit log.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        docs_url=None,  # served by pages.api_docs from the package, not from a CDN
        redoc_url=None,
        max_body_size=runtime.settings.limits.max_body_bytes,
    )
    app.state.runtime = runtime
    install_handlers(app)
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(ops.router)
    app.include_router(pages.router)
    app.include_router(public.router)
    app.mount("/ui", StaticFiles(directory=pages.UI), name="ui")
    app.add_middleware(RequestGuard, runtime=runtime)
    app.add_middleware(TimingMiddleware, metrics=runtime.metrics)
    app.add_middleware(SecurityHeaders, tile_url=runtime.settings.map.tile_url)
    return app
