"""An MP4 file of encoded frames, written with PyAV's muxer: packets go in as they are.

H.264 access units arrive in Annex B form with their parameter sets in band; the muxer is given
the first keyframe's SPS and PPS as the stream's configuration and stores the packets
length-prefixed, as MP4 wants, without touching a picture. JPEG frames (the fallback mode) go
in as Motion-JPEG. Each packet's duration is the time to the next one; the last gets one
nominal frame. ``+faststart`` puts the index first, so a browser plays the file as it loads.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from edge.protocol.h264 import parameter_sets
from edge.protocol.video import Codec

__all__ = ["Mp4Writer"]

CLOCK = 90_000


class Mp4Writer:
    """Appends encoded frames to one MP4 file; the first frame must be a keyframe.

    Args:
        path: the file to create.
        codec: ``h264`` or ``jpeg``.
        width, height: frame size.
        fps: nominal rate (the last frame's duration).
    """

    def __init__(self, path: Path, codec: Codec, width: int, height: int, fps: float) -> None:
        self.path = path
        self.codec = codec
        self.size = (width, height)
        self.fps = fps
        self.frames = 0
        self.keyframes = 0
        self._container: av.container.OutputContainer | None = None
        self._stream: av.VideoStream | None = None
        self._t0 = 0.0
        self._held: tuple[bytes, bool, int] | None = None
        self._last_pts = -1

    @property
    def duration_s(self) -> float:
        """Time covered by the frames written so far (the last one's nominal duration included)."""
        if self._held is None:
            return 0.0
        return (self._held[2] + self._nominal()) / CLOCK

    def add(self, body: bytes, key: bool, t_mono: float) -> None:
        """Append one frame captured at ``t_mono`` (monotonic seconds).

        Raises:
            ValueError: the file's first frame is not a keyframe.
        """
        if self._container is None:
            if not key:
                raise ValueError("an MP4 segment must start at a keyframe")
            self._open(body)
            self._t0 = t_mono
        pts = max(round((t_mono - self._t0) * CLOCK), self._last_pts + 1)
        self._last_pts = pts
        if self._held is not None:
            data, was_key, held_pts = self._held
            self._mux(data, was_key, held_pts, pts - held_pts)
        self._held = (body, key, pts)
        self.frames += 1
        self.keyframes += key

    def close(self) -> None:
        """Write the last frame and the index, and close the file."""
        if self._container is None:
            return
        if self._held is not None:
            data, key, pts = self._held
            self._mux(data, key, pts, self._nominal())
        self._container.close()
        self._container = None

    def _nominal(self) -> int:
        return round(CLOCK / self.fps)

    def _open(self, first: bytes) -> None:
        container = av.open(str(self.path), "w", format="mp4", options={"movflags": "+faststart"})
        stream = container.add_stream("h264" if self.codec == "h264" else "mjpeg")
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = self.size
        stream.time_base = Fraction(1, CLOCK)
        if self.codec == "h264":
            stream.codec_context.extradata = parameter_sets(first)
        else:
            stream.pix_fmt = "yuvj420p"
        self._container, self._stream = container, stream

    def _mux(self, data: bytes, key: bool, pts: int, duration: int) -> None:
        assert self._container is not None and self._stream is not None
        packet = av.Packet(data)
        packet.pts = packet.dts = pts
        packet.duration = max(duration, 1)
        packet.time_base = Fraction(1, CLOCK)
        packet.is_keyframe = key
        packet.stream = self._stream
        self._container.mux(packet)
