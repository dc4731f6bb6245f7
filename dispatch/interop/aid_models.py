"""Wire models of mutual aid between forces, and the one policy of when to ask."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dispatch.interop.config import PeerConfig
from dispatch.models import DockReasonPublic, IncidentRecord

__all__ = [
    "AID_PREFIX",
    "AidAnswer",
    "AidIncident",
    "AidRecordPublic",
    "AidRequest",
    "AidVideo",
    "aid_ref",
    "should_ask",
]

AID_PREFIX = "aid:"


def aid_ref(force: str, incident_id: str) -> str:
    """The CAD reference under which a lending force raises a neighbour's incident."""
    return f"{AID_PREFIX}{force}:{incident_id}"


def should_ask(peer: PeerConfig, incident: IncidentRecord, *, could_queue: bool) -> bool:
    """Whether to ask ``peer`` for a dock for ``incident`` now that none of ours can go.

    Never for an incident we fly for a neighbour (no chains of lending); only for types the
    agreement names; and, where the incident could wait in our own queue, only when the
    agreement says to ask before queueing.
    """
    if not peer.ask or (incident.cad_ref or "").startswith(AID_PREFIX):
        return False
    if "*" not in peer.ask_types and incident.type not in peer.ask_types:
        return False
    return peer.ask_before_queue or not could_queue


class AidIncident(BaseModel):
    """The incident a force asks a neighbour to fly to."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    id: str = Field(min_length=1, max_length=40)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    type: str = Field(min_length=1, max_length=64)
    priority: int = Field(2, ge=1, le=5)
    description: str | None = Field(None, max_length=2000)
    on_scene_s: float | None = Field(None, ge=0, le=4 * 3600)


class AidRequest(BaseModel):
    """``POST /api/v1/aid/requests``: please fly to this incident."""

    model_config = ConfigDict(extra="ignore")

    incident: AidIncident


class AidVideo(BaseModel):
    """How the asking force's viewers watch: a link the lending force issued, scoped to the
    incident and to the rendition the agreement allows."""

    url: str
    rendition: Literal["raw", "redacted"]
    expires_at: AwareDatetime


class AidAnswer(BaseModel):
    """The lending force's answer: its incident, dock and ETA, or why not (``docks``)."""

    accepted: bool
    force: str
    incident_id: str | None = None
    status: str | None = None
    dock_id: str | None = None
    eta_s: float | None = None
    code: str | None = None
    reason: str | None = None
    docks: list[DockReasonPublic] = []
    video: AidVideo | None = None


class AidRecordPublic(BaseModel):
    """One cross-force request as either side keeps it (``asked`` or ``lent``)."""

    direction: Literal["asked", "lent"]
    peer: str
    incident_id: str
    remote_incident_id: str | None
    status: str
    dock_id: str | None
    eta_s: float | None
    reasons: list[dict[str, Any]]
    video: AidVideo | None
    last_update: int = Field(0, description="Newest update id taken from the neighbour")
    created_at: AwareDatetime
    updated_at: AwareDatetime
