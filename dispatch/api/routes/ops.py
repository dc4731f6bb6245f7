"""Operations: health and Prometheus metrics (outside ``/api/v1``, no auth)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from dispatch.api.deps import RuntimeDep
from edge.errors import OutriderError

router = APIRouter(tags=["ops"])


class Health(BaseModel):
    """Whether this instance can do its job."""

    status: str
    store: str
    mqtt: str
    docks: int
    stale_docks: int


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(rt: RuntimeDep) -> Response:
    """``ok`` when the store answers and the broker is connected, else 503 ``degraded``."""
    try:
        async with asyncio.timeout(2.0):
            await rt.store.ping()
        store = "ok"
    except (TimeoutError, SQLAlchemyError, OSError, OutriderError) as exc:
        store = f"error: {exc}"[:200]
    mqtt = "connected" if rt.bus.connected.is_set() else "disconnected"
    now, fleet = rt.fleet.clock(), rt.fleet
    stale = sum(1 for v in fleet if v.stale_reason(now, fleet.stale_after_s))
    ok = store == "ok" and mqtt == "connected"
    body = Health(
        status="ok" if ok else "degraded",
        store=store,
        mqtt=mqtt,
        docks=len(fleet),
        stale_docks=stale,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(rt: RuntimeDep) -> Response:
    """Prometheus metrics of this instance."""
    now, fleet = rt.fleet.clock(), rt.fleet
    stale = sum(1 for v in fleet if v.stale_reason(now, fleet.stale_after_s))
    rt.metrics.docks.labels("stale").set(stale)
    rt.metrics.docks.labels("fresh").set(len(fleet) - stale)
    rt.metrics.mqtt_connected.set(1 if rt.bus.connected.is_set() else 0)
    return Response(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)
