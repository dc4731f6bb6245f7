"""The uplink against a real WebSocket ingest: token, restarts, backpressure."""

from __future__ import annotations

import asyncio
import time

import pytest

from edge.errors import ConfigError
from edge.protocol.video import FrameHeader, pack_frame
from edge.video import Uplink, ingest_url
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


def test_the_ingest_url_is_built_from_dispatchs_base_url() -> None:
    assert ingest_url("http://h:8000", "dock-01") == "ws://h:8000/api/v1/video/ingest/dock-01"
    assert ingest_url("https://h/", "d") == "wss://h/api/v1/video/ingest/d"
    assert ingest_url("ws://h/api/v1/video/ingest/d", "d") == "ws://h/api/v1/video/ingest/d"
    with pytest.raises(ConfigError):
        ingest_url("ftp://h", "d")


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


async def test_the_uplink_survives_the_receiver_restarting(receiver: Receiver) -> None:
    async with Uplink(receiver.url, "dock-01", "secret", backoff_s=(0.05, 0.2)) as uplink:
        await offer_until(uplink, receiver, 3)
        await receiver.stop()
        uplink.offer("raw", frame(1000), time.monotonic())
        await asyncio.sleep(0.3)  # the receiver is down for a while
        before = len(receiver.frames)
        await receiver.start()
        await offer_until(uplink, receiver, before + 3)
    assert receiver.connections >= 2
    assert uplink.stats.connects >= 2 and uplink.stats.failures >= 1


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
            receiver.url, "dock-01", "secret", stall_timeout_s=0.5, backoff_s=(0.05, 0.2)
        ) as uplink,
    ):
        if True:
            worst_lag = 0.0
            offered = 0
            t_end = time.monotonic() + 3.0
            while time.monotonic() < t_end:
                t = time.monotonic()
                await asyncio.sleep(0.005)
                worst_lag = max(worst_lag, time.monotonic() - t - 0.005)
                uplink.offer("raw", frame(offered, size=200_000), time.monotonic())
                offered += 1
                assert len(uplink._pending) <= 2
            assert uplink.stats.dropped > 0
            assert uplink.stats.sent < offered
            assert uplink.stats.failures >= 1  # the stall was noticed and the link re-made
            assert worst_lag < 0.5
