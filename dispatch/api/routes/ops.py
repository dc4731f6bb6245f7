"""Operations: liveness and readiness (open, saying no more than ok or not) and Prometheus
metrics (a ``metrics`` or ``admin`` token), outside ``/api/v1``.

``/healthz`` is liveness: 200 while the process serves requests, whatever its store or broker
are doing (restarting it would not bring them back). ``/readyz`` is readiness, for a load
balancer: 200 only when the store answers, the broker is connected and the instance is not
draining (after SIGTERM), else 503. The video bus between instances is reported but does not
count: without it each instance still relays its own uplinks to its own viewers.
"""

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
from dispatch.runtime import Runtime
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
    draining: bool = False
    video_bus: str = "local"


REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorPublic, "description": "A NUL byte in the URL"},
    429: {"model": ErrorPublic, "description": "Too many requests from this address"},
}


async def _store_state(rt: Runtime) -> str:
    try:
        async with asyncio.timeout(2.0):
            await rt.store.ping()
    except (TimeoutError, SQLAlchemyError, OSError, OutriderError) as exc:
        # the reason goes to the log, not to anyone who asks: it may name hosts and users
        logger.warning("health check: store does not answer: %s", exc)
        return f"error: {type(exc).__name__}"
    return "ok"


def _health(rt: Runtime, status: str, store: str) -> Health:
    now, fleet = rt.fleet.clock(), rt.fleet
    stale = sum(1 for v in fleet if v.stale_reason(now, fleet.stale_after_s))
    return Health(
        status=status,
        store=store,
        mqtt="connected" if rt.bus.connected.is_set() else "disconnected",
        docks=len(fleet),
        stale_docks=stale,
        draining=rt.draining,
        video_bus=_video_bus_state(rt),
    )


def _video_bus_state(rt: Runtime) -> str:
    if not rt.settings.cluster.video_bus:
        return "local"
    return "connected" if rt.video.bus.connected else "disconnected"


@router.get("/healthz", response_model=Health, responses={**REFUSED})
async def healthz(rt: RuntimeDep) -> Health:
    """Liveness: ``ok`` while the process serves; the store and broker as they stand."""
    return _health(rt, "ok", await _store_state(rt))


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}, **REFUSED})
async def readyz(rt: RuntimeDep) -> Response:
    """Readiness: ``ok`` when the store answers, the broker is connected and the instance is
    not draining, else 503 ``not_ready``."""
    store = await _store_state(rt)
    ready = store == "ok" and rt.bus.connected.is_set() and not rt.draining
    body = _health(rt, "ok" if ready else "not_ready", store)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


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
