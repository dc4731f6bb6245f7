"""Commands to the edge (v1): one signed envelope, a body per command type.

``on_scene`` is :data:`~edge.patterns.registry.OnScene`: one model per on-scene pattern
(``edge/patterns/``), picked by its ``pattern`` field.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from edge.patterns.registry import OnScene
from edge.protocol.models import DockId, GeoPoint, Identifier, Message, Part

__all__ = [
    "AbortBody",
    "AbortCommand",
    "Command",
    "CommandEnvelope",
    "CommandType",
    "DispatchBody",
    "DispatchCommand",
    "EmptyBody",
    "OnScene",
    "PingCommand",
    "RecallCommand",
    "ResendBody",
    "ResendCommand",
    "RetaskBody",
    "RetaskCommand",
    "canonical_json",
    "signing_payload",
]

CommandType = Literal["dispatch", "retask", "recall", "abort", "ping", "resend"]
MAX_RESEND = 1000
AltRel = Annotated[float, Field(gt=0, le=1000, title="Altitude above home, m")]


class DispatchBody(Part):
    """Fly to an incident."""

    incident_id: Identifier
    target: GeoPoint
    alt_rel_m: AltRel | None = None
    priority: int = Field(1, ge=1, le=5)
    on_scene: OnScene | None = None


class RetaskBody(Part):
    """New target for the sortie in flight."""

    target: GeoPoint
    alt_rel_m: AltRel | None = None
    on_scene: OnScene | None = None


class EmptyBody(Part):
    """Body of commands that carry no arguments (recall, ping)."""


class AbortBody(Part):
    """How to abort: hold where it is, land where it is, or return to the dock."""

    action: Literal["hold", "land_now", "rtl"]


class ResendBody(Part):
    """Events of a sortie that dispatch missed (numbered by ``Event.seq``), to send again."""

    sortie_id: Identifier
    seqs: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        min_length=1, max_length=MAX_RESEND
    )


class CommandEnvelope(Message):
    """Fields every command carries: id, addressee, validity window and signature."""

    id: Identifier
    dock_id: DockId
    issued_at: AwareDatetime
    expires_at: AwareDatetime
    sig: str | None = Field(None, max_length=512, title="Base64 Ed25519 signature")

    @model_validator(mode="after")
    def _expires_after_issue(self) -> CommandEnvelope:
        if self.expires_at < self.issued_at:
            raise ValueError("expires_at is before issued_at")
        return self

    def expired(self, now: datetime) -> bool:
        """True once ``now`` is past ``expires_at``."""
        return now > self.expires_at


class DispatchCommand(CommandEnvelope):
    """Launch and fly to an incident."""

    type: Literal["dispatch"] = "dispatch"
    body: DispatchBody


class RetaskCommand(CommandEnvelope):
    """Send the sortie in flight to a new target."""

    type: Literal["retask"] = "retask"
    body: RetaskBody


class RecallCommand(CommandEnvelope):
    """Go home now."""

    type: Literal["recall"] = "recall"
    body: EmptyBody = Field(default_factory=EmptyBody)


class AbortCommand(CommandEnvelope):
    """Stop the sortie: hold, land where it is, or return."""

    type: Literal["abort"] = "abort"
    body: AbortBody


class PingCommand(CommandEnvelope):
    """Liveness check; acknowledged and nothing else."""

    type: Literal["ping"] = "ping"
    body: EmptyBody = Field(default_factory=EmptyBody)


class ResendCommand(CommandEnvelope):
    """Publish again events of a sortie that dispatch missed; they keep their ids."""

    type: Literal["resend"] = "resend"
    body: ResendBody


Command = Annotated[
    DispatchCommand | RetaskCommand | RecallCommand | AbortCommand | PingCommand | ResendCommand,
    Field(discriminator="type"),
]


def canonical_json(data: Any) -> bytes:
    """JSON with sorted keys and no spaces: the one form every signature is computed over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signing_payload(command: Message) -> bytes:
    """The bytes an Ed25519 signature covers: the parsed envelope without ``sig``, canonical.

    Canonical means the model's own JSON form with sorted keys and no spaces, so signer and
    verifier agree however the fields were ordered or spelled on the wire.
    """
    return canonical_json(command.model_dump(mode="json", exclude={"sig"}))
