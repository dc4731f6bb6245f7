"""Messages the edge publishes (v1): availability, state, telemetry, events, detections, ack."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "DOCK_ID_PATTERN",
    "Ack",
    "AckCode",
    "AirframeFigures",
    "Availability",
    "Box",
    "DetectedObject",
    "Detections",
    "DockId",
    "DockStatus",
    "Event",
    "EventType",
    "GeoPoint",
    "Identifier",
    "Limits",
    "Message",
    "Part",
    "Phase",
    "Position",
    "Reason",
    "Signed",
    "State",
    "Telemetry",
    "now_utc",
]

DOCK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
DockId = Annotated[str, Field(pattern=DOCK_ID_PATTERN, title="Dock id (safe in MQTT topics)")]
Identifier = Annotated[str, Field(min_length=1, max_length=128)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Percent = Annotated[float, Field(ge=0, le=100)]


def now_utc() -> datetime:
    """The current time, timezone-aware UTC, as every message carries it."""
    return datetime.now(UTC)


class Message(BaseModel):
    """Base of every v1 message: unknown fields ignored, no NaN or infinity, ``v`` = 1."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)

    v: Literal[1] = 1


class Signed(Message):
    """Base of the messages a dock publishes: ``sig`` is its Ed25519 signature over the rest.

    See :func:`edge.protocol.signing.sign_message`: the signature covers the payload's own JSON
    object without ``sig``, so fields a reader does not know are covered too.
    """

    sig: str | None = Field(None, max_length=512, title="Base64 Ed25519 signature of the dock")


class Part(BaseModel):
    """Base of the objects nested inside messages."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)


class Phase(StrEnum):
    """Phases of a sortie, in the words a pilot would use."""

    DOCKED = "docked"
    PREFLIGHT = "preflight"
    LAUNCHING = "launching"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RETURNING = "returning"
    LANDING = "landing"
    CHARGING = "charging"
    ABORTED = "aborted"
    FAILSAFE = "failsafe"


class EventType(StrEnum):
    """Names of sortie lifecycle events."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PREFLIGHT_FAILED = "preflight_failed"
    LID_OPEN = "lid_open"
    ARMED = "armed"
    AIRBORNE = "airborne"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RETASKED = "retasked"
    RECALLED = "recalled"
    ABORTED = "aborted"
    RETURNING = "returning"
    LANDING = "landing"
    LANDED = "landed"
    DISARMED = "disarmed"
    LID_CLOSED = "lid_closed"
    DOCKED = "docked"
    CHARGING = "charging"
    READY = "ready"
    FAILSAFE = "failsafe"
    VEHICLE_LINK_LOST = "vehicle_link_lost"
    VEHICLE_LINK_RESTORED = "vehicle_link_restored"
    RESUMED = "resumed"


class AckCode(StrEnum):
    """Codes of ``ack`` messages: one for success, one per reason a command is refused."""

    ACCEPTED = "accepted"
    MALFORMED_JSON = "malformed_json"
    INVALID_FIELD = "invalid_field"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_VERSION = "unsupported_version"
    TOO_LARGE = "too_large"
    WRONG_DOCK = "wrong_dock"
    EXPIRED = "expired"
    DUPLICATE = "duplicate"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"
    REPLAYED = "replayed"
    BUSY = "busy"
    NOT_FLYING = "not_flying"
    DOCK_NOT_READY = "dock_not_ready"
    VEHICLE_NOT_READY = "vehicle_not_ready"
    BATTERY_LOW = "battery_low"
    WIND_HIGH = "wind_high"
    OUT_OF_RANGE = "out_of_range"
    NO_FLY = "no_fly"
    ABOVE_CEILING = "above_ceiling"
    UNKNOWN_SORTIE = "unknown_sortie"
    INTERNAL_ERROR = "internal_error"


class Availability(StrEnum):
    """Payload of the retained ``availability`` topic (plain text, not JSON)."""

    ONLINE = "online"
    OFFLINE = "offline"


class GeoPoint(Part):
    """A WGS84 position on the ground."""

    lat: Lat
    lon: Lon


class Position(Part):
    """A WGS84 position with altitude above home and above mean sea level."""

    lat: Lat
    lon: Lon
    alt_rel_m: float | None = None
    alt_amsl_m: float | None = None


class Reason(Part):
    """A coded reason: why a dock is not ready or a command was refused."""

    code: str = Field(max_length=64)
    reason: str = Field(max_length=1000)


class DockStatus(Part):
    """The dock hardware as the edge sees it."""

    lid: Literal["open", "closed", "opening", "closing", "unknown"] = "unknown"
    charging: bool = False
    wind_mps: float | None = Field(None, ge=0)
    wind_from_deg: float | None = Field(None, ge=0, lt=360)


class AirframeFigures(Part):
    """Physical figures of the drone that decide how far it can fly (data only).

    The energy model (``edge.energy.Airframe``) adds the physics to these figures; the wire
    carries only the numbers, so the contract needs nothing of the model.
    """

    battery_wh: float = Field(180.0, gt=0, title="Usable battery energy when full, Wh")
    mass_kg: float = Field(2.5, gt=0, title="Take-off mass, kg")
    hover_power_w: float = Field(300.0, gt=0, title="Electrical power in a still-air hover, W")
    drag_w_per_mps2: float = Field(
        1.0, ge=0, title="Extra power per (airspeed m/s)^2 in forward flight, W"
    )
    propulsion_efficiency: float = Field(
        0.6, gt=0, le=1, title="Share of electrical power that lifts the drone when climbing"
    )
    max_airspeed_mps: float = Field(20.0, gt=0, title="Fastest airspeed the airframe can hold")


