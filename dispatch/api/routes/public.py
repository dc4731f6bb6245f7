"""The public pages and feeds: the flight register and the AI register, without login."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response

from dispatch.api.deps import RuntimeDep
from dispatch.api.routes.pages import UI
from dispatch.runtime import Runtime
from dispatch.service_errors import NotFoundError
from dispatch.transparency.ai import ai_register
from dispatch.transparency.flights import (
    FlightRegister,
    RegisterPublic,
    flights_csv,
    flights_geojson,
)

router = APIRouter(prefix="/public", tags=["public"])
PAGES = UI / "public"
CACHE = {"Cache-Control": "public, max-age=300"}


def _register(rt: Runtime) -> FlightRegister:
    if not rt.settings.public.enabled:
        raise NotFoundError("the public register is not enabled")
    secret = rt.settings.secret.get_secret_value().encode()
    return FlightRegister(rt.store, rt.settings.public, secret)


@router.get("/", include_in_schema=False)
async def register_page() -> FileResponse:
    """The flight register page."""
    return FileResponse(PAGES / "index.html", headers=CACHE)


@router.get("/ai", include_in_schema=False)
async def ai_page() -> FileResponse:
    """The AI register page."""
    return FileResponse(PAGES / "ai.html", headers=CACHE)


@router.get("/flights.json", response_model=RegisterPublic)
async def flights_json(rt: RuntimeDep) -> JSONResponse:
    """Completed flights, published after the delay."""
    register, _ = await _register(rt).build()
    return JSONResponse(register.model_dump(), headers=CACHE)


@router.get("/flights.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def flights_csv_feed(rt: RuntimeDep) -> Response:
    """The same flights as CSV."""
    register, _ = await _register(rt).build()
    return Response(flights_csv(register), media_type="text/csv; charset=utf-8", headers=CACHE)


@router.get(
    "/flights.geojson",
    response_class=JSONResponse,
    responses={200: {"content": {"application/geo+json": {"schema": {"type": "object"}}}}},
)
async def flights_geojson_feed(rt: RuntimeDep) -> JSONResponse:
    """The same flights as GeoJSON, with generalised paths."""
    register, paths = await _register(rt).build()
    return JSONResponse(
        flights_geojson(register, paths), media_type="application/geo+json", headers=CACHE
    )


@router.get("/ai.json", response_model=dict[str, Any])
async def ai_json(rt: RuntimeDep) -> JSONResponse:
    """The AI register (after the UK Algorithmic Transparency Recording Standard)."""
    document = await asyncio.to_thread(ai_register, rt.settings.public, rt.settings.evidence)
    return JSONResponse(document, headers=CACHE)
