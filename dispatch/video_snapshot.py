"""JPEG snapshots of a dock's newest frame, for ``/frame.jpg`` and the MJPEG stream.

A JPEG stream's frames are snapshots already. An H.264 stream's newest picture is decoded on
request, off the event loop, from the latest keyframe group (the relay keeps it anyway), at most
once per ``min_interval_s`` per dock and rendition however many clients ask: the live relay
itself never decodes.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from dataclasses import dataclass

import av

from dispatch.video_relay import Channel, Frame

__all__ = ["Snapshots", "decode", "decode_last"]

logger = logging.getLogger(__name__)

JPEG_QUALITY = 80


def decode(access_units: list[bytes]) -> list[av.VideoFrame]:
    """Decode H.264 access units (Annex B, from a keyframe on) into pictures, in order.

    Raises:
        av.FFmpegError: the packets do not decode.
    """
    decoder = av.CodecContext.create("h264", "r")
    assert isinstance(decoder, av.VideoCodecContext)
    pictures: list[av.VideoFrame] = []
    for data in access_units:
        pictures.extend(decoder.decode(av.Packet(data)))
    pictures.extend(decoder.decode(None))  # what the decoder still holds
    return pictures


def decode_last(frames: list[Frame]) -> bytes | None:
    """Decode an H.264 keyframe group and return its last picture as a JPEG (None if none).

    Raises:
        av.FFmpegError: the packets do not decode.
    """
    pictures = decode([frame.body for frame in frames])
    if not pictures:
        return None
    picture = pictures[-1]
    out = io.BytesIO()
    image = picture.to_image()  # type: ignore[no-untyped-call]
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


@dataclass(slots=True)
class _Cached:
    frame: Frame
    jpeg: bytes | None
    made: float


class Snapshots:
    """Snapshots of each dock's renditions, decoded on demand and cached.

    Args:
        min_interval_s: a cached snapshot younger than this is served as it is.
    """

    def __init__(self, min_interval_s: float = 0.5) -> None:
        self.min_interval_s = min_interval_s
        self.decodes = 0
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def jpeg(self, channel: Channel, rendition: str) -> bytes | None:
        """The newest picture of ``rendition`` as a JPEG, or None while there is none."""
        latest = channel.latest.get(rendition)
        if latest is None:
            return None
        if latest.header.codec == "jpeg":
            return latest.body
        key = (channel.dock_id, rendition)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._cache.get(key)
            now = time.monotonic()
            if cached is not None and (
                cached.frame is channel.latest.get(rendition)
                or now - cached.made < self.min_interval_s
            ):
                return cached.jpeg
            gop = channel.gops.get(rendition)
            frames = list(gop.frames) if gop is not None else []
            if not frames:
                return cached.jpeg if cached else None
            try:
                jpeg = await asyncio.to_thread(decode_last, frames)
            except av.FFmpegError as exc:
                logger.warning("no snapshot of %s %s: %s", channel.dock_id, rendition, exc)
                jpeg = None
            self.decodes += 1
            self._cache[key] = _Cached(frames[-1], jpeg, time.monotonic())
            return jpeg
