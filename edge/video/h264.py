"""H.264 encoding of a rendition with PyAV's libx264: ultrafast, zerolatency, constrained baseline.

One encoder per rendition, run on the pipeline's encoding thread; each frame in gives one access
unit out at once (no lookahead, no B-frames, so no frames of delay). On top of the ultrafast
preset, quarter-pixel motion refinement (``subme=2``) is on by default: from a moving camera it
halves the bytes at the same quality for about a millisecond more a frame at 640x480. Keyframes
are IDR frames with their SPS and PPS repeated in band, due every ``keyframe_interval_s`` of
capture time or on request (a new connection, a frame left out of the redacted rendition).
Quality is CRF under a VBV cap; a new cap (the uplink's bitrate ladder) reopens the encoder,
whose first frame is then a keyframe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np
from av.video.frame import PictureType
from numpy.typing import NDArray

from edge.protocol.h264 import codec_string

__all__ = ["H264Encoder", "H264Packet", "to_yuv420"]

logger = logging.getLogger(__name__)

CLOCK = 90_000  # the RTP/MP4 video clock: timestamps in 1/90000 s


@dataclass(frozen=True, slots=True)
class H264Packet:
    """One encoded frame: an Annex B access unit, its presentation time and keyframe flag."""

    data: bytes
    key: bool
    pts: int
    codec_string: str | None = None


def to_yuv420(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A BGR frame as planar YUV 4:2:0 (I420): BT.601, limited range, as decoders assume.

    OpenCV's conversion is a tenth of swscale's time at 640x480 (0.1 against 1 ms).
    """
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)


class H264Encoder:
    """Encodes BGR frames of one size into H.264 access units.

    Args:
        width, height: frame size (even).
        fps: the nominal frame rate (x264 sizes its rate control and level by it).
        kbps: bitrate cap (VBV maximum rate); CRF sets the quality below it.
        crf: constant rate factor (lower is better and bigger).
        keyframe_interval_s: capture time between keyframes.
        preset: x264 speed preset.
        threads: x264 threads (1: the pipeline's other stages need the rest of the cores).
        x264_params: more x264 options (``key=value:key=value``) on top of the preset.
    """

    def __init__(
        self,
        width: int,
        height: int,
        *,
        fps: float,
        kbps: int,
        crf: float = 28.0,
        keyframe_interval_s: float = 1.0,
        preset: str = "ultrafast",
        threads: int = 1,
        x264_params: str = "subme=2",
    ) -> None:
        self.size = (width, height)
        self.fps = fps
        self.kbps = kbps
        self.crf = crf
        self.keyframe_interval_s = keyframe_interval_s
        self.preset = preset
        self.threads = threads
        self.x264_params = x264_params
        self.frames = 0
        self.keyframes = 0
        self._ctx: av.VideoCodecContext | None = None
        self._t0: float | None = None
        self._last_pts = -1
        self._last_key_t: float | None = None
        self._codec: str | None = None

    def _open(self) -> av.VideoCodecContext:
        ctx = av.CodecContext.create("libx264", "w")
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.width, ctx.height = self.size
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, CLOCK)
        ctx.framerate = Fraction(self.fps).limit_denominator(1001)
        ctx.options = {
            "preset": self.preset,
            "tune": "zerolatency",
            "profile": "baseline",
            "x264-params": ":".join(
                (
                    f"crf={self.crf:g}",
                    f"vbv-maxrate={self.kbps}",
                    f"vbv-bufsize={max(self.kbps // 2, 50)}",
                    "keyint=infinite:min-keyint=1:scenecut=0",  # keyframes come when asked
                    "repeat-headers=1:forced-idr=1:aud=0",
                    f"threads={self.threads}",
                    *([self.x264_params] if self.x264_params else []),
                )
            ),
        }
        ctx.open()
        self._codec = None
        return ctx

    def set_kbps(self, kbps: int) -> None:
        """A new cap from the next frame on (that frame is then a keyframe)."""
        if kbps != self.kbps:
            logger.info("H.264 cap %d → %d kbit/s", self.kbps, kbps)
            self.kbps = kbps
            self.close()

    def encode(
        self, image: NDArray[np.uint8], t_mono: float, *, force_key: bool = False
    ) -> H264Packet | None:
        """Encode one BGR frame captured at ``t_mono`` (monotonic seconds).

        Returns None only when the encoder held the frame back (it does not in zerolatency).
        """
        if self._ctx is None:
            self._ctx = self._open()
            force_key = True
        if self._t0 is None:
            self._t0 = t_mono
        pts = max(round((t_mono - self._t0) * CLOCK), self._last_pts + 1)
        self._last_pts = pts
        due = self._last_key_t is None or t_mono - self._last_key_t >= self.keyframe_interval_s
        frame = av.VideoFrame.from_ndarray(to_yuv420(image), format="yuv420p")
        frame.pts = pts
        if force_key or due:
            frame.pict_type = PictureType.I
        packets = self._ctx.encode(frame)
        if not packets:
            return None
        packet = packets[-1]
        data, key = bytes(packet), bool(packet.is_keyframe)
        self.frames += 1
        if key:
            self.keyframes += 1
            self._last_key_t = t_mono
            if self._codec is None:
                self._codec = codec_string(data)
        return H264Packet(data, key, pts, self._codec if key else None)

    def close(self) -> None:
        """Release the encoder (the next frame opens a new one, starting with a keyframe)."""
        self._ctx = None
