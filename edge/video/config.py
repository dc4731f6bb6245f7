"""The ``[video]`` section of the edge config: camera, detector, stream, uplink, recording.

Example (TOML)::

    [video]
    width = 640
    height = 480
    fps = 15
    codec = "h264"                     # h264 | jpeg (the fallback mode)
    jpeg_quality = 70                  # JPEG mode, and dispatch's snapshots come from the edge's
    hfov_deg = 60

    [video.gimbal]                     # the camera's mount; it points at the incident on scene
    pitch_min_deg = -90
    pitch_max_deg = 0
    yaw_min_deg = 0                    # 0 and 0: no yaw of its own, the airframe faces the scene
    yaw_max_deg = 0
    look_ahead_pitch_deg = -25         # on transit, and with nothing to look at

    [video.h264]
    max_kbps = {raw = 1500, redacted = 1500}   # the top of the bitrate ladder per rendition
    min_kbps = 250                     # its bottom
    keyframe_interval_s = 1.0

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
    dir = "/var/lib/outrider/recordings"   # MP4 segments + manifest.json (SHA-256)
    renditions = ["raw"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from edge.detect import AutoDetectorConfig, DetectorConfig
from edge.geoproject import Gimbal
from edge.protocol.video import Rendition
from edge.video.cameras import CameraSource
from edge.video.interest import DEFAULT_CLASSES, Interest
from edge.video.track import Tracker

__all__ = [
    "H264Config",
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


def _raw_only() -> list[Rendition]:
    return ["raw"]


def _caps() -> dict[Rendition, int]:
    return {"raw": 1500, "redacted": 1500}


class H264Config(_Section):
    """H.264 encoding (PyAV's libx264): one encoder per rendition, once, never per viewer."""

    max_kbps: dict[Rendition, int] = Field(
        default_factory=_caps, title="Bitrate cap per rendition: the top of the ladder"
    )
    min_kbps: int = Field(250, ge=50, le=100_000, title="The bottom of the bitrate ladder")
    ladder_steps: int = Field(5, ge=1, le=16, title="Rungs from the top to the bottom")
    crf: float = Field(28.0, ge=0, le=51, title="Quality under the cap (lower: better)")
    keyframe_interval_s: float = Field(1.0, gt=0, le=10, title="Capture time between keyframes")
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = "ultrafast"
    threads: int = Field(1, ge=1, le=16, title="x264 threads per encoder")
    x264_params: str = Field(
        "subme=2",
        pattern=r"^([a-z0-9-]+=[A-Za-z0-9.,-]+(:[a-z0-9-]+=[A-Za-z0-9.,-]+)*)?$",
        title="More x264 options on top of the preset (key=value:key=value)",
    )

    def cap_kbps(self, rendition: Rendition) -> int:
        """The rendition's top bitrate (the raw one's when not set)."""
        return self.max_kbps.get(rendition, self.max_kbps.get("raw", 1500))


DispatchUrl = Annotated[str, StringConstraints(pattern=r"^(https?|wss?)://")]


class UplinkConfig(_Section):
    """Where frames go: dispatch's video ingest, one WebSocket per dock."""

    url: DispatchUrl | list[DispatchUrl] | None = Field(
        None,
        title="Dispatch base URL (http/https/ws/wss), or several instances' tried in turn "
        "(one is enough behind a load balancer); none: no uplink",
    )
    token: SecretStr | None = Field(None, title="Bearer token of this dock")
    renditions: list[Rendition] = Field(default_factory=_both_renditions, min_length=1)
    max_backlog_s: float = Field(
        1.0, gt=0, le=30, title="Frames waiting longer are dropped up to the next keyframe"
    )
    open_timeout_s: float = Field(5.0, gt=0, le=60)
    stall_timeout_s: float = Field(10.0, gt=0, le=120, title="A send blocked this long: reconnect")
    backoff_s: tuple[float, float] = Field((0.5, 10.0), title="First and largest reconnect wait")


class RecordingConfig(_Section):
    """Evidence recording during a sortie: MP4 segments of the sent packets, SHA-256 manifest."""

    dir: Path | None = Field(None, title="Recordings folder; none: no recording")
    segment_s: float = Field(60.0, gt=0, le=3600, title="Segment length (cut at a keyframe)")
    renditions: list[Rendition] = Field(
        default_factory=_raw_only, title="Renditions recorded (their encoded packets)"
    )


class RedactionConfig(_Section):
    """What the redacted rendition hides."""

    classes: list[str] = Field(default_factory=lambda: ["person"])
    plate_detector: DetectorConfig | None = Field(
        None, title="A licence-plate detector; every box it finds is redacted"
    )


class GimbalConfig(_Section):
    """The camera's mount (see :class:`edge.geoproject.Gimbal`)."""

    pitch_min_deg: float = Field(-90.0, ge=-90, le=30)
    pitch_max_deg: float = Field(0.0, ge=-90, le=30)
    yaw_min_deg: float = Field(0.0, ge=-180, le=0, title="Yaw left of the nose it reaches")
    yaw_max_deg: float = Field(0.0, ge=0, le=180, title="Yaw right of the nose it reaches")
    look_ahead_pitch_deg: float = Field(-25.0, ge=-90, le=30, title="Pitch on transit")

    @model_validator(mode="after")
    def _ordered(self) -> GimbalConfig:
        if not self.pitch_min_deg <= self.look_ahead_pitch_deg <= self.pitch_max_deg:
            raise ValueError("needs pitch_min_deg <= look_ahead_pitch_deg <= pitch_max_deg")
        return self

    def model(self) -> Gimbal:
        """The mount as the projection code models it."""
        return Gimbal(**self.model_dump())


class TrackerConfig(_Section):
    """What is reported and how tracks are kept (:mod:`edge.video.interest`,
    :mod:`edge.video.track`)."""

    classes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CLASSES),
        min_length=1,
        title="Classes of interest; every other detection is dropped",
    )
    thresholds: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, title="Per-class score that starts a track; `high` for the others"
    )
    high: float = Field(0.4, ge=0, le=1)
    low: float = Field(0.1, ge=0, le=1)
    match_iou: float = Field(0.2, gt=0, le=1)
    max_misses: int = Field(30, ge=0, le=10_000)
    confirm_frames: int = Field(3, ge=1, le=100, title="Sightings before a track is reported")
    match_m: float = Field(
        4.0, ge=0, le=50, title="Ground distance that continues a track whose box moved away"
    )
    smoothing: float = Field(
        0.3, gt=0, le=1, title="Weight of a new sighting in a track's ground position"
    )

    def interest(self) -> Interest:
        """The filter these settings describe."""
        return Interest(self.classes, dict(self.thresholds), self.high, self.low)

    def tracker(self) -> Tracker:
        """A fresh tracker with these settings."""
        start = self.interest().start
        return Tracker(
            self.high,
            self.low,
            self.match_iou,
            self.max_misses,
            confirm_frames=self.confirm_frames,
            match_m=self.match_m,
            smoothing=self.smoothing,
            start=start,
        )


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
    codec: Literal["h264", "jpeg"] = Field("h264", title="Stream codec; jpeg: the fallback mode")
    burn_in: bool = Field(
        False, title="Draw boxes and the HUD into the picture (players without the metadata)"
    )
    jpeg_quality: int = Field(70, ge=10, le=100)
    h264: H264Config = Field(default_factory=H264Config)
    hfov_deg: float = Field(60.0, ge=1, le=170, title="Camera horizontal field of view")
    camera_pitch_deg: float | None = Field(
        None,
        ge=-90,
        le=30,
        title="A camera fixed at this pitch (-90 straight down); none: aimed by its gimbal",
    )
    gimbal: GimbalConfig = Field(default_factory=GimbalConfig)
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
