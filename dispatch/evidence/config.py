"""Settings of evidence, retention and the public registers: ``[evidence]``, ``[retention]``,
``[public]`` of dispatch's config.

Example (TOML)::

    [evidence]
    dir = "evidence"                 # the local-folder segment store
    [evidence.redaction]             # the release copy: people pixelated, plates too if set
    detector = { type = "auto" }     # model from $OUTRIDER_MODEL unless given

    [retention]
    raw_video = { days = 31, evidence_days = 2557 }
    telemetry = { days = 365 }

    [public]
    delay_h = 72
    exclusion_m = 400
    categories = { collision = "road traffic", theft = "crime against property" }
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.detect import AutoDetectorConfig, DetectorConfig

__all__ = [
    "AiRegisterConfig",
    "EvidenceConfig",
    "PublicConfig",
    "RedactionCopyConfig",
    "RetentionConfig",
    "RetentionRule",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RedactionCopyConfig(_Section):
    """How the release copy of a recording is redacted (the originals are never touched)."""

    detector: DetectorConfig = Field(default_factory=AutoDetectorConfig)
    classes: list[str] = Field(default_factory=lambda: ["person"], title="Classes pixelated")
    plate_detector: DetectorConfig | None = Field(
        None, title="A licence-plate detector; every box it finds is pixelated too"
    )
    every_n_frames: int = Field(
        1, ge=1, le=30, title="Detect on every n-th frame; boxes carry over in between"
    )


class EvidenceConfig(_Section):
    """Where uploaded recordings are kept and how large an upload may be."""

    store: Literal["local"] = Field("local", title="Segment store (see dispatch.evidence.store)")
    dir: Path = Field(Path("state/evidence"), title="Folder of the local segment store")
    max_chunk_bytes: int = Field(8 << 20, ge=1024, le=64 << 20, title="Largest PATCH body")
    max_segment_bytes: int = Field(4 << 30, ge=1, title="Largest segment a manifest may list")
    max_segments: int = Field(10_000, ge=1, le=100_000, title="Most segments in a manifest")
    track_interval_s: float = Field(1.0, gt=0, le=60, title="Keep one flight-track point per")
    redaction: RedactionCopyConfig = RedactionCopyConfig()


class RetentionRule(_Section):
    """How long one class of data is kept: ``days`` (none: forever); ``evidence_days`` applies
    instead when its incident is marked as evidence (none: forever)."""

    days: float | None = Field(None, gt=0)
    evidence_days: float | None = Field(None, gt=0)


class RetentionConfig(_Section):
    """The retention policy per class of data, and how often the job runs."""

    run_every_s: float = Field(3600.0, gt=0, title="Run the retention job this often")
    enabled: bool = Field(True, title="Run the job inside dispatch (the CLI runs it anyway)")
    raw_video: RetentionRule = RetentionRule(days=31)
    telemetry: RetentionRule = RetentionRule(days=365)
    detections: RetentionRule = RetentionRule(days=365)
    events: RetentionRule = RetentionRule(days=None)
    audit: Literal["forever"] = Field(
        "forever", title="The audit log is a hash chain: it is never cut"
    )


class AiRegisterConfig(_Section):
    """What the AI register says beyond what dispatch measures itself (ATRS tier 1 and 2)."""

    organisation: str = Field("Outrider operator", max_length=200)
    team: str = Field("Drone as first responder unit", max_length=200)
    senior_responsible_owner: str = Field("Head of air support", max_length=200)
    contact: str = Field("", max_length=200, title="Public contact (e-mail or web form)")
    detector_model: Path | None = Field(None, title="The docks' detector model; $OUTRIDER_MODEL")
    deployed_since: date | None = None
    accuracy_report: Path | None = Field(
        None, title="JSON of `outrider bench detection --json`; its model hash must match"
    )


class PublicConfig(_Section):
    """The public flight register: what is shown, how late and how coarse."""

    enabled: bool = True
    delay_h: float = Field(72.0, ge=0, le=24 * 365, title="Publish a flight this long after")
    exclusion_m: float = Field(
        400.0, ge=50, le=20_000, title="Never show a position this close to the scene or dock"
    )
    grid_m: float = Field(100.0, ge=10, le=5000, title="Path points snap to a grid this coarse")
    time_resolution_min: int = Field(15, ge=1, le=1440, title="Take-off times rounded to this")
    categories: dict[str, str] = Field(
        default_factory=dict, title="Incident type -> coarse category; others are 'other'"
    )
    ai: AiRegisterConfig = AiRegisterConfig()

    @model_validator(mode="after")
    def _short_categories(self) -> PublicConfig:
        for kind, category in self.categories.items():
            if not 0 < len(category) <= 60:
                raise ValueError(f"category of {kind!r} must be 1-60 characters")
        return self
