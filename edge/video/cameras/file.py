"""File camera driver: a video file, an image, or a folder of images, played in a loop."""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from edge.geoproject import CameraModel
from edge.video.camera import IMAGE_SUFFIXES, Camera, CameraError, ImageLoopCamera, VideoFileCamera
from edge.video.cameras import CameraSourceBase, PoseFn

__all__ = ["KEY", "FileCameraConfig", "open_camera"]

KEY: Final = "file"


class FileCameraConfig(CameraSourceBase):
    """A video file, an image, or a folder of images, played in a loop at ``fps``."""

    type: Literal["file"] = KEY
    path: Path


def open_camera(config: FileCameraConfig, cam: CameraModel, pose: PoseFn) -> Camera:
    """An image loop for an image or a folder, else the video file.

    Raises:
        CameraError: a source that does not exist.
    """
    path = Path(config.path)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        if not path.exists():
            raise CameraError(f"image source {path} does not exist")
        return ImageLoopCamera.from_path(path)
    return VideoFileCamera(path)
