"""Two relays on one in-process bus, as two instances on NATS: a follower starts at the
uplink's keyframe group, merges what came meanwhile once, and after a lost frame waits for
the next keyframe; a local uplink wins over the bus."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dispatch.metrics import Metrics
from dispatch.video_bus import MemoryVideoBus, MemoryVideoHub
from dispatch.video_relay import Frame, VideoRelay, Viewer
from tests.dispatch.conftest import wait_for
from tests.dispatch.test_video_h264 import decodable
from tests.h264clip import H264Clip
from tests.video.conftest import decode_h264


@pytest.fixture
async def relays() -> AsyncIterator[tuple[VideoRelay, VideoRelay]]:
    hub = MemoryVideoHub()
    async with (
        VideoRelay(Metrics(), MemoryVideoBus(hub)) as a,
        VideoRelay(Metrics(), MemoryVideoBus(hub)) as b,
    ):
        yield a, b


def taken(viewer: Viewer) -> list[Frame]:
    out = []
    while viewer._queue:
        out.append(viewer._queue.popleft())
    return out


async def uplink(relay: VideoRelay, messages: list[bytes]) -> None:
    for data in messages:
        relay.ingest("dock-01", data)
        await relay.forward("dock-01", data)


async def test_a_follower_starts_at_the_uplinks_keyframe_group(
    relays: tuple[VideoRelay, VideoRelay],
) -> None:
    a, b = relays
    clip = H264Clip()
    async with a.uplink("dock-01"):
        await uplink(a, clip.take(20))  # keyframes at 0 and 15
        async with b.watch("dock-01", ("raw",), "websocket", "t") as viewer:
            follow = b.channel("dock-01").follow
            assert follow is not None
            await wait_for(lambda: follow._held is None)
            await uplink(a, clip.take(10))
            frames = taken(viewer)
    assert [f.header.frame for f in frames] == list(range(15, 30))
    pairs = [(f.header, f.body) for f in frames]
    assert decodable(pairs) and len(decode_h264([f.body for f in frames])) == 15
    assert "dock-01" not in b.channels  # nobody watches there any more: nothing followed


class AnswerAfterFrames(MemoryVideoBus):
    """The in-process bus, with frames reaching this instance while its request for the
    keyframe group is under way (as on NATS, where both travel at once)."""

    def __init__(self, hub: MemoryVideoHub, meanwhile: list[bytes]) -> None:
        super().__init__(hub)
        self.meanwhile = meanwhile

    async def keyframes(self, dock_id: str, limit_s: float) -> list[bytes]:
        group = await super().keyframes(dock_id, limit_s)
        for data in self.meanwhile:
            for bus, handler in list(self.hub.followers.get(dock_id, {}).values()):
                if bus is self:
                    handler(data)
        return group


async def test_frames_that_arrive_while_the_group_is_asked_for_are_merged_once() -> None:
    clip = H264Clip()
    messages = clip.take(22)  # keyframes at 0 and 15
    hub = MemoryVideoHub()
    slow = AnswerAfterFrames(hub, messages[17:22])  # 17-19 again, 20 and 21 new
    async with (
        VideoRelay(Metrics(), MemoryVideoBus(hub)) as a,
        VideoRelay(Metrics(), slow) as b,
        a.uplink("dock-01"),
    ):
        await uplink(a, messages[:20])
        async with b.watch("dock-01", ("raw",), "websocket", "t") as viewer:
            follow = b.channel("dock-01").follow
            assert follow is not None
            await wait_for(lambda: follow._held is None)
            frames = taken(viewer)
    assert [f.header.frame for f in frames] == list(range(15, 22))
    assert len(decode_h264([f.body for f in frames])) == 7


async def test_after_a_lost_frame_a_follower_waits_for_the_next_keyframe(
    relays: tuple[VideoRelay, VideoRelay],
) -> None:
    a, b = relays
    clip = H264Clip()
    messages = clip.take(32)  # keyframes at 0, 15 and 30
    async with a.uplink("dock-01"), b.watch("dock-01", ("raw",), "websocket", "t") as viewer:
        follow = b.channel("dock-01").follow
        assert follow is not None
        await wait_for(lambda: follow._held is None)
        frames = []
        for n, data in enumerate(messages):
            a.ingest("dock-01", data)
            if n != 20:  # lost on the way
                await a.forward("dock-01", data)
            frames += taken(viewer)  # a viewer that keeps up
    numbers = [f.header.frame for f in frames]
    assert numbers == [*range(0, 20), 30, 31]
    assert follow.gaps == 1


async def test_a_local_uplink_wins_over_the_bus(relays: tuple[VideoRelay, VideoRelay]) -> None:
    a, b = relays
    other = H264Clip(seed=2)
    async with (
        a.uplink("dock-01"),
        b.uplink("dock-01"),
        b.watch("dock-01", ("raw",), "websocket", "t") as viewer,
    ):
        await uplink(a, other.take(5))  # an old connection of the edge, still sending to a
        local = H264Clip().take(5)
        for data in local:
            b.ingest("dock-01", data)
        frames = taken(viewer)
    assert [f.packed for f in frames] == local
