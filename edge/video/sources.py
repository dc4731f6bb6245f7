"""Opens the camera a ``[video.camera]`` config names, and the detectors of ``[video]``."""

from __future__ import annotations

from edge.detect import Detector, load_detector
from edge.geoproject import CameraModel
from edge.video.camera import Camera
from edge.video.cameras import CAMERAS, PoseFn
from edge.video.config import VideoConfig

__all__ = ["open_camera", "open_detectors"]


def open_camera(config: VideoConfig, pose: PoseFn) -> Camera:
    """The camera of ``config.camera``, through its driver; a rendering one draws at ``pose``.

    Raises:
        CameraError: a source that does not exist.
        ConfigError: ``driver_missing`` when the driver is not available here; a scene file
            that is missing or invalid.
    """
    cam = CameraModel(config.width, config.height, config.hfov_deg)
    return CAMERAS.get(config.camera.type).open(config.camera, cam, pose)


def open_detectors(config: VideoConfig) -> tuple[Detector, Detector | None]:
    """The detector of ``config.detector`` (and the plate detector, when one is configured).

    ``config.threads`` applies where the detector config sets no threads of its own.

    Raises:
        DetectorError: the model is missing or corrupt; the reason says what to provide.
    """

    def load(cfg: object) -> Detector:
        from edge.detect import BaseDetectorConfig

        assert isinstance(cfg, BaseDetectorConfig)
        if cfg.threads is None and config.threads is not None:
            cfg = cfg.model_copy(update={"threads": config.threads})
        return load_detector(cfg)

    plates = config.redaction.plate_detector
    return load(config.detector), (load(plates) if plates is not None else None)
