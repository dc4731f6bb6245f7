"""Operations: health (open, saying no more than ok or not) and Prometheus metrics (a
``metrics`` or ``admin`` token), outside ``/api/v1``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from dispatch.api.deps import RuntimeDep, authenticate
from dispatch.models import ErrorPublic
from dispatch.service_errors import ForbiddenError
from edge.errors import OutriderError

router = APIRouter(tags=["ops"])
logger = logging.getLogger(__name__)


class Health(BaseModel):
    """Whether this instance can do its job."""

    status: str
    store: str
    mqtt: str
    docks: int
    stale_docks: int


REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorPublic, "description": "A NUL byte in the URL"},
    429: {"model": ErrorPublic, "description": "Too many requests from this address"},
}


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}, **REFUSED})
async def healthz(rt: RuntimeDep) -> Response:
    """``ok`` when the store answers and the broker is connected, else 503 ``degraded``."""
    try:
        async with asyncio.timeout(2.0):
            await rt.store.ping()
        store = "ok"
    except (TimeoutError, SQLAlchemyError, OSError, OutriderError) as exc:
        # the reason goes to the log, not to anyone who asks: it may name hosts and users
        logger.warning("health check: store does not answer: %s", exc)
        store = f"error: {type(exc).__name__}"
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


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}},
        401: {"model": ErrorPublic, "description": "No valid token"},
        403: {"model": ErrorPublic, "description": "Not a metrics or admin token"},
        **REFUSED,
    },
)
async def metrics(rt: RuntimeDep, request: Request) -> Response:
    """Prometheus metrics of this instance (``Authorization: Bearer`` a metrics or admin token)."""
    who = await authenticate(request, rt)
    if who.role not in ("metrics", "admin") or who.incident_id is not None:
        raise ForbiddenError("metrics need a metrics or admin token")
    now, fleet = rt.fleet.clock(), rt.fleet
    stale = sum(1 for v in fleet if v.stale_reason(now, fleet.stale_after_s))
    rt.metrics.docks.labels("stale").set(stale)
    rt.metrics.docks.labels("fresh").set(len(fleet) - stale)
    rt.metrics.mqtt_connected.set(1 if rt.bus.connected.is_set() else 0)
    return Response(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)
