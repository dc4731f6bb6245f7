"""Real H.264 uplink messages for tests: a moving picture encoded by the edge's own encoder."""

from __future__ import annotations

import itertools

import numpy as np

from edge.protocol import DetectedObject
from edge.protocol.video import FrameHeader, Rendition, pack_frame
from edge.video.h264 import H264Encoder


class H264Clip:
    """Packed frames of one rendition: noise sliding over a gradient (changes every frame).

    Frame ``n`` is captured at ``n / fps`` on the encoder's clock, so keyframes fall every
    ``keyframe_interval_s * fps`` frames (and whenever one is forced).
    """

    def __init__(
        self,
        dock_id: str = "dock-01",
        rendition: Rendition = "raw",
        *,
        size: tuple[int, int] = (320, 240),
        fps: float = 15.0,
        kbps: int = 1500,
        crf: float = 23.0,
        keyframe_interval_s: float = 1.0,
        seed: int = 1,
    ) -> None:
        self.dock_id, self.rendition, self.size, self.fps = dock_id, rendition, size, fps
        self.encoder = H264Encoder(
            *size, fps=fps, kbps=kbps, crf=crf, keyframe_interval_s=keyframe_interval_s
        )
        self.numbers = itertools.count()
        w, h = size
        rng = np.random.default_rng(seed)
        noise = rng.integers(0, 60, (h, 2 * w, 3), dtype=np.uint8)
        ramp = np.linspace(40, 180, 2 * w, dtype=np.uint8)[None, :, None]
        self.base = (noise + ramp).astype(np.uint8)

    def next(self, force_key: bool = False, t_mono: float | None = None) -> tuple[bytes, bool]:
        """The next frame as an uplink message, and whether it is a keyframe."""
        n = next(self.numbers)
        w, h = self.size
        x = (n * 7) % w
        image = np.ascontiguousarray(self.base[:, x : x + w])
        image[h // 3 : h // 3 + 40, (n * 5) % (w - 40) :][:, :40] = (40, 40, 220)
        packet = self.encoder.encode(
            image, n / self.fps if t_mono is None else t_mono, force_key=force_key
        )
        assert packet is not None
        header = FrameHeader(
            dock_id=self.dock_id,
            frame=n,
            width=w,
            height=h,
            rendition=self.rendition,
            codec="h264",
            key=packet.key,
            codec_string=packet.codec_string,
            objects=[DetectedObject(track_id=1, cls="person", conf=0.9, bbox=[10, 20, 50, 90])],
        )
        return pack_frame(header, packet.data), packet.key

    def take(self, count: int) -> list[bytes]:
        """The next ``count`` messages."""
        return [self.next()[0] for _ in range(count)]
