"""V4L2 camera driver: a video device on Linux, by index or path."""

from __future__ import annotations

from typing import Final, Literal

from edge.geoproject import CameraModel
from edge.video.camera import Camera, StreamCamera
from edge.video.cameras import CameraSourceBase, PoseFn

__all__ = ["KEY", "V4l2CameraConfig", "open_camera"]

KEY: Final = "v4l2"


class V4l2CameraConfig(CameraSourceBase):
    """A V4L2 device: an index or a path such as ``/dev/video0``."""

    type: Literal["v4l2"] = KEY
    device: int | str = 0


def open_camera(config: V4l2CameraConfig, cam: CameraModel, pose: PoseFn) -> Camera:
    """The device through OpenCV's V4L2 backend."""
    return StreamCamera(config.device, live=True, backend="v4l2")
