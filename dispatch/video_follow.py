"""Following a dock whose uplink is on another instance: its frames off the bus, in order.

A follow subscribes to the dock's frames first, then asks the bus for the latest keyframe
group (the instance holding the uplink answers), so a viewer here starts at a keyframe as it
would on that instance. Frames that arrive while the answer is awaited are held and merged
after it, less those the group already held. After that each frame goes on only if a decoder
can take it: a keyframe, or the frame after the last one of its rendition; after a gap (a
frame too large for the bus, a follower the bus cut off) the rendition waits for its next
keyframe, so what viewers get always decodes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from dispatch.video_bus import Subscription, VideoBus
from edge.errors import ProtocolError

if TYPE_CHECKING:
    from dispatch.video_relay import Frame

__all__ = ["Follow"]

logger = logging.getLogger(__name__)

KEYFRAMES_WAIT_S = 1.0
HELD_MAX = 600  # frames held while the keyframe group is awaited (seconds of video)


class Follow:
    """One dock's frames from the bus into this instance's channel.

    Args:
        bus: the video bus.
        dock_id: the dock.
        parse: a packed frame as a :class:`Frame` (raises :class:`ProtocolError`).
        feed: takes each frame that decodes after the one before it.
        primed: whether the channel already has a keyframe group (no need to ask for one).
    """

    def __init__(
        self,
        bus: VideoBus,
        dock_id: str,
        parse: Callable[[bytes], Frame],
        feed: Callable[[Frame], None],
        primed: Callable[[], bool],
    ) -> None:
        self.bus, self.dock_id = bus, dock_id
        self._parse, self._feed, self._primed = parse, feed, primed
        self._held: list[Frame] | None = []
        self._last: dict[str, int] = {}
        self._sub: Subscription | None = None
        self.frames = self.gaps = 0
        self.stopped = False

    async def start(self) -> None:
        """Subscribe, then take the keyframe group and what came meanwhile."""
        self._sub = await self.bus.follow(self.dock_id, self._on_frame)
        if self.stopped:
            await self.stop()
            return
        group = [] if self._primed() else await self.bus.keyframes(self.dock_id, KEYFRAMES_WAIT_S)
        for packed in group:
            self._on_frame_now(packed)
        upto = dict(self._last)
        held, self._held = self._held or [], None
        for frame in held:
            rendition, n = frame.header.rendition, frame.header.frame
            if rendition in upto and n <= upto[rendition]:
                continue  # the group held it already
            self._take(frame)

    async def stop(self) -> None:
        """Unsubscribe (nothing more is fed)."""
        self.stopped = True
        sub, self._sub = self._sub, None
        if sub is not None:
            await sub.close()

    def _on_frame(self, packed: bytes) -> None:
        if self.stopped:
            return
        if self._held is None:
            self._on_frame_now(packed)
            return
        try:
            frame = self._parse(packed)
        except ProtocolError:
            return
        self._held.append(frame)
        if len(self._held) > HELD_MAX:
            del self._held[0]

    def _on_frame_now(self, packed: bytes) -> None:
        try:
            frame = self._parse(packed)
        except ProtocolError as exc:
            logger.debug("a bad frame of %s on the bus: %s", self.dock_id, exc)
            return
        self._take(frame)

    def _take(self, frame: Frame) -> None:
        rendition, n, key = frame.header.rendition, frame.header.frame, frame.key
        last = self._last.get(rendition)
        if not key and (last is None or n != last + 1):
            if last is not None:
                self.gaps += 1
                del self._last[rendition]  # wait for the next keyframe
            return
        self._last[rendition] = n
        self.frames += 1
        self._feed(frame)
