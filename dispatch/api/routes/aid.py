"""Mutual aid between forces: a neighbour's signed requests, updates, recalls; our view of them."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import BaseModel

from dispatch.api.body import read_body
from dispatch.api.deps import RuntimeDep, Viewer
from dispatch.interop.aid_models import AidAnswer, AidRecordPublic
from dispatch.interop.signing import SIGNATURE_HEADER, SOURCE_HEADER
from dispatch.models import CommandPublic, ErrorPublic, IncidentPublic, NoDockPublic

router = APIRouter(prefix="/aid", tags=["aid"])

MAX_BODY = 64 * 1024
SIGNED: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorPublic, "description": "unknown_source, bad_signature or stale_request"},
    409: {"model": ErrorPublic, "description": "replayed"},
}

ORDER: dict[int | str, dict[str, object]] = {
    **SIGNED,
    422: {"model": ErrorPublic, "description": "invalid_field: the signed body orders otherwise"},
}


class UpdateTaken(BaseModel):
    """Whether a pushed update was new (``false``: already had it)."""

    taken: bool


async def _signed(request: Request) -> tuple[str | None, str | None, bytes]:
    body = await read_body(request, MAX_BODY)
    return request.headers.get(SOURCE_HEADER), request.headers.get(SIGNATURE_HEADER), body


@router.post(
    "/requests",
    response_model=AidAnswer,
    status_code=status.HTTP_201_CREATED,
    responses={
        **SIGNED,
        403: {"model": ErrorPublic, "description": "not_in_agreement"},
        409: {"model": NoDockPublic, "description": "No lent dock can go; every dock's reason"},
    },
)
async def request_aid(request: Request, rt: RuntimeDep) -> AidAnswer:
    """A neighbouring force asks us to fly to its incident; we decide with our own fleet."""
    source, signature, body = await _signed(request)
    peer = rt.lender.check(source, signature, body)
    base = rt.settings.public_url or str(request.base_url)
    return await rt.lender.request(peer, body, base)


@router.post("/updates", response_model=UpdateTaken, responses=SIGNED)
async def take_update(request: Request, rt: RuntimeDep) -> UpdateTaken:
    """A neighbour flying for one of our incidents pushes an update (a GeoJSON feature)."""
    source, signature, body = await _signed(request)
    return UpdateTaken(taken=await rt.aid.take_update(source, signature, body))


@router.post("/incidents/{incident_id}/recall", response_model=CommandPublic, responses=ORDER)
async def recall(incident_id: str, request: Request, rt: RuntimeDep) -> CommandPublic:
    """The neighbour recalls the drone we sent for it."""
    source, signature, body = await _signed(request)
    peer = rt.lender.check_order(source, signature, body, incident_id, "recall")
    return await rt.lender.recall(peer, incident_id)


@router.post("/incidents/{incident_id}/close", response_model=IncidentPublic, responses=ORDER)
async def close(incident_id: str, request: Request, rt: RuntimeDep) -> IncidentPublic:
    """The neighbour closed its incident; ours closes too (recalling the drone if out)."""
    source, signature, body = await _signed(request)
    peer = rt.lender.check_order(source, signature, body, incident_id, "close")
    return IncidentPublic.of(await rt.lender.close(peer, incident_id))


@router.get("/incidents/{incident_id}", response_model=list[AidRecordPublic])
async def aid_of(incident_id: str, rt: RuntimeDep, who: Viewer) -> list[AidRecordPublic]:
    """Every cross-force request about one of our incidents: asked of neighbours, or lent.

    The neighbour's video link is shown only to a caller whose role may see its rendition
    (a raw link to raw-video roles), as our own video routes decide.
    """
    asked = await rt.aid.records.rows(direction="asked", incident_id=incident_id)
    lent = await rt.aid.records.rows(direction="lent", remote_incident_id=incident_id)
    return [
        r.model_copy(update={"video": None})
        if r.video is not None and r.video.rendition == "raw" and not who.raw_video
        else r
        for r in asked + lent
    ]
