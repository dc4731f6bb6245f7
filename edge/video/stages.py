"""The two CPU stages of the pipeline: analyse (detect, track, place on the ground) and encode.

Both are plain synchronous classes run by the pipeline's worker threads, so they can be tested
and benchmarked without threads or an event loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.detect import Detector
from edge.geoproject import CameraModel, pixel_to_ground
from edge.protocol import DetectedObject, GeoPoint
from edge.protocol.video import FrameHeader, Rendition, pack_frame
from edge.video.annotate import Hud, draw_hud, draw_objects
from edge.video.frames import Frame
from edge.video.redact import redact
from edge.video.track import Tracker

__all__ = ["Analysed", "Analyser", "Encoded", "Encoder", "encode_jpeg", "opencv_single_threaded"]

logger = logging.getLogger(__name__)

Box = tuple[float, float, float, float]


@dataclass(slots=True)
class Analysed:
    """A frame after detection: ``objects`` is None when detection did not run on it."""

    frame: Frame
    objects: list[DetectedObject] | None
    redact_boxes: list[Box] | None
    error: str | None = None


@dataclass(slots=True)
class Encoded:
    """Packed uplink messages of one frame, and the JPEGs to record."""

    messages: list[tuple[Rendition, bytes]]
    annotated_jpeg: bytes
    redaction_failed: bool = False


def opencv_single_threaded() -> None:
    """Make each OpenCV call run on its calling thread.

    The pipeline already runs its stages in parallel; OpenCV's own worker pool would only
    compete with them (and with the detector) for the same cores.
    """
    cv2.setNumThreads(1)


def encode_jpeg(image: NDArray[np.uint8], quality: int) -> bytes:
    """JPEG bytes of a BGR frame.

    Raises:
        ValueError: OpenCV could not encode the frame.
    """
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf)


class Analyser:
    """Detect, track and project one frame at a time.

    Args:
        detector: the detector, or None to stream without detection (then nothing is redacted
            and no redacted rendition is produced).
        tracker: assigns track ids.
        hfov_deg: the camera's horizontal field of view, for ground projection.
        redact_classes: classes hidden in the redacted rendition.
        plate_detector: an optional second detector whose boxes are all redacted.
    """

    def __init__(
        self,
        detector: Detector | None,
        tracker: Tracker,
        hfov_deg: float,
        redact_classes: list[str],
        plate_detector: Detector | None = None,
    ) -> None:
        self.detector = detector
        self.tracker = tracker
        self.hfov_deg = hfov_deg
        self.redact_classes = set(redact_classes)
        self.plate_detector = plate_detector

    def run(self, frame: Frame) -> Analysed:
        """Analyse one frame; a detector failure yields ``objects=None``, never an exception."""
        if self.detector is None:
            return Analysed(frame, None, None, "no detector")
        try:
            found = self.detector.detect(frame.image)
            plates = self.plate_detector.detect(frame.image) if self.plate_detector else []
        except Exception as exc:  # a runtime failure must not stop the stream
            return Analysed(frame, None, None, f"{type(exc).__name__}: {exc}")
        h, w = frame.image.shape[:2]
        cam = CameraModel(w, h, self.hfov_deg)
        objects = []
        for t in self.tracker.update(found):
            geo = None
            if frame.pose is not None:
                spot = pixel_to_ground(cam, frame.pose, *t.det.foot)
                geo = GeoPoint(lat=spot.lat, lon=spot.lon) if spot else None
            objects.append(
                DetectedObject(
                    track_id=t.track_id,
                    cls=t.det.cls,
                    conf=round(min(max(t.det.conf, 0.0), 1.0), 4),
                    bbox=[round(v, 1) for v in t.det.box],
                    geo=geo,
                )
            )
        boxes = [d.box for d in found if d.cls in self.redact_classes] + [p.box for p in plates]
        return Analysed(frame, objects, boxes)


class Encoder:
    """Annotate, redact and JPEG-encode one analysed frame into uplink messages.

    The redacted rendition is made only from a frame whose detection ran, and only when the
    redaction itself succeeded: otherwise that frame has no redacted message (fail closed).
    """

    def __init__(self, dock_id: str, quality: int, renditions: list[Rendition]) -> None:
        self.dock_id = dock_id
        self.quality = quality
        self.renditions = renditions

    def run(
        self,
        a: Analysed,
        *,
        sortie_id: str | None = None,
        incident_id: str | None = None,
        fps: float | None = None,
    ) -> Encoded:
        """The messages for one frame (``raw`` always, ``redacted`` when it is safe)."""
        frame, objects = a.frame, a.objects or []
        h, w = frame.image.shape[:2]
        pose = frame.pose
        hud = Hud(
            frame.t,
            pose.alt_agl_m if pose else None,
            pose.heading_deg if pose else None,
            incident_id,
            fps,
        )

        def message(rendition: Rendition, jpeg: bytes) -> tuple[Rendition, bytes]:
            header = FrameHeader(
                dock_id=self.dock_id,
                frame=frame.seq,
                t=frame.t,
                sortie_id=sortie_id,
                incident_id=incident_id,
                rendition=rendition,
                width=w,
                height=h,
                objects=objects,
            )
            return rendition, pack_frame(header, jpeg)

        annotated = frame.image.copy()
        draw_objects(annotated, objects)
        draw_hud(annotated, hud)
        annotated_jpeg = encode_jpeg(annotated, self.quality)
        out = Encoded([], annotated_jpeg)
        if "raw" in self.renditions:
            out.messages.append(message("raw", annotated_jpeg))
        if "redacted" in self.renditions and a.objects is not None and a.redact_boxes is not None:
            try:
                hidden = redact(frame.image, a.redact_boxes)
                draw_objects(hidden, objects)
                draw_hud(
                    hidden, Hud(hud.t, hud.alt_m, hud.heading_deg, incident_id, fps, "redacted")
                )
                out.messages.append(message("redacted", encode_jpeg(hidden, self.quality)))
            except Exception as exc:  # fail closed: no redacted frame
                logger.warning("frame %d not redacted: %s", frame.seq, exc)
                out.redaction_failed = True
        return out
