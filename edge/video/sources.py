"""Builds the camera a ``[video.camera]`` config names."""

from __future__ import annotations

from pathlib import Path

import cv2

from edge.detect import Detector, load_detector
from edge.geoproject import CameraModel
from edge.video.camera import (
    IMAGE_SUFFIXES,
    Camera,
    CameraError,
    ImageLoopCamera,
    StreamCamera,
    VideoFileCamera,
)
from edge.video.capture import PoseFn
from edge.video.config import (
    FileCameraConfig,
    SimCameraConfig,
    StreamCameraConfig,
    V4l2CameraConfig,
    VideoConfig,
)

__all__ = ["open_camera", "open_detectors"]


def open_camera(config: VideoConfig, pose: PoseFn) -> Camera:
    """The camera of ``config.camera``; the sim one renders from ``pose``.

    Raises:
        CameraError: a file source that does not exist.
        ConfigError: a scene file that is missing or invalid.
    """
    source = config.camera
    if isinstance(source, SimCameraConfig):
        from sim.camera import Scene, SyntheticCamera, load_scene

        scene = load_scene(source.scene) if source.scene else Scene()
        cam = CameraModel(config.width, config.height, config.hfov_deg)
        return SyntheticCamera(scene, cam, pose)
    if isinstance(source, FileCameraConfig):
        path = Path(source.path)
        if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
            if not path.exists():
                raise CameraError(f"image source {path} does not exist")
            return ImageLoopCamera.from_path(path)
        return VideoFileCamera(path)
    if isinstance(source, StreamCameraConfig):
        return StreamCamera(source.url, live=True, api=cv2.CAP_FFMPEG, timeout_s=source.timeout_s)
    if isinstance(source, V4l2CameraConfig):
        return StreamCamera(source.device, live=True, api=cv2.CAP_V4L2)
    raise CameraError(f"unknown camera source {source!r}")


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
