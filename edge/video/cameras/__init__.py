"""Camera source drivers: one module each, picked by ``[video.camera] type``.

Each module of this package defines ``KEY``, a config class with ``type: Literal[KEY]`` (a
:class:`CameraSourceBase`) and ``open_camera(config, cam, pose)``; :data:`CAMERAS` finds
them. The real sources are ``file``, ``stream`` and ``v4l2``; the synthetic camera
(``sim``) is added by the command line's wiring from :mod:`sim.camera`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edge.drivers import DriverConfig, DriverRegistry
from edge.geoproject import CameraModel, CameraPose

if TYPE_CHECKING:
    from edge.video.camera import Camera

__all__ = ["CAMERAS", "CameraOpener", "CameraSource", "CameraSourceBase", "PoseFn"]

PoseFn = Callable[[], CameraPose | None]


class CameraSourceBase(DriverConfig):
    """Base of every camera driver's config (the ``[video.camera]`` table)."""


CameraOpener = Callable[[Any, CameraModel, PoseFn], "Camera"]
"""``open_camera(config, cam, pose)``: the camera (not yet opened) for a driver's config,
given the frame size and field of view, and the vehicle's pose (for a rendering camera)."""

CAMERAS: DriverRegistry[CameraOpener] = DriverRegistry(
    "camera source",
    __name__,
    CameraSourceBase,
    "open_camera",
    default="sim",
    elsewhere={
        "sim": "the simulator's synthetic camera: `outrider edge` and `outrider demo` add it "
        "when Outrider's sim package is installed",
    },
)
"""Camera drivers by key: ``file``, ``stream``, ``v4l2`` (and ``sim`` once added)."""

if TYPE_CHECKING:
    CameraSource = CameraSourceBase
else:
    CameraSource = CAMERAS.config_type()
"""The type of ``[video.camera]``: validating it picks the driver by ``type``."""
