"""CAD systems in: signed incident documents by adapter, and the inbox of everything received."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from dispatch.api.body import read_body
from dispatch.api.deps import Admin, RuntimeDep
from dispatch.interop.cad.base import MAX_DOCUMENT_BYTES
from dispatch.interop.intake import CadResult, InboxEntry
from dispatch.interop.signing import SIGNATURE_HEADER, SOURCE_HEADER
from dispatch.models import ErrorPublic

router = APIRouter(prefix="/cad", tags=["cad"])

REFUSALS: dict[int | str, dict[str, object]] = {
    200: {"model": CadResult, "description": "Known CAD reference: updated, closed or unchanged"},
    401: {"model": ErrorPublic, "description": "unknown_source, bad_signature or stale_request"},
    404: {"model": ErrorPublic, "description": "unknown_adapter, or closing an unknown reference"},
    409: {"model": ErrorPublic, "description": "replayed, or updating a closed incident"},
    413: {"model": ErrorPublic, "description": "too_large"},
    422: {"model": ErrorPublic, "description": "unsupported_document, no_location, invalid_field"},
}


@router.post(
    "/{adapter}", response_model=CadResult, status_code=status.HTTP_201_CREATED, responses=REFUSALS
)
async def receive(adapter: str, request: Request, rt: RuntimeDep, response: Response) -> CadResult:
    """Raise (201), update or close (200) an incident from a signed CAD document.

    Sign with the CAD system's key: ``X-Outrider-Source: <name>`` and
    ``X-Outrider-Signature: t=<unix>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>``.
    """
    body = await read_body(request, MAX_DOCUMENT_BYTES)
    result = await rt.intake.webhook(
        adapter, request.headers.get(SOURCE_HEADER), request.headers.get(SIGNATURE_HEADER), body
    )
    if result.outcome != "created":
        response.status_code = status.HTTP_200_OK
    return result


@router.get("/inbox", response_model=list[InboxEntry])
async def inbox(
    rt: RuntimeDep,
    who: Admin,
    outcome: Annotated[
        Literal["created", "updated", "closed", "unchanged", "refused"] | None, Query()
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    with_body: bool = False,
) -> list[InboxEntry]:
    """Every CAD document received, newest first; ``outcome=refused`` lists the dead letters."""
    return await rt.intake.inbox(outcome=outcome, limit=limit, with_body=with_body)
