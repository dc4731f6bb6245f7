"""Edge video: camera → detector → annotate → encode → uplink, with detections on the ground.

The edge agent runs it with ``EdgeAgent(config, video=start_video)``: :func:`start_video` loads
the detector, connects the uplink and runs the pipeline for each sortie. By hand::

    from edge.video import Uplink, VideoPipeline, open_detectors

    detector, plates = open_detectors(config.video)         # DetectorError says what is missing
    async with Uplink(url, dock_id, token) as uplink, VideoPipeline(
        config.video, None, detector, pose_source, publish_detections, uplink,
        dock_id=dock_id, plate_detector=plates,
    ) as video:
        video.set_sortie(sortie_id, incident_id)           # tags frames, starts recording
        ...
        video.clear_sortie()

- ``pose_source``: a quick, thread-safe ``() -> CameraPose | None`` or an async iterator of
  :class:`edge.geoproject.CameraPose` (lat, lon, height above ground, heading, gimbal pitch).
- ``publish_detections``: ``async (edge.protocol.Detections) -> None``, e.g. an MQTT publish on
  ``detections``; called at most ``video.detections_hz`` times a second, under a timeout.
- ``uplink``: any :class:`FrameSink`; :class:`Uplink` streams to dispatch's
  ``/api/v1/video/ingest/{dock_id}`` with ``Authorization: Bearer <token>``.

Capture, inference and encoding run in threads with one-frame slots (newest wins), so neither
a slow model nor a slow consumer can block the event loop or queue stale frames.
"""

from edge.video.camera import Camera, CameraError, ImageLoopCamera, StreamCamera, VideoFileCamera
from edge.video.config import VideoConfig
from edge.video.frames import CameraFrame, Frame, LatestSlot
from edge.video.pipeline import DetectionsCallback, PipelineStats, PoseSource, VideoPipeline
from edge.video.record import Recorder
from edge.video.session import start_video
from edge.video.sources import open_camera, open_detectors
from edge.video.uplink import FrameSink, Uplink, UplinkStats, ingest_url

__all__ = [
    "Camera",
    "CameraError",
    "CameraFrame",
    "DetectionsCallback",
    "Frame",
    "FrameSink",
    "ImageLoopCamera",
    "LatestSlot",
    "PipelineStats",
    "PoseSource",
    "Recorder",
    "StreamCamera",
    "Uplink",
    "UplinkStats",
    "VideoConfig",
    "VideoFileCamera",
    "VideoPipeline",
    "ingest_url",
    "open_camera",
    "open_detectors",
    "start_video",
]
