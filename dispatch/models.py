"""Models of the dispatch service: what the store keeps and what the API takes and gives.

Records (``*Record``) are rows; ``*Create`` models are request bodies; ``*Public`` models are
response bodies. The wire shape is never the table.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from edge.protocol import Reason

__all__ = [
    "AuditEntryPublic",
    "AuditReportPublic",
    "BasemapPublic",
    "CommandPublic",
    "CommandRecord",
    "DetectionPublic",
    "DockPublic",
    "DockReasonPublic",
    "ErrorPublic",
    "EtaPublic",
    "EventPublic",
    "IncidentCreate",
    "IncidentDetail",
    "IncidentPreview",
    "IncidentPublic",
    "IncidentRecord",
    "IncidentStatus",
    "LinkCreate",
    "LinkInfo",
    "LinkPublic",
    "LoginCreate",
    "MapPublic",
    "NoDockPublic",
    "PrincipalPublic",
    "PriorityUpdate",
    "QueuePublic",
    "RetaskCreate",
    "TimelineEntry",
    "TimelineRecord",
    "ViewerStats",
]

Lat = Field(ge=-90, le=90)
Lon = Field(ge=-180, le=180)


def _no_nul(text: str) -> str:
    # PostgreSQL cannot store NUL in text: refused here with a coded 422, not a 500 there
    if "\x00" in text:
        raise ValueError("text may not hold NUL bytes")
    return text


Text = Annotated[str, AfterValidator(_no_nul)]


class IncidentStatus(StrEnum):
    """Where an incident stands, from raising to closing."""

    DISPATCHING = "dispatching"
    QUEUED = "queued"
    UNASSIGNED = "unassigned"
    DISPATCHED = "dispatched"
    LAUNCHING = "launching"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RETURNING = "returning"
    COMPLETED = "completed"
    ABORTED = "aborted"
    FAILSAFE = "failsafe"
    CLOSED = "closed"


class _Record(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class IncidentRecord(_Record):
    """An incident as stored."""

    id: str
    cad_ref: str | None
    lat: float
    lon: float
    type: str
    priority: int
    description: str | None
    address: str | None = None
    status: IncidentStatus
    dock_id: str | None
    sortie_id: str | None
    eta_s: float | None
    target_lat: float
    target_lon: float
    alt_rel_m: float | None
    on_scene_s: float
    created_by: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class TimelineRecord(_Record):
    """One line of an incident's timeline as stored."""

    seq: int
    incident_id: str
    at: datetime
    kind: Literal["incident", "dispatch", "command", "ack", "event", "note"]
    type: str
    dock_id: str | None
    code: str | None
    text: str
    detail: dict[str, Any]


class CommandRecord(_Record):
    """A command sent to a dock, with its ack once it came."""

    id: str
    dock_id: str
    type: str
    incident_id: str | None
    actor: str
    issued_at: datetime
    expires_at: datetime
    body: dict[str, Any]
    signed: bool
    ack_ok: bool | None
    ack_code: str | None
    ack_reason: str | None
    acked_at: datetime | None
    ack_sortie_id: str | None = None
    gave_up_at: datetime | None = None


class IncidentCreate(BaseModel):
    """A new incident; ``cad_ref`` makes the request idempotent."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    lat: float = Lat
    lon: float = Lon
    type: Text = Field(min_length=1, max_length=64, examples=["burglary"])
    priority: int = Field(2, ge=1, le=5, title="1 is most urgent")
    description: Text | None = Field(None, max_length=2000)
    address: Text | None = Field(None, max_length=500, title="Where, in words")
    cad_ref: Text | None = Field(None, min_length=1, max_length=128, title="CAD system reference")
    on_scene_s: float | None = Field(None, ge=0, le=4 * 3600, title="Time to stay on scene")
    alt_rel_m: float | None = Field(None, gt=0, le=120, title="Altitude above home")


class RetaskCreate(BaseModel):
    """A new target for the sortie in flight."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    lat: float = Lat
    lon: float = Lon
    alt_rel_m: float | None = Field(None, gt=0, le=120)


class PriorityUpdate(BaseModel):
    """A new priority for an open incident (a queued one moves in the queue with it)."""

    model_config = ConfigDict(extra="forbid")

    priority: int = Field(ge=1, le=5, title="1 is most urgent")


