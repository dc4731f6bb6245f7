"""The analysing stage of the pipeline (detect, track, place on the ground) and JPEG encoding.

The stages are plain synchronous classes run by the pipeline's worker threads, so they can be
tested and benchmarked without threads or an event loop (encoding: :mod:`edge.video.encode`).
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
from edge.video.frames import Frame
from edge.video.interest import Interest
from edge.video.track import Tracker

__all__ = ["Analysed", "Analyser", "encode_jpeg", "opencv_single_threaded"]

logger = logging.getLogger(__name__)

Box = tuple[float, float, float, float]


@dataclass(slots=True)
class Analysed:
    """A frame after detection: ``objects`` is None when detection did not run on it."""

    frame: Frame
    objects: list[DetectedObject] | None
    redact_boxes: list[Box] | None
    error: str | None = None


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
        interest: which detections are reported (all, one per box, when not given); the
            redacted rendition still hides every box of ``redact_classes``.
    """

    def __init__(
        self,
        detector: Detector | None,
        tracker: Tracker,
        hfov_deg: float,
        redact_classes: list[str],
        plate_detector: Detector | None = None,
        interest: Interest | None = None,
    ) -> None:
        self.interest = interest
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
        chosen = self.interest.select(found) if self.interest is not None else list(found)
        pose = frame.pose
        spots = [pixel_to_ground(cam, pose, *d.foot) if pose else None for d in chosen]
        objects = []
        for t in self.tracker.update(chosen, spots):
            if self.interest is not None and t.track_id is None:
                continue  # not confirmed yet: neither on the map nor in the list
            spot = t.geo if t.track_id is not None and t.geo is not None else None
            if spot is None and pose is not None:
                spot = pixel_to_ground(cam, pose, *t.det.foot)
            objects.append(
                DetectedObject(
                    track_id=t.track_id,
                    cls=t.cls or t.det.cls,
                    conf=round(min(max(t.det.conf, 0.0), 1.0), 4),
                    bbox=[round(v, 1) for v in t.det.box],
                    geo=GeoPoint(lat=spot.lat, lon=spot.lon) if spot else None,
                )
            )
        boxes = [d.box for d in found if d.cls in self.redact_classes] + [p.box for p in plates]
        return Analysed(frame, objects, boxes)
