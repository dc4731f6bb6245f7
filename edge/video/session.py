"""Starts the video pipeline for one sortie: the edge agent's video starter.

:func:`start_video` fits :data:`edge.agent.VideoStarter`: given the sortie's session (video
config, dock id, sortie and incident ids, pose getter, detections publisher) it loads the
detector off the event loop, connects the uplink when ``[video.uplink] url`` is set, runs the
pipeline tagged with the sortie, and stops it all on exit. Wire it with
``EdgeAgent(config, video=start_video)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from edge.geo import LatLon
from edge.geoproject import CameraPose
from edge.protocol import Detections
from edge.video.config import VideoConfig
from edge.video.ladder import ladder_ratio
from edge.video.pipeline import VideoPipeline
from edge.video.sources import open_detectors
from edge.video.uplink import Uplink

__all__ = ["VideoSessionLike", "camera_pose", "start_video"]


class VideoSessionLike(Protocol):
    """What :func:`start_video` reads from the agent's ``VideoSession``."""

    @property
    def config(self) -> VideoConfig: ...
    @property
    def dock_id(self) -> str: ...
    @property
    def sortie_id(self) -> str | None: ...
    @property
    def incident_id(self) -> str | None: ...
    @property
    def pose(self) -> Callable[[], CameraPose | None]: ...
    @property
    def publish_detections(self) -> Callable[[Detections], Awaitable[None]]: ...
    @property
    def scene(self) -> Callable[[], LatLon | None]: ...
    @property
    def report_scene_in_view(self) -> Callable[[bool | None], None]: ...


def camera_pose(
    cfg: VideoConfig,
    airframe: Callable[[], CameraPose | None],
    scene: Callable[[], LatLon | None],
) -> Callable[[], CameraPose | None]:
    """The camera's pose: the airframe's, with the camera's fixed pitch or aimed by its gimbal
    at the scene (the region of interest) as far as the mount allows."""
    fixed, gimbal = cfg.camera_pitch_deg, cfg.gimbal.model()

    def pose() -> CameraPose | None:
        nose = airframe()
        if nose is None:
            return None
        if fixed is not None:
            return dataclasses.replace(nose, pitch_deg=fixed)
        return gimbal.aim(nose, scene())

    return pose


@contextlib.asynccontextmanager
async def start_video(session: VideoSessionLike) -> AsyncIterator[VideoPipeline]:
    """Run the video pipeline for the length of the ``async with``.

    Raises:
        DetectorError: the model is missing or corrupt (the agent then flies without video).
        ConfigError: the uplink URL or scene file is unusable.
    """
    cfg = session.config
    detector, plates = await asyncio.to_thread(open_detectors, cfg)
    pose = camera_pose(cfg, session.pose, session.scene)

    try:
        async with contextlib.AsyncExitStack() as stack:
            uplink = None
            if cfg.uplink.url:
                token = cfg.uplink.token.get_secret_value() if cfg.uplink.token else None
                uplink = await stack.enter_async_context(
                    Uplink(
                        cfg.uplink.url,
                        session.dock_id,
                        token,
                        max_backlog_s=cfg.uplink.max_backlog_s,
                        ladder_steps=cfg.h264.ladder_steps,
                        ladder_ratio=ladder_ratio(
                            cfg.h264.cap_kbps("raw"), cfg.h264.min_kbps, cfg.h264.ladder_steps
                        ),
                        open_timeout_s=cfg.uplink.open_timeout_s,
                        stall_timeout_s=cfg.uplink.stall_timeout_s,
                        backoff_s=cfg.uplink.backoff_s,
                    )
                )
            video = await stack.enter_async_context(
                VideoPipeline(
                    cfg,
                    None,
                    detector,
                    pose,
                    session.publish_detections,
                    uplink,
                    dock_id=session.dock_id,
                    plate_detector=plates,
                    scene=session.scene,
                    on_scene_in_view=session.report_scene_in_view,
                )
            )
            video.set_sortie(session.sortie_id, session.incident_id)
            yield video
    finally:
        detector.close()
        if plates is not None:
            plates.close()
