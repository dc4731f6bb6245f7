"""The uplink against a real WebSocket ingest: token, restarts, backpressure, a slow link."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from edge.errors import ConfigError
from edge.protocol.video import FrameHeader, pack_frame
from edge.video import Uplink, ingest_url
from edge.video.ladder import BitrateLadder, ladder_ratio, rung_kbps
from sim.linkproxy import LinkProxy
from sim.net import free_tcp_port
from tests.h264clip import H264Clip
from tests.video.conftest import Receiver

pytestmark = pytest.mark.timeout(60)

JPEG = b"\xff\xd8" + b"\x00" * 2000 + b"\xff\xd9"


def frame(n: int, size: int = 0) -> bytes:
    header = FrameHeader(dock_id="dock-01", frame=n, width=640, height=480)
    return pack_frame(header, JPEG + b"\x00" * size)


async def offer_until(uplink: Uplink, receiver: Receiver, count: int) -> None:
    """Offer a frame every 20 ms until the receiver holds ``count`` frames."""

    async def feed() -> None:
        n = 0
        while True:
            n += 1
            uplink.offer("raw", frame(n), time.monotonic())
            await asyncio.sleep(0.02)

    async with asyncio.TaskGroup() as tg:
        feeder = tg.create_task(feed())
        try:
            await receiver.wait_for(count)
        finally:
            feeder.cancel()


async def stream_h264(uplink: Uplink, source: H264Clip, seconds: float) -> None:
    """Offer frames at 15 fps for ``seconds``, following the uplink's keyframe requests and
    bitrate rung as the pipeline's encoder does."""
    assert uplink.link is not None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        source.encoder.set_kbps(rung_kbps(1500, 250, uplink.link.level, 5))
        wanted = uplink.link.take_keyframe_request("raw")
        data, key = source.next(force_key=wanted, t_mono=time.monotonic())
        uplink.offer("raw", data, time.monotonic(), key)
        await asyncio.sleep(1 / 15)


def gaps_start_at_keyframes(headers: Iterator[FrameHeader]) -> bool:
    """Whether every frame follows the one before it, or is a keyframe (what a decoder needs)."""
    last = None
    for h in headers:
        if last is not None and h.frame != last + 1 and not h.key:
            return False
        last = h.frame
    return True


def test_the_ingest_url_is_built_from_dispatchs_base_url() -> None:
    assert ingest_url("http://h:8000", "dock-01") == "ws://h:8000/api/v1/video/ingest/dock-01"
    assert ingest_url("https://h/", "d") == "wss://h/api/v1/video/ingest/d"
    assert ingest_url("ws://h/api/v1/video/ingest/d", "d") == "ws://h/api/v1/video/ingest/d"
    with pytest.raises(ConfigError):
        ingest_url("ftp://h", "d")


def test_the_ladder_steps_down_at_once_and_up_only_after_a_clear_spell() -> None:
    ladder = BitrateLadder(steps=5, up_after_s=8.0, hold_s=1.5)
    assert BitrateLadder(steps=5, step_ratio=0.64).congested(now=5.0, carried=0.35) == 3
    assert ladder.observe(0.5, now=10.0) == 1
    assert ladder.observe(0.5, now=10.5) == 1, "held: the last step has not taken effect yet"
    assert ladder.observe(0.5, now=12.0) == 2
    assert ladder.observe(0.0, now=13.0) == 2
    assert ladder.observe(0.0, now=19.0) == 2
    assert ladder.observe(0.0, now=20.5) == 2
    assert ladder.observe(0.0, now=21.0) == 1
    assert ladder.observe(0.2, now=21.0) == 1, "a middling backlog neither climbs nor falls"
    assert [rung_kbps(1500, 250, level, 5) for level in range(5)] == [1500, 958, 612, 391, 250]


async def test_frames_reach_the_ingest_path_of_the_dock_with_the_bearer_token(
    receiver: Receiver,
) -> None:
    async with Uplink(receiver.url, "dock-01", "secret", backoff_s=(0.05, 0.2)) as uplink:
        await offer_until(uplink, receiver, 3)
    assert receiver.paths[0] == "/api/v1/video/ingest/dock-01"
    header, jpeg = receiver.frames[0]
    assert isinstance(header, FrameHeader) and header.dock_id == "dock-01"
    assert jpeg.startswith(b"\xff\xd8")
    assert uplink.stats.sent >= 3 and len(uplink.stats.latency_s) >= 3