class Limits(Part):
    """What a dock can do, published so dispatch decides with the edge's own figures.

    Everything the feasibility model (``edge.feasibility``) reads of a dock is here or
    elsewhere in ``state``; fields added later have defaults that match what docks that do
    not publish them did.
    """

    max_range_m: float = Field(gt=0)
    reserve_pct: Percent
    ceiling_m: float = Field(gt=0, title="Highest flight above the ground")
    pad_height_m: float = Field(
        0.0, ge=0, title="Height of the dock's pad above the ground, counted in the ceiling"
    )
    wind_limit_mps: float = Field(gt=0)
    transit_alt_m: float = Field(gt=0)
    cruise_mps: float = Field(gt=0)
    climb_mps: float = Field(gt=0)
    descent_mps: float = Field(gt=0)
    orbit_speed_mps: float = Field(8.0, gt=0, title="Orbit speed when a command gives none")
    airspace_margin_m: float | None = Field(
        None, ge=0, title="Clearance the dock keeps from no-fly zones; dispatch's own if unset"
    )
    launch_overhead_s: float = Field(ge=0, title="Dispatch to climbing: lid, arming, checks")
    ready_pct: float = Field(
        95.0, gt=0, le=100, title="Charge at which the docked drone counts as ready again"
    )
    airframe: AirframeFigures = Field(default_factory=AirframeFigures)
    camera_hfov_deg: float | None = Field(
        None, gt=0, le=170, title="The camera's field of view, which sizes the on-scene stand-off"
    )

    @property
    def on_scene_alt_rel_m(self) -> float:
        """The altitude above the pad flown on scene: the camera's (edge.patterns.geometry),
        within the ceiling; the transit altitude for a dock without a camera."""
        from edge.patterns.geometry import scene_agl_m  # pure arithmetic; kept out of the wire

        if self.camera_hfov_deg is None:
            return self.transit_alt_m
        agl = scene_agl_m(self.camera_hfov_deg, self.ceiling_m)
        return max(1.0, round(agl - self.pad_height_m, 1))

    def stand_off_at(self, alt_rel_m: float) -> float:
        """How far from the incident the camera wants the drone at ``alt_rel_m`` above the pad
        (edge.patterns.geometry)."""
        from edge.patterns.geometry import stand_off_m

        return stand_off_m(self.camera_hfov_deg, alt_rel_m + self.pad_height_m)

    @property
    def on_scene_stand_off_m(self) -> float:
        """How far from the incident the drone stays on scene at :attr:`on_scene_alt_rel_m`."""
        return self.stand_off_at(self.on_scene_alt_rel_m)

    @property
    def ceiling_rel_m(self) -> float:
        """The ceiling as altitude above the dock's pad."""
        return self.ceiling_m - self.pad_height_m


class State(Signed):
    """Retained snapshot of a dock: phase, readiness, sortie, battery, position, dock."""

    dock_id: DockId
    t: AwareDatetime = Field(default_factory=now_utc)
    phase: Phase
    ready: bool
    not_ready: list[Reason] = Field(default_factory=list, max_length=64)
    sortie_id: Identifier | None = None
    incident_id: Identifier | None = None
    target: GeoPoint | None = None
    battery_pct: Percent | None = None
    position: Position | None = None
    home: Position
    dock: DockStatus = Field(default_factory=DockStatus)
    limits: Limits | None = None


class Telemetry(Signed):
    """Vehicle telemetry, 1-10 Hz, QoS 0."""

    dock_id: DockId
    t: AwareDatetime = Field(default_factory=now_utc)
    lat: Lat
    lon: Lon
    alt_rel_m: float
    alt_amsl_m: float
    heading_deg: float = Field(ge=0, le=360)
    ground_speed_mps: float = Field(ge=0)
    battery_pct: Percent
    flight_mode: str = Field(max_length=32)
    armed: bool
    in_air: bool
    gps_fix: int = Field(ge=0, le=8)
    scene_in_view: float | None = Field(
        None,
        ge=0,
        le=1,
        title="Share of recent frames with the incident point in the picture; none: no scene",
    )


class Event(Signed):
    """One sortie lifecycle event; ``id`` is unique, so consumers store each exactly once.

    ``seq`` numbers a sortie's events 1, 2, 3... in the order the edge emitted them, so a
    consumer can tell that it missed one; events of no sortie, and those of edges older than
    the field, carry none.
    """

    id: Identifier
    dock_id: DockId
    sortie_id: Identifier | None = None
    incident_id: Identifier | None = None
    seq: int | None = Field(None, ge=1, le=2**31 - 1, title="Place in its sortie, from 1")
    type: EventType
    at: AwareDatetime = Field(default_factory=now_utc)
    phase: Phase | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


Box = Annotated[list[float], Field(min_length=4, max_length=4)]


class DetectedObject(Part):
    """One object in one frame, with its place on the ground when it could be projected."""

    track_id: int | None = Field(None, ge=0)
    cls: str = Field(max_length=64)
    conf: float = Field(ge=0, le=1)
    bbox: Box = Field(title="x1, y1, x2, y2 in frame pixels")
    geo: GeoPoint | None = None


class Detections(Signed):
    """Objects found in one analysed frame."""

    dock_id: DockId
    sortie_id: Identifier | None = None
    frame: int = Field(ge=0)
    t: AwareDatetime = Field(default_factory=now_utc)
    objects: list[DetectedObject] = Field(default_factory=list, max_length=1000)


class Ack(Signed):
    """Answer to every command received; ``cmd_id`` is null when no id could be read."""

    cmd_id: Identifier | None
    dock_id: DockId
    ok: bool
    code: AckCode
    reason: str = Field("", max_length=2000)
    at: AwareDatetime = Field(default_factory=now_utc)
    failures: list[Reason] = Field(default_factory=list, max_length=64)
    sortie_id: Identifier | None = None
