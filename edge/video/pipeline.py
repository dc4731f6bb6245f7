"""The edge video pipeline: camera → detector → encode → uplink and recording, off the event loop.

Three daemon threads do the CPU work and hand over through one-frame slots where the newest
frame wins, so the stream is always live and nothing queues up:

    capture ──slot──▶ analyse (detect, track, place on the ground) ──slot──▶ encode ──▶ uplink
                                                                     (H.264 once)  └─▶ recording

The event loop only receives finished results: detections for MQTT (rate-limited, newest wins,
each publish under a timeout) and packed frames for the uplink (which never waits either).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from edge.aio import within
from edge.detect import Detector
from edge.errors import OutriderError
from edge.geo import LatLon
from edge.geoproject import CameraModel, CameraPose, in_view
from edge.protocol import Detections
from edge.protocol.video import Rendition
from edge.video.camera import Camera
from edge.video.capture import CaptureThread
from edge.video.config import VideoConfig
from edge.video.encode import EncodedFrame, Encoder
from edge.video.frames import Frame, LatestSlot
from edge.video.record import Recorder
from edge.video.stages import Analysed, Analyser, opencv_single_threaded
from edge.video.uplink import FrameSink

__all__ = ["DetectionsCallback", "PipelineStats", "PoseSource", "VideoPipeline"]

logger = logging.getLogger(__name__)

PoseSource = Callable[[], CameraPose | None] | AsyncIterator[CameraPose]
"""The camera pose: a quick thread-safe getter, or an async iterator of updates."""
DetectionsCallback = Callable[[Detections], Awaitable[None]]
"""Publishes one ``detections`` message (e.g. to MQTT); called on the event loop."""

PUBLISH_TIMEOUT_S = 2.0


@dataclass(slots=True)
class PipelineStats:
    """Counters of one pipeline run."""

    analysed: int = 0
    detect_errors: int = 0
    encoded: int = 0
    redacted: int = 0
    redaction_failed: int = 0
    published: int = 0
    publish_failures: int = 0
    fps: float = 0.0
    analyse_s: float = 0.0
    encode_s: float = 0.0


class VideoPipeline:
    """Runs the video pipeline while entered (an async context manager; not re-entrant).

    Args:
        config: the ``[video]`` config section.
        camera: the source, or None to build it from ``config.camera`` (the sim camera then
            renders from this pipeline's pose).
        detector: a loaded detector, or None to stream without detection (no redacted rendition).
        pose_source: the camera pose, as a thread-safe getter or an async iterator.
        publish_detections: receives ``detections`` messages, or None.
        uplink: where packed frames go (an entered :class:`~edge.video.uplink.Uplink`), or None.
        dock_id: this dock.
        plate_detector: an optional licence-plate detector for redaction.
        scene: the incident point while there is one to look at (a thread-safe getter).
        on_scene_in_view: told, for each analysed frame, whether the scene was in it (None:
            no scene to look at, or no pose); called from the analysis thread.
    """

    def __init__(
        self,
        config: VideoConfig,
        camera: Camera | None,
        detector: Detector | None,
        pose_source: PoseSource | None,
        publish_detections: DetectionsCallback | None,
        uplink: FrameSink | None,
        *,
        dock_id: str,
        plate_detector: Detector | None = None,
        scene: Callable[[], LatLon | None] | None = None,
        on_scene_in_view: Callable[[bool | None], None] | None = None,
    ) -> None:
        self.config = config
        self._scene = scene
        self._on_scene_in_view = on_scene_in_view
        self.dock_id = dock_id
        self.stats = PipelineStats()
        self._camera = camera
        self._detector = detector
        self._plates = plate_detector
        self._pose_source = pose_source
        self._pose: CameraPose | None = None
        self._publish = publish_detections
        self._uplink = uplink
        self._sortie: tuple[str | None, str | None] = (None, None)
        self._lock = asyncio.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._capture: CaptureThread | None = None
        self._frames: LatestSlot[Frame] = LatestSlot()
        self._analysed: LatestSlot[Analysed] = LatestSlot()
        self._pending: Detections | None = None
        self._wake = asyncio.Event()
        self._group: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        rec = config.recording
        self.recorder = (
            Recorder(rec.dir, segment_s=rec.segment_s, fps=config.fps) if rec.dir else None
        )

    # -- what the edge agent calls -------------------------------------------------------

    def set_sortie(self, sortie_id: str | None, incident_id: str | None = None) -> None:
        """Tag frames and detections with a sortie (and start recording it, when configured)."""
        self._sortie = (sortie_id, incident_id)

    def clear_sortie(self) -> None:
        """Stop tagging frames with a sortie (and close its recording)."""
        self._sortie = (None, None)

    def latest_pose(self) -> CameraPose | None:
        """The newest camera pose known to the pipeline (None while unknown or failing)."""
        if self._pose_source is not None and callable(self._pose_source):
            try:
                return self._pose_source()
            except Exception as exc:  # the pose getter must never stop the video
                logger.debug("pose unavailable: %r", exc)
                return None
        return self._pose

    @property
    def capture(self) -> CaptureThread | None:
        """The capture thread while running (for its counters)."""
        return self._capture

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._lock.locked():
            raise OutriderError("the video pipeline is already running", code="reentrant")
        await self._lock.acquire()
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        opencv_single_threaded()
        self._frames, self._analysed = LatestSlot(), LatestSlot()
        camera = self._camera
        if camera is None:
            from edge.video.sources import open_camera

            try:
                camera = open_camera(self.config, self.latest_pose)
            except BaseException:
                self._lock.release()
                raise
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        if self._pose_source is not None and not callable(self._pose_source):
            self._tasks.append(self._group.create_task(self._follow_pose(self._pose_source)))
        if self._publish is not None:
            self._tasks.append(self._group.create_task(self._publish_loop(self._publish)))
        size = (self.config.width, self.config.height)
        self._capture = CaptureThread(
            camera, self._frames, fps=self.config.fps, size=size, pose=self.latest_pose
        )
        self._capture.start()
        for name, target in (("analyse", self._analyse_loop), ("encode", self._encode_loop)):
            thread = threading.Thread(target=target, name=f"video-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._stop.set()
            self._frames.close()
            self._analysed.close()
            capture, threads = self._capture, self._threads
            await asyncio.to_thread(_join_all, capture, threads)
            for task in self._tasks:
                task.cancel()
            if self._group is not None:
                await self._group.__aexit__(None, None, None)
        finally:
            if self.recorder is not None:
                self.recorder.stop()
            self._threads, self._capture, self._group, self._tasks = [], None, None, []
            self._lock.release()

    # -- event-loop side ------------------------------------------------------------------

    async def _follow_pose(self, poses: AsyncIterator[CameraPose]) -> None:
        try:
            async for pose in poses:
                self._pose = pose
        except Exception as exc:  # frames keep flowing, projected with the last pose known
            logger.warning("the pose stream failed: %r", exc)

    def _post(self, callback: Callable[..., object], *args: object) -> None:
        """Run ``callback`` on the event loop from a worker thread (dropped once it closed)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback, *args)

    def _on_detections(self, message: Detections) -> None:
        self._pending = message
        self._wake.set()

    async def _publish_loop(self, publish: DetectionsCallback) -> None:
        period = 1.0 / self.config.detections_hz
        had_objects = False
        while True:
            await self._wake.wait()
            self._wake.clear()
            message, self._pending = self._pending, None
            if message is None or (not message.objects and not had_objects):
                continue
            had_objects = bool(message.objects)
            started = time.monotonic()
            try:
                await within(publish(message), PUBLISH_TIMEOUT_S)
                self.stats.published += 1
            except Exception as exc:  # a failing consumer must not stop the video
                self.stats.publish_failures += 1
                if self.stats.publish_failures in (1, 10) or self.stats.publish_failures % 100 == 0:
                    logger.warning(
                        "publishing detections failed (%d so far): %r",
                        self.stats.publish_failures,
                        exc,
                    )
            await asyncio.sleep(max(0.0, period - (time.monotonic() - started)))

    # -- worker threads -------------------------------------------------------------------

    def _analyse_loop(self) -> None:
        cfg = self.config
        analyser = Analyser(
            self._detector,
            cfg.tracker.tracker(),
            cfg.hfov_deg,
            cfg.redaction.classes,
            self._plates,
            interest=cfg.tracker.interest(),
        )
        t_last = time.monotonic()
        while not self._stop.is_set():
            frame = self._frames.get(timeout=0.5)
            if frame is None:
                continue
            self._mark_scene(frame)
            started = time.monotonic()
            result = analyser.run(frame)
            now = time.monotonic()
            self.stats.analyse_s += now - started
            dt, t_last = now - t_last, now
            self.stats.fps = (
                0.9 * self.stats.fps + 0.1 / dt if self.stats.fps and dt > 0 else 1 / max(dt, 1e-3)
            )
            self.stats.analysed += 1
            if result.error and self._detector is not None:
                self.stats.detect_errors += 1
                if self.stats.detect_errors in (1, 10, 100) or self.stats.detect_errors % 1000 == 0:
                    logger.warning(
                        "detection failed (%d so far): %s", self.stats.detect_errors, result.error
                    )
            self._analysed.put(result)
            if result.objects is not None:
                message = Detections(
                    dock_id=self.dock_id,
                    sortie_id=self._sortie[0],
                    frame=frame.seq,
                    t=frame.t,
                    objects=result.objects,
                )
                self._post(self._on_detections, message)

    def _mark_scene(self, frame: Frame) -> None:
        """Project the incident point into the frame: is the scene in the picture?"""
        point = self._scene() if self._scene is not None else None
        seen: bool | None = None
        if point is not None and frame.pose is not None:
            h, w = frame.image.shape[:2]
            seen = in_view(CameraModel(w, h, self.config.hfov_deg), frame.pose, point)
        frame.meta["scene_in_view"] = seen
        if self._on_scene_in_view is not None:
            try:
                self._on_scene_in_view(seen)
            except Exception as exc:  # a failing listener must not stop the video
                logger.debug("scene-in-view listener failed: %r", exc)

    def _encode_loop(self) -> None:
        cfg = self.config
        recorded = cfg.recording.renditions if self.recorder is not None else []
        link = self._uplink.link if self._uplink is not None else None
        encoder = Encoder(self.dock_id, cfg, [*cfg.uplink.renditions, *recorded], link)
        recording: str | None = None
        try:
            while not self._stop.is_set():
                item = self._analysed.get(timeout=0.5)
                if item is None:
                    continue
                sortie_id, incident_id = self._sortie
                if self.recorder is not None and sortie_id != recording:
                    recording = self._switch_recording(sortie_id, incident_id)
                    encoder.request_keyframe(*recorded)  # a recording starts at a keyframe
                started = time.monotonic()
                try:
                    out = encoder.run(
                        item, sortie_id=sortie_id, incident_id=incident_id, fps=self.stats.fps
                    )
                except Exception as exc:  # one bad frame must not stop the stream
                    logger.warning("frame %d not encoded: %s", item.frame.seq, exc)
                    continue
                self.stats.encode_s += time.monotonic() - started
                self.stats.encoded += 1
                self.stats.redacted += sum(f.rendition == "redacted" for f in out.frames)
                self.stats.redaction_failed += out.redaction_failed
                self._deliver(out.frames, recording is not None)
        finally:
            encoder.close()

    def _deliver(self, frames: list[EncodedFrame], recording: bool) -> None:
        cfg = self.config
        for f in frames:
            if self._uplink is not None and f.rendition in cfg.uplink.renditions:
                self._post(self._offer, f.rendition, f.packed, f.t_mono, f.header.key)
            if recording and self.recorder is not None and f.rendition in cfg.recording.renditions:
                try:
                    self.recorder.write(f)
                except Exception as exc:  # a failing disk must not stop the live stream
                    logger.error("recording failed: %s", exc)

    def _offer(self, rendition: Rendition, data: bytes, t_mono: float, key: bool) -> None:
        if self._uplink is not None:
            self._uplink.offer(rendition, data, t_mono, key)

    def _switch_recording(self, sortie_id: str | None, incident_id: str | None) -> str | None:
        assert self.recorder is not None
        try:
            self.recorder.stop()
            if sortie_id is not None:
                self.recorder.start(sortie_id, incident_id)
        except OSError as exc:
            logger.error("recording failed: %s", exc)
        return sortie_id


def _join_all(capture: CaptureThread | None, threads: list[threading.Thread]) -> None:
    if capture is not None:
        capture.stop()
    for thread in threads:
        thread.join(5.0)
