"""The redacted release copy of a recording: decoded from the original, people (and plates,
when a plate detector is configured) pixelated by the project's detector, encoded as a new
H.264 MP4. The original is only read.

Redaction fails closed: a frame the detector or the redaction cannot handle stops the copy
with :class:`edge.video.redact.RedactionError`, so no half-redacted file is ever released.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import av
import numpy as np

from dispatch.evidence.config import RedactionCopyConfig
from edge.detect import Detector, load_detector
from edge.errors import OutriderError
from edge.video.redact import RedactionError, redact

__all__ = ["ReleaseRedactor"]

logger = logging.getLogger(__name__)

Box = tuple[float, float, float, float]


class ReleaseRedactor:
    """Makes release copies; loads its detectors on enter, releases them on exit.

    Args:
        config: which detector, which classes, plates or not.
    """

    def __init__(self, config: RedactionCopyConfig) -> None:
        self.config = config
        self._detector: Detector | None = None
        self._plates: Detector | None = None
        self.model_path: Path | None = None

    def __enter__(self) -> Self:
        self._detector = load_detector(self.config.detector)
        self.model_path = self.config.detector.model_path()
        if self.config.plate_detector is not None:
            self._plates = load_detector(self.config.plate_detector)
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for detector in (self._detector, self._plates):
            if detector is not None:
                detector.close()
        self._detector = self._plates = None

    def boxes(self, image: np.ndarray[Any, np.dtype[np.uint8]]) -> list[Box]:
        """What to pixelate in one BGR frame."""
        if self._detector is None:
            raise RedactionError("the release redactor is not open")
        wanted = set(self.config.classes)
        found = [d.box for d in self._detector.detect(image) if d.cls in wanted]
        if self._plates is not None:
            found += [d.box for d in self._plates.detect(image)]
        return found

    def copy(self, original: Path, out: Path) -> int:
        """Write the redacted copy of ``original`` to ``out`` (MP4, H.264); frames written.

        Raises:
            RedactionError: the original cannot be decoded or a frame cannot be redacted.
        """
        try:
            return self._copy(original, out)
        except RedactionError:
            out.unlink(missing_ok=True)
            raise
        except (av.error.FFmpegError, OutriderError, ValueError, OSError) as exc:
            out.unlink(missing_ok=True)
            raise RedactionError(f"{original.name}: cannot make a release copy: {exc}") from exc

    def _copy(self, original: Path, out: Path) -> int:
        frames = 0
        boxes: list[Box] = []
        with av.open(str(original)) as src, av.open(str(out), "w", format="mp4") as dst:
            stream_in = src.streams.video[0]
            rate = stream_in.average_rate or stream_in.guessed_rate or Fraction(15)
            stream_out = dst.add_stream("libx264", rate=rate)
            stream_out.pix_fmt = "yuv420p"
            stream_out.options = {"preset": "veryfast", "crf": "23"}
            for frame in src.decode(stream_in):
                image = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
                if frames == 0:
                    stream_out.width = image.shape[1] - image.shape[1] % 2
                    stream_out.height = image.shape[0] - image.shape[0] % 2
                if frames % self.config.every_n_frames == 0:
                    boxes = self.boxes(image)
                clean = redact(image, boxes)
                h, w = stream_out.height, stream_out.width
                encoded = av.VideoFrame.from_ndarray(np.ascontiguousarray(clean[:h, :w]), "bgr24")
                for packet in stream_out.encode(encoded):
                    dst.mux(packet)
                frames += 1
            for packet in stream_out.encode(None):
                dst.mux(packet)
        if frames == 0:
            raise RedactionError(f"{original.name} holds no video frames")
        logger.info("release copy of %s: %d frames", original.name, frames)
        return frames