class DockReasonPublic(BaseModel):
    """Why one dock cannot take an incident."""

    dock_id: str
    code: str
    reason: str


class QueuePublic(BaseModel):
    """Where a queued incident stands: its place, the expected wait, the docks it waits for."""

    position: int = Field(ge=1, title="1 is next")
    expected_wait_s: float | None = Field(
        None, description="Until a dock that can take it should be ready; null when unknown"
    )
    docks: list[DockReasonPublic] = Field(
        description="The docks that could take it once ready, and why each cannot now"
    )


class IncidentPreview(BaseModel):
    """What raising an incident would do now, worked out without sending anything."""

    outcome: Literal["dispatch", "queue", "refuse"] = Field(
        description="dispatch: a dock can go now; queue: none now, one once ready; refuse: none"
    )
    dock_id: str | None = Field(None, description="The dock that would be sent")
    eta_s: float | None = Field(None, description="Dispatch to on scene, seconds")
    distance_m: float | None = None
    route_m: float | None = Field(None, description="The route out, around the no-fly zones")
    needed_pct: float | None = None
    battery_pct: float | None = None
    route: list[dict[str, float]] = Field(
        default_factory=list, description="The route out, from the dock to the scene"
    )
    docks: list[DockReasonPublic] = Field(
        default_factory=list,
        description="queue: the docks it would wait for; refuse: every dock's reason",
    )


class TimelineEntry(BaseModel):
    """One line of a timeline."""

    at: AwareDatetime
    kind: str
    type: str
    dock_id: str | None = None
    code: str | None = None
    text: str
    detail: dict[str, Any] = Field(default_factory=dict)


class IncidentPublic(BaseModel):
    """An incident as the API shows it."""

    id: str
    cad_ref: str | None
    lat: float
    lon: float
    type: str
    priority: int
    description: str | None
    address: str | None = None
    status: IncidentStatus
    dock_id: str | None
    sortie_id: str | None
    eta_s: float | None
    target: dict[str, float]
    created_at: AwareDatetime
    updated_at: AwareDatetime
    closed_at: AwareDatetime | None
    queue: QueuePublic | None = Field(None, description="Set while the incident is queued")

    @classmethod
    def of(cls, r: IncidentRecord) -> IncidentPublic:
        data = r.model_dump(exclude={"target_lat", "target_lon", "alt_rel_m", "on_scene_s"})
        return cls(**data, target={"lat": r.target_lat, "lon": r.target_lon})


class EtaPublic(BaseModel):
    """When the incident's drone will be on scene, worked out now from its telemetry.

    Before it is on scene: distance to go over its ground speed (never under half its cruise
    speed, so a drone turning or speeding up does not read as never arriving), plus the climb
    left; on the pad, the launch left plus the planned flight. On scene: since when, and the
    time left there.
    """

    state: Literal["before_launch", "en_route", "on_scene"]
    to_scene_s: float | None = Field(None, description="Seconds to go until on scene")
    arrive_at: AwareDatetime | None = Field(None, description="Clock time on scene")
    distance_m: float | None = Field(None, description="Straight line to the scene")
    ground_speed_mps: float | None = None
    on_scene_since: AwareDatetime | None = None
    on_scene_for_s: float | None = Field(None, description="Seconds on scene so far")
    on_scene_left_s: float | None = None
    basis: Literal["telemetry", "plan"]


class IncidentDetail(IncidentPublic):
    """An incident with its timeline, oldest line first, and its live ETA while it has one."""

    timeline: list[TimelineEntry]
    eta: EtaPublic | None = None


class ErrorPublic(BaseModel):
    """Every error body: a machine-readable code and a human reason."""

    code: str
    reason: str


class NoDockPublic(BaseModel):
    """The 409 body when no dock can go."""

    code: str
    reason: str
    incident_id: str | None
    docks: list[DockReasonPublic]


class CommandPublic(BaseModel):
    """A command and how the dock answered."""

    id: str
    type: str
    dock_id: str
    ok: bool
    code: str
    reason: str


