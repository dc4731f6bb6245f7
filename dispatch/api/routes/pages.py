"""The web UI pages: the control room at ``/``, the officer view at ``/view/{id}``, and the API
reference at ``/docs`` (Swagger UI vendored into the package, never from a CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

UI = Path(__file__).resolve().parents[2] / "ui"
router = APIRouter(include_in_schema=False)


@router.get("/")
async def control_room() -> FileResponse:
    """The control-room page (signs in with an API token)."""
    return FileResponse(UI / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/view/{incident_id}")
async def officer_view(incident_id: str) -> FileResponse:
    """The officer's phone page; its data calls carry the link's ``token``."""
    return FileResponse(UI / "view.html", headers={"Cache-Control": "no-cache"})


@router.get("/docs")
async def api_docs() -> FileResponse:
    """The interactive API reference (reads ``/openapi.json``)."""
    return FileResponse(UI / "docs.html", headers={"Cache-Control": "no-cache"})
