"""The synthetic camera: renders the scene from the vehicle's pose, as a real camera would."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edge.geoproject import CameraModel, CameraPose
from edge.video.frames import CameraFrame
from sim.camera.render import Renderer
from sim.camera.scene import Scene

__all__ = ["SyntheticCamera"]


class SyntheticCamera:
    """A :class:`edge.video.camera.Camera` that draws frames instead of reading them.

    Args:
        scene: actors on the ground.
        cam: resolution and field of view.
        pose: the vehicle's current camera pose (the same one the pipeline projects with); a
            frame is only drawn once a pose is known.
    """

    live = False

    def __init__(
        self, scene: Scene, cam: CameraModel, pose: Callable[[], CameraPose | None]
    ) -> None:
        self.name = f"sim:{scene.name}"
        self.scene = scene
        self.cam = cam
        self._pose = pose
        self._renderer: Renderer | None = None

    def open(self) -> None:
        """Prepare the renderer (ground texture, camera rays)."""
        if self._renderer is None:
            self._renderer = Renderer(self.cam, self.scene)

    def read(self) -> CameraFrame | None:
        """A frame drawn from the current pose, tagged with that pose; None before any pose."""
        pose = self._pose()
        if pose is None or self._renderer is None:
            return None
        rgb = self._renderer.render(pose)
        return CameraFrame(np.ascontiguousarray(rgb[:, :, ::-1]), pose)

    def set_scene(self, scene: Scene) -> None:
        """Show other actors from the next frame on (the ground texture stays as it is)."""
        self.scene = scene
        if self._renderer is not None:
            self._renderer.scene = scene

    def close(self) -> None:
        """Nothing to release; the renderer is kept for the next ``open``."""
