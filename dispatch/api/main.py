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
    evidence,
    incidents,
    links,
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
    403: {**ERROR, "description": "Role or link does not allow this, or another site's page"},
    413: {**ERROR, "description": "Request body over the limit"},
    422: {**ERROR, "description": "Invalid field"},
    429: {**ERROR, "description": "Too many requests or failed sign-ins; see Retry-After"},
}
EXTRA: dict[str, dict[int | str, dict[str, Any]]] = {
    "incidents": {
        404: {**ERROR, "description": "No such incident"},
        409: {**ERROR, "description": "Refused by the dock or not possible now"},
        503: {**ERROR, "description": "Broker or store unavailable"},
        504: {**ERROR, "description": "The dock did not acknowledge in time"},
    },
    "links": {
        404: {**ERROR, "description": "No such incident or link"},
        409: {**ERROR, "description": "The incident is closed"},
    },
    "docks": {404: {**ERROR, "description": "No such dock"}},
    "video": {404: {**ERROR, "description": "No such incident or no video yet"}},
    "evidence": {
        404: {**ERROR, "description": "No such incident, upload or segment"},
        409: {**ERROR, "description": "offset_mismatch or manifest_conflict"},
        413: {**ERROR, "description": "Manifest, chunk or segment too large"},
    },
    "subscriptions": {404: {**ERROR, "description": "No such subscription or delivery"}},
    "aid": {404: {**ERROR, "description": "No such incident under the agreement"}},
}

api_router = APIRouter()
for router in (
    incidents.router,
    links.router,
    docks.router,
    events.router,
    video.router,
    evidence.router,
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
