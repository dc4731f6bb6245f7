"""The synthetic camera as a camera driver: ``[video.camera] type = "sim"``."""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import Field

from edge.geoproject import CameraModel
from edge.video.camera import Camera
from edge.video.cameras import CameraSourceBase, PoseFn
from sim.camera.camera import SyntheticCamera
from sim.camera.scene import Scene, load_scene

__all__ = ["KEY", "SimCameraConfig", "open_camera"]

KEY: Final = "sim"


class SimCameraConfig(CameraSourceBase):
    """The synthetic camera, rendering a scene file from the vehicle's pose."""

    type: Literal["sim"] = KEY
    scene: Path | None = Field(None, title="Scene file (TOML/JSON); none: bare ground")


def open_camera(config: SimCameraConfig, cam: CameraModel, pose: PoseFn) -> Camera:
    """The synthetic camera showing the scene file (bare ground without one).

    Raises:
        ConfigError: a scene file that is missing or invalid.
    """
    scene = load_scene(config.scene) if config.scene else Scene()
    return SyntheticCamera(scene, cam, pose)
