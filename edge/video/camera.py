"""Camera sources behind one interface: video files and image loops, RTSP/HTTP streams, V4L2.

The drivers that open them from a config are in :mod:`edge.video.cameras`. The synthetic
camera that renders the simulated world lives in :mod:`sim.camera` and follows the same
:class:`Camera` protocol. ``read`` is blocking and is only ever called from the
capture thread.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.errors import OutriderError
from edge.video.frames import CameraFrame

__all__ = [
    "BACKENDS",
    "IMAGE_SUFFIXES",
    "Backend",
    "Camera",
    "CameraError",
    "ImageLoopCamera",
    "StreamCamera",
    "VideoFileCamera",
]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
Backend = Literal["any", "ffmpeg", "v4l2"]
BACKENDS: dict[Backend, int] = {"any": cv2.CAP_ANY, "ffmpeg": cv2.CAP_FFMPEG, "v4l2": cv2.CAP_V4L2}


class CameraError(OutriderError):
    """A camera that cannot be opened or read."""

    default_code = "camera_unavailable"


@runtime_checkable
class Camera(Protocol):
    """A source of frames.

    Attributes:
        name: what to call it in logs.
        live: True when the source paces itself (a device or a stream); False when the capture
            thread must pace it to the configured rate (files, image loops, the sim).
    """

    name: str
    live: bool

    def open(self) -> None:
        """Connect; raise :class:`CameraError` when the source cannot be opened."""
        ...

    def read(self) -> CameraFrame | None:
        """The next frame, blocking; None when the stream was lost (the caller reopens)."""
        ...

    def close(self) -> None:
        """Release the source; ``open`` may be called again afterwards."""
        ...


class ImageLoopCamera:
    """Still images shown in a loop: a file, a folder of images, or a list of files."""

    live = False

    def __init__(self, paths: list[Path]) -> None:
        self.name = f"images:{paths[0] if paths else '-'}"
        self._paths = paths
        self._images: list[NDArray[np.uint8]] = []
        self._i = 0

    @classmethod
    def from_path(cls, path: Path) -> ImageLoopCamera:
        """Every image in a folder (sorted), or the one file."""
        if path.is_dir():
            return cls(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
        return cls([path])

    def open(self) -> None:
        """Read the images into memory."""
        images = [cv2.imread(str(p)) for p in self._paths]
        self._images = [np.ascontiguousarray(i) for i in images if i is not None]
        if not self._images:
            raise CameraError(f"no readable image in {self.name}", code="camera_unavailable")

    def read(self) -> CameraFrame | None:
        """The next image, round and round."""
        if not self._images:
            return None
        image = self._images[self._i % len(self._images)]
        self._i += 1
        return CameraFrame(image.copy())

    def close(self) -> None:
        """Forget the images."""
        self._images = []


class StreamCamera:
    """Anything OpenCV's ``VideoCapture`` opens: RTSP/HTTP URLs, V4L2 devices, video files.

    Args:
        source: URL, device index or path.
        live: whether the source paces itself.
        loop: restart a finite file at its end instead of reporting the stream lost.
        backend: the OpenCV capture backend: ``any``, ``ffmpeg`` (streams) or ``v4l2``.
        timeout_s: open and read timeout for network streams.
    """

    def __init__(
        self,
        source: str | int,
        *,
        live: bool = True,
        loop: bool = False,
        backend: Backend = "any",
        timeout_s: float = 5.0,
    ) -> None:
        self.name = str(source)
        self.live = live
        self._source = source
        self._loop = loop
        self._api = BACKENDS[backend]
        self._timeout_ms = int(timeout_s * 1000)
        self._cap: Any = None

    def open(self) -> None:
        """Open the source with bounded open/read timeouts."""
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            self._timeout_ms,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            self._timeout_ms,
        ]
        cap = cv2.VideoCapture(self._source, self._api, params)
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"camera {self.name} cannot be opened", code="camera_unavailable")
        self._cap = cap

    def read(self) -> CameraFrame | None:
        """The next frame; a file loops when asked to."""
        if self._cap is None:
            return None
        ok, image = self._cap.read()
        if not ok and self._loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
        return CameraFrame(image) if ok and image is not None else None

    def close(self) -> None:
        """Release the capture."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class VideoFileCamera(StreamCamera):
    """A video file played at the configured rate, looping at its end."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise CameraError(f"video file {path} does not exist", code="camera_unavailable")
        super().__init__(str(path), live=False, loop=True)
