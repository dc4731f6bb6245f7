"""The v1 API router: one router per resource."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dispatch.api.routes import (
    aid,
    audit,
    auth,
    cad,
    docks,
    events,
    incidents,
    map,
    subscriptions,
    video,
)
from dispatch.models import ErrorPublic

__all__ = ["api_router"]

ERROR: dict[str, Any] = {"model": ErrorPublic}
COMMON: dict[int | str, dict[str, Any]] = {
    400: {**ERROR, "description": "Malformed request"},
    401: {**ERROR, "description": "No valid token, session or link"},
    403: {**ERROR, "description": "Role or link does not allow this"},
    422: {**ERROR, "description": "Invalid field"},
}
EXTRA: dict[str, dict[int | str, dict[str, Any]]] = {
    "incidents": {
        404: {**ERROR, "description": "No such incident"},
        409: {**ERROR, "description": "Refused by the dock or not possible now"},
        503: {**ERROR, "description": "Broker or store unavailable"},
        504: {**ERROR, "description": "The dock did not acknowledge in time"},
    },
    "docks": {404: {**ERROR, "description": "No such dock"}},
    "video": {404: {**ERROR, "description": "No such incident or no video yet"}},
    "subscriptions": {404: {**ERROR, "description": "No such subscription or delivery"}},
    "aid": {404: {**ERROR, "description": "No such incident under the agreement"}},
}

api_router = APIRouter()
for router in (
    incidents.router,
    docks.router,
    events.router,
    video.router,
    audit.router,
    auth.router,
    map.router,
    cad.router,
    subscriptions.router,
    subscriptions.stream_router,
    aid.router,
):
    tag = str(router.tags[0])
    api_router.include_router(router, responses={**COMMON, **EXTRA.get(tag, {})})
