"""Stream camera driver: an RTSP, HTTP(S), RTMP, UDP or TCP stream, reconnected when it drops."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from edge.geoproject import CameraModel
from edge.video.camera import Camera, StreamCamera
from edge.video.cameras import CameraSourceBase, PoseFn

__all__ = ["KEY", "StreamCameraConfig", "open_camera"]

KEY: Final = "stream"


class StreamCameraConfig(CameraSourceBase):
    """An RTSP or HTTP(S) stream, reconnected when it drops."""

    type: Literal["stream"] = KEY
    url: str = Field(pattern=r"^(rtsp|rtsps|http|https|rtmp|udp|tcp)://")
    timeout_s: float = Field(5.0, gt=0, le=60)


def open_camera(config: StreamCameraConfig, cam: CameraModel, pose: PoseFn) -> Camera:
    """The stream through FFmpeg, with the configured open and read timeout."""
    return StreamCamera(config.url, live=True, backend="ffmpeg", timeout_s=config.timeout_s)
