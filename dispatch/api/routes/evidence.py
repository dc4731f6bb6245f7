"""Evidence: the edge's resumable upload, and for admins the audited view, segment, export
and legal hold of an incident's evidence."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from dispatch.api.body import read_body
from dispatch.api.deps import Admin, DockEdge, RuntimeDep
from dispatch.evidence.access import audited_segment, set_holds, view_evidence
from dispatch.evidence.export import export_incident
from dispatch.evidence.store import segment_key
from edge.protocol.evidence import (
    EVIDENCE_PREFIX,
    MAX_MANIFEST_BYTES,
    OFFSET_HEADER,
    SegmentStatus,
    UploadStatus,
    parse_manifest,
)

router = APIRouter(prefix=EVIDENCE_PREFIX, tags=["evidence"])

Reason = Annotated[str, Query(min_length=1, max_length=500, title="Why you open this")]


class ExportCreate(BaseModel):
    """Why the evidence is exported (recorded in the audit log and the bundle)."""

    reason: str = Field(min_length=1, max_length=500)


class HoldCreate(BaseModel):
    """Set or lift the legal hold and the evidence mark; a field left out stays as it is."""

    reason: str = Field(min_length=1, max_length=500)
    legal_hold: bool | None = None
    evidence: bool | None = None


class HoldPublic(BaseModel):
    """An incident's holds."""

    incident_id: str
    legal_hold: bool
    evidence: bool


def _offset_headers(status: SegmentStatus) -> dict[str, str]:
    return {OFFSET_HEADER: str(status.offset), "Cache-Control": "no-store"}


@router.put("/uploads/{dock_id}/{sortie_id}", response_model=UploadStatus)
async def put_manifest(
    dock_id: str, sortie_id: str, request: Request, rt: RuntimeDep, who: DockEdge
) -> UploadStatus:
    """Announce a sortie's recordings (the edge's ``manifest.json``); each segment's offset."""
    manifest = parse_manifest(await read_body(request, MAX_MANIFEST_BYTES))
    return await rt.uploads.register(dock_id, sortie_id, manifest, who)


@router.get("/uploads/{dock_id}/{sortie_id}", response_model=UploadStatus)
async def get_upload(dock_id: str, sortie_id: str, rt: RuntimeDep, who: DockEdge) -> UploadStatus:
    """Every segment's offset and state."""
    return await rt.uploads.status(dock_id, sortie_id)


@router.head("/uploads/{dock_id}/{sortie_id}/{file}")
async def head_segment(
    dock_id: str, sortie_id: str, file: str, rt: RuntimeDep, who: DockEdge
) -> Response:
    """The segment's offset in ``Upload-Offset``."""
    status = await rt.uploads.offset(dock_id, sortie_id, file)
    return Response(headers=_offset_headers(status))


@router.patch("/uploads/{dock_id}/{sortie_id}/{file}", response_model=SegmentStatus)
async def patch_segment(
    dock_id: str,
    sortie_id: str,
    file: str,
    request: Request,
    rt: RuntimeDep,
    who: DockEdge,
    upload_offset: Annotated[int, Header(alias=OFFSET_HEADER, ge=0, le=1 << 40)],
) -> Response:
    """Append a chunk at ``Upload-Offset``; the segment is hash-checked when whole."""
    data = await read_body(request, rt.settings.evidence.max_chunk_bytes)
    status = await rt.uploads.append(dock_id, sortie_id, file, upload_offset, data, who)
    return Response(
        status.model_dump_json(), media_type="application/json", headers=_offset_headers(status)
    )


@router.get("/incidents/{incident_id}", response_model=dict[str, Any])
async def view(incident_id: str, reason: Reason, rt: RuntimeDep, who: Admin) -> dict[str, Any]:
    """The incident's evidence: segments, flights, holds (audited with ``reason``)."""
    return await view_evidence(rt.store, incident_id, who.actor, reason)


@router.get(
    "/incidents/{incident_id}/segments/{sortie_id}/{file}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def segment(
    incident_id: str, sortie_id: str, file: str, reason: Reason, rt: RuntimeDep, who: Admin
) -> StreamingResponse:
    """One original segment as recorded (audited with ``reason``)."""
    row = await audited_segment(rt.store, incident_id, sortie_id, file, who.actor, reason)
    key = segment_key(row["dock_id"], sortie_id, file)
    return StreamingResponse(
        rt.segments.read(key),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{file}"'},
    )


@router.post(
    "/incidents/{incident_id}/export",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
async def export(incident_id: str, body: ExportCreate, rt: RuntimeDep, who: Admin) -> FileResponse:
    """The signed evidence bundle of the incident, as a zip (audited with ``reason``)."""
    folder = Path(tempfile.mkdtemp(prefix="outrider-export-"))
    out = folder / f"{incident_id}-evidence.zip"
    try:
        await export_incident(
            rt.store,
            rt.segments,
            rt.key,
            rt.settings.evidence.redaction,
            incident_id=incident_id,
            actor=who.actor,
            reason=body.reason,
            out=out,
        )
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, folder, True)
        raise
    return FileResponse(
        out,
        media_type="application/zip",
        filename=out.name,
        background=BackgroundTask(shutil.rmtree, folder, True),
    )


@router.put("/incidents/{incident_id}/hold", response_model=HoldPublic)
async def hold(incident_id: str, body: HoldCreate, rt: RuntimeDep, who: Admin) -> HoldPublic:
    """Place or lift a legal hold (retention deletes nothing of it) or the evidence mark."""
    holds = await set_holds(
        rt.store,
        incident_id,
        actor=who.actor,
        reason=body.reason,
        legal_hold=body.legal_hold,
        evidence=body.evidence,
    )
    return HoldPublic(incident_id=incident_id, legal_hold=holds.legal_hold, evidence=holds.evidence)