async def test_after_the_receiver_restarts_the_stream_resumes_at_a_keyframe(
    receiver: Receiver,
) -> None:
    source = H264Clip()
    async with Uplink(receiver.url, "dock-01", "secret", backoff_s=(0.05, 0.2)) as uplink:
        assert uplink.link is not None
        async with asyncio.TaskGroup() as tg:
            feeder = tg.create_task(stream_h264(uplink, source, 30))
            await receiver.wait_for(20)
            await receiver.stop()
            await asyncio.sleep(0.3)  # the receiver is down for a while
            before = len(receiver.frames)
            await receiver.start()
            await receiver.wait_for(before + 5)
            feeder.cancel()
    after = [h for h, _ in receiver.frames[before:]]
    assert after[0].key, "a new connection starts with a keyframe"  # type: ignore[attr-defined]
    assert gaps_start_at_keyframes(h for h, _ in receiver.frames)  # type: ignore[misc]
    assert receiver.connections >= 2
    assert uplink.stats.connects >= 2 and uplink.stats.failures >= 1


async def test_given_several_dispatch_addresses_the_uplink_moves_to_the_next_when_one_fails(
    receiver: Receiver,
) -> None:
    other = Receiver()
    await other.start()
    try:
        urls = [f"http://127.0.0.1:{free_tcp_port()}", receiver.url, other.url]  # first: nobody
        async with Uplink(urls, "dock-01", "secret", backoff_s=(0.05, 0.2)) as uplink:
            await offer_until(uplink, receiver, 3)
            assert uplink.url.startswith(f"ws://127.0.0.1:{receiver.port}/")
            await receiver.stop()  # its instance is lost
            await offer_until(uplink, other, 3)
            assert uplink.url.startswith(f"ws://127.0.0.1:{other.port}/")
    finally:
        await other.stop()
    assert uplink.stats.connects == 2 and uplink.stats.failures >= 2


def test_an_uplink_needs_at_least_one_address() -> None:
    with pytest.raises(ConfigError):
        Uplink([], "dock-01")


async def test_a_wrong_token_is_refused_and_the_uplink_keeps_trying_without_crashing() -> None:
    async with Receiver(token="right") as receiver:
        async with Uplink(receiver.url, "dock-01", "wrong", backoff_s=(0.05, 0.05)) as uplink:
            uplink.offer("raw", frame(1), time.monotonic())
            await receiver.wait_refused(2)
        assert not receiver.frames
        assert "401" in uplink.stats.last_error


async def test_a_stalled_receiver_makes_the_uplink_drop_frames_never_queue_or_block_the_loop() -> (
    None
):
    async with (
        Receiver(mode="stall") as receiver,
        Uplink(
            receiver.url,
            "dock-01",
            "secret",
            max_backlog_s=0.3,
            stall_timeout_s=0.5,
            backoff_s=(0.05, 0.2),
        ) as uplink,
    ):
        worst_lag, offered, longest = 0.0, 0, 0
        t_end = time.monotonic() + 3.0
        while time.monotonic() < t_end:
            t = time.monotonic()
            await asyncio.sleep(0.005)
            worst_lag = max(worst_lag, time.monotonic() - t - 0.005)
            uplink.offer(
                "raw", frame(offered, size=200_000), time.monotonic(), key=offered % 20 == 0
            )
            offered += 1
            longest = max(longest, len(uplink._queue))
        assert uplink.stats.dropped > 0
        assert uplink.stats.sent < offered
        assert uplink.stats.failures >= 1  # the stall was noticed and the link re-made
        assert longest <= 0.3 / 0.005 + 2, "never more than the backlog limit's worth queued"
        assert worst_lag < 0.5


async def test_on_a_slow_link_the_uplink_drops_to_keyframes_and_steps_down_the_ladder(
    receiver: Receiver,
) -> None:
    """A 500 kbit/s link under a 1.5 Mbit/s stream: frames are dropped only up to a keyframe
    (what arrives always decodes), a keyframe is asked for at once, the ladder steps down to
    what the link carries, and the stream is live again."""
    source = H264Clip()
    async with LinkProxy("127.0.0.1", receiver.port) as proxy:
        proxy.conditions.rate_kbps = 500
        async with Uplink(
            f"http://127.0.0.1:{proxy.port}",
            "dock-01",
            "secret",
            max_backlog_s=0.5,
            backoff_s=(0.05, 0.2),
            ladder_ratio=ladder_ratio(1500, 250, 5),
        ) as uplink:
            assert uplink.link is not None
            await stream_h264(uplink, source, 12.0)
            level = uplink.link.level
    headers: list[FrameHeader] = [h for h, _ in receiver.frames]  # type: ignore[misc]
    assert uplink.stats.sheds >= 1 and uplink.stats.dropped > 0
    assert level >= 2, "the ladder stepped down below the link's rate"
    assert gaps_start_at_keyframes(iter(headers))
    ages = [at - h.t.timestamp() for h, at in zip(headers, receiver.arrived, strict=True)]
    last = [age for h, age in zip(headers, ages, strict=True) if h.frame >= headers[-1].frame - 15]
    assert max(ages) > 0.5, "the link was behind at first"
    assert max(last) < min(1.0, max(ages) / 2), f"live again at the end: {last}"
