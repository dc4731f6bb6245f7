"""The ``[video]`` section of the edge config: camera, detector, stream, uplink, recording.

Example (TOML)::

    [video]
    width = 640
    height = 480
    fps = 15
    jpeg_quality = 70
    hfov_deg = 60

    [video.camera]
    type = "sim"                       # sim | file | stream | v4l2 (edge.video.cameras)
    scene = "configs/scenes/example.toml"

    [video.detector]
    type = "auto"                      # auto | onnxruntime | openvino | ultralytics
    model = "models/yolov5n_ul_320.onnx"

    [video.uplink]
    url = "http://dispatch.example:8000"  # frames go to /api/v1/video/ingest/{dock_id}
    token = "..."

    [video.recording]
    dir = "/var/lib/outrider/recordings"
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from edge.detect import AutoDetectorConfig, DetectorConfig
from edge.protocol.video import Rendition
from edge.video.cameras import CameraSource

__all__ = [
    "RecordingConfig",
    "RedactionConfig",
    "TrackerConfig",
    "UplinkConfig",
    "VideoConfig",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _both_renditions() -> list[Rendition]:
    return ["raw", "redacted"]


class UplinkConfig(_Section):
    """Where frames go: dispatch's video ingest, one WebSocket per dock."""

    url: str | None = Field(
        None,
        title="Dispatch base URL (http/https/ws/wss); none: no uplink",
        pattern=r"^(https?|wss?)://",
    )
    token: SecretStr | None = Field(None, title="Bearer token of this dock")
    renditions: list[Rendition] = Field(default_factory=_both_renditions, min_length=1)
    open_timeout_s: float = Field(5.0, gt=0, le=60)
    stall_timeout_s: float = Field(10.0, gt=0, le=120, title="A send blocked this long: reconnect")
    backoff_s: tuple[float, float] = Field((0.5, 10.0), title="First and largest reconnect wait")


class RecordingConfig(_Section):
    """Evidence recording during a sortie: AVI segments with a SHA-256 manifest."""

    dir: Path | None = Field(None, title="Recordings folder; none: no recording")
    segment_s: float = Field(60.0, gt=0, le=3600)
    raw: bool = Field(True, title="Record the camera's frames as captured")
    annotated: bool = Field(True, title="Record the annotated frames")


class RedactionConfig(_Section):
    """What the redacted rendition hides."""

    classes: list[str] = Field(default_factory=lambda: ["person"])
    plate_detector: DetectorConfig | None = Field(
        None, title="A licence-plate detector; every box it finds is redacted"
    )


class TrackerConfig(_Section):
    """Track-id assignment (see :mod:`edge.video.track`)."""

    high: float = Field(0.4, ge=0, le=1)
    low: float = Field(0.1, ge=0, le=1)
    match_iou: float = Field(0.2, gt=0, le=1)
    max_misses: int = Field(30, ge=0, le=10_000)


class VideoConfig(_Section):
    """All the video pipeline needs; the edge config embeds it as ``video: VideoConfig``."""

    enabled: bool = True
    camera: CameraSource = Field(
        default_factory=dict,  # the default driver, validated like a table naming no type
        validate_default=True,
        title="The camera driver; `type` picks it (see edge.video.cameras)",
    )
    detector: DetectorConfig = Field(default_factory=AutoDetectorConfig)
    width: int = Field(640, ge=64, le=4096)
    height: int = Field(480, ge=64, le=4096)
    fps: float = Field(15.0, gt=0, le=120, title="Capture rate of paced sources")
    jpeg_quality: int = Field(70, ge=10, le=100)
    hfov_deg: float = Field(60.0, ge=1, le=170, title="Camera horizontal field of view")
    camera_pitch_deg: float | None = Field(
        None, ge=-90, le=30, title="Fixed gimbal pitch (-90 straight down); none: the pose's own"
    )
    threads: int | None = Field(None, ge=1, le=256, title="Detector CPU threads; default cores-1")
    detections_hz: float = Field(5.0, gt=0, le=60, title="Most detections messages a second")
    uplink: UplinkConfig = Field(default_factory=UplinkConfig)
    recording: RecordingConfig = Field(default_factory=RecordingConfig)
    redaction: RedactionConfig = Field(default_factory=RedactionConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)

    @field_validator("width", "height")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError("must be even")
        return v