class DockPublic(BaseModel):
    """A dock as the fleet view knows it; ``stale`` docks are not trusted for dispatch."""

    id: str
    availability: Literal["online", "offline", "unknown"]
    stale: bool
    stale_reason: str | None
    phase: str | None
    ready: bool
    not_ready: list[Reason]
    sortie_id: str | None
    incident_id: str | None
    battery_pct: float | None
    home: dict[str, float] | None
    position: dict[str, float] | None
    heading_deg: float | None
    ground_speed_mps: float | None
    in_air: bool
    flight_mode: str | None
    scene_in_view: float | None = Field(
        None, title="Share of the dock's recent frames with its incident in the picture"
    )
    telemetry_age_s: float | None
    max_range_m: float | None
    reach_m: float | None = Field(
        None, description="How far it can go now, out and back with its reserve, at its charge"
    )
    wind_mps: float | None
    footprint: list[dict[str, float]] = Field(
        default_factory=list,
        description="The ground the camera shows now: four {lat, lon} corners (near left, near "
        "right, far right, far left), none while not flying or without live video",
    )


class EventPublic(BaseModel):
    """A stored sortie event."""

    id: str
    dock_id: str
    sortie_id: str | None
    incident_id: str | None
    type: str
    phase: str | None
    at: AwareDatetime
    detail: dict[str, Any]
    received_at: AwareDatetime


class DetectionPublic(BaseModel):
    """A tracked object seen during an incident's sortie."""

    track_id: int | None
    cls: str
    conf: float
    lat: float | None
    lon: float | None
    sortie_id: str | None
    at: AwareDatetime


class AuditEntryPublic(BaseModel):
    """One audit row."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    hash: str


class AuditReportPublic(BaseModel):
    """The result of checking the audit chain."""

    ok: bool
    rows: int
    first_bad_seq: int | None
    problems: list[str]


class LoginCreate(BaseModel):
    """Exchange an API token for a session cookie."""

    model_config = ConfigDict(extra="forbid")

    token: Text = Field(min_length=1, max_length=512)


class PrincipalPublic(BaseModel):
    """Who the caller is."""

    name: str
    role: str
    raw_video: bool
    incident_id: str | None = None


class LinkCreate(BaseModel):
    """Ask for an officer view link (its lifetime is capped by ``link_max_ttl_s``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    ttl_s: float | None = Field(None, gt=0, le=7 * 24 * 3600)


class LinkInfo(BaseModel):
    """An officer view link as the control room lists it (never with its token)."""

    id: str
    incident_id: str
    sortie_id: str | None
    created_by: str
    created_at: AwareDatetime
    expires_at: AwareDatetime
    revoked_at: AwareDatetime | None
    revoked_by: str | None


class LinkPublic(LinkInfo):
    """A new officer view link: the only time its token is shown."""

    url: str
    token: str


class BasemapPublic(BaseModel):
    """The basemap in use: where its tiles come from and what they cover."""

    kind: Literal["file", "xyz", "none"] = Field(
        description="file: an offline tile file dispatch serves; xyz: the force's tile "
        "server; none: no basemap (a plain grid)"
    )
    name: str
    tile_url: str = Field(description="XYZ template the browser loads tiles from; empty: none")
    attribution: str
    format: Literal["pmtiles", "mbtiles"] | None = None
    bounds: list[float] | None = Field(None, description="west, south, east, north (degrees)")
    min_zoom: int = 0
    max_zoom: int = 19
    problem: str = Field("", description="why a configured tile file is not served")
    places: int = Field(0, description="addresses and named places GET /map/search can find")


class PlacePublic(BaseModel):
    """An address, street or named place of the basemap, found by search."""

    name: str
    kind: str = Field(description="address, street, or the OpenStreetMap tag that names it")
    lat: float
    lon: float


class MapPublic(BaseModel):
    """What the UI map needs: the basemap, the start view, the no-fly zones."""

    basemap: BasemapPublic
    center: dict[str, float]
    zoom: int
    no_fly: dict[str, Any]


class ViewerStats(BaseModel):
    """Delivery figures of one video viewer."""

    id: int
    kind: str
    rendition: str
    principal: str
    fps: float
    frames_sent: int
    frames_dropped: int
    skips: int = Field(0, title="Times the viewer fell behind and skipped to a keyframe")
    latency_ms_p50: float | None
    latency_ms_p99: float | None
