"""Settings of the interfaces to other systems: CAD in, subscribers out, neighbouring forces.

They are the ``[interop]`` section of the dispatch settings (``configs/dispatch.toml``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = [
    "AgreementConfig",
    "CadSystemConfig",
    "FolderConfig",
    "InteropConfig",
    "PeerConfig",
    "WebhookConfig",
]

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CadSystemConfig(_Section):
    """One CAD system that may raise incidents: its name, its format and its signing key.

    The CAD system signs each request with ``secret`` (HMAC-SHA256, see
    :mod:`dispatch.interop.signing`) and names itself in the ``X-Outrider-Source`` header.
    """

    name: str = Field(pattern=NAME)
    adapter: Literal["eido", "generic"]
    secret: SecretStr = Field(min_length=16, title="Shared HMAC key of this CAD system")


class FolderConfig(_Section):
    """A folder a CAD system that only exports files drops its documents into."""

    path: Path
    adapter: Literal["eido", "generic"]
    source: str = Field("folder", pattern=NAME, title="How the audit log names this source")
    poll_s: float = Field(1.0, gt=0, le=300)


class AgreementConfig(_Section):
    """What this force lends a neighbour: which docks, for which incident types, what video."""

    docks: list[str] = Field(default_factory=list, title="Our docks the neighbour may ask for")
    incident_types: list[str] = Field(
        default_factory=lambda: ["*"], title="Incident types we fly for them; * for any"
    )
    video: Literal["raw", "redacted"] = Field("redacted", title="Rendition their viewers get")
    link_ttl_s: float = Field(4 * 3600, gt=0, le=7 * 24 * 3600)


class PeerConfig(_Section):
    """A neighbouring force's dispatch service and the agreement with it, both ways.

    ``lend`` is what we give them; ``ask`` says whether we ask them when none of our docks
    can go, and ``ask_before_queue`` whether we do so before queueing an incident.
    """

    name: str = Field(pattern=NAME, title="The neighbour's force name, as it names itself")
    url: str = Field(pattern=r"^https?://", title="Base URL of the neighbour's dispatch")
    secret: SecretStr = Field(min_length=16, title="Shared HMAC key of the agreement")
    lend: AgreementConfig = AgreementConfig()
    ask: bool = False
    ask_types: list[str] = Field(default_factory=lambda: ["*"], title="Types we ask them for")
    ask_before_queue: bool = False
    timeout_s: float = Field(30.0, gt=0, le=300, title="Wait this long for their answer")


class WebhookConfig(_Section):
    """How outbound webhooks are delivered."""

    max_attempts: int = Field(8, ge=1, le=100, title="Then the delivery is dead-lettered")
    backoff_s: float = Field(1.0, gt=0, le=3600, title="First retry delay; doubles each time")
    backoff_max_s: float = Field(300.0, gt=0, title="Longest retry delay")
    timeout_s: float = Field(10.0, gt=0, le=120, title="Wait this long for the receiver")


class InteropConfig(_Section):
    """CAD systems, folder watchers, webhook delivery and neighbouring forces."""

    force: str = Field("local", pattern=NAME, title="This force's name, as neighbours know it")
    replay_window_s: float = Field(300.0, gt=0, le=3600, title="Signed requests older: refused")
    cad: list[CadSystemConfig] = Field(default_factory=list)
    folders: list[FolderConfig] = Field(default_factory=list)
    webhooks: WebhookConfig = WebhookConfig()
    peers: list[PeerConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> InteropConfig:
        for kind, names in (
            ("cad", [c.name for c in self.cad]),
            ("peer", [p.name for p in self.peers]),
        ):
            if len(set(names)) != len(names):
                raise ValueError(f"{kind} names must be unique")
        if self.force in {p.name for p in self.peers}:
            raise ValueError("a peer cannot have this force's own name")
        return self

    def cad_system(self, name: str) -> CadSystemConfig | None:
        """The CAD system called ``name``."""
        return next((c for c in self.cad if c.name == name), None)

    def peer(self, name: str) -> PeerConfig | None:
        """The neighbour called ``name``."""
        return next((p for p in self.peers if p.name == name), None)
