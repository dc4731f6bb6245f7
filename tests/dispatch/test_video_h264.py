"""The relay with real H.264: keyframe groups for late joiners, slow viewers skipping to
keyframes, one rendition per viewer, snapshots decoded on request, the edge's ladder in metrics."""

from __future__ import annotations

import asyncio
import socket

import cv2
import numpy as np
from websockets.asyncio.client import ClientConnection

from edge.protocol.video import FrameHeader, LinkReport, pack_frame, unpack_frame
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.dispatch.test_video import viewers_ready, ws
from tests.h264clip import H264Clip
from tests.video.conftest import decode_h264

INGEST = "/api/v1/video/ingest/dock-01"
WATCH = "/api/v1/video/dock-01/ws"


async def received(
    conn: ClientConnection, n: int, limit_s: float = 10.0
) -> list[tuple[FrameHeader, bytes]]:
    out = []
    async with asyncio.timeout(limit_s):
        while len(out) < n:
            data = await conn.recv()
            assert isinstance(data, bytes)
            out.append(unpack_frame(data))
    return out


def small_socket(port: int) -> socket.socket:
    """A connected socket with a small receive buffer: a phone that has stopped reading soon
    stops taking data, instead of the machine's loopback buffers taking megabytes for it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def decodable(frames: list[tuple[FrameHeader, bytes]]) -> bool:
    """Every frame of each rendition follows the one before it, or is a keyframe."""
    last: dict[str, int] = {}
    for h, _ in frames:
        if h.rendition in last and h.frame != last[h.rendition] + 1 and not h.key:
            return False
        if h.rendition not in last and not h.key:
            return False
        last[h.rendition] = h.frame
    return True


async def test_a_late_joiner_starts_at_the_latest_keyframe_and_everything_it_gets_decodes(
    dispatch_service: RunningDispatch,
) -> None:
    clip = H264Clip()
    async with ws(dispatch_service, INGEST, "edge") as ingest:
        for message in clip.take(20):  # keyframes at 0 and 15
            await ingest.send(message)
        channel = dispatch_service.runtime.video.channel("dock-01")
        await wait_for(lambda: channel.frames_in == 20)
        async with ws(dispatch_service, WATCH, "dispatcher") as late:
            first = await received(late, 5)
            assert [h.frame for h, _ in first] == [15, 16, 17, 18, 19]
            assert first[0][0].key
            for message in clip.take(10):
                await ingest.send(message)
            rest = await received(late, 10)
    frames = first + rest
    assert [h.frame for h, _ in frames] == list(range(15, 30))
    assert len(decode_h264([body for _, body in frames])) == 15


async def test_a_stalled_viewer_skips_to_a_keyframe_while_a_fast_one_gets_every_frame(
    dispatch_service: RunningDispatch,
) -> None:
    clip = H264Clip(size=(640, 480), kbps=8000, crf=12)
    async with (
        ws(dispatch_service, INGEST, "edge") as ingest,
        ws(
            dispatch_service,
            WATCH,
            "dispatcher",
            max_queue=1,
            close_timeout=0.5,
            sock=small_socket(dispatch_service.port),
        ) as stalled,
        ws(dispatch_service, WATCH, "dispatcher", max_size=None) as fast,
    ):
        await viewers_ready(dispatch_service, "dock-01", 2)
        got: list[tuple[FrameHeader, bytes]] = []

        async def read_fast() -> None:
            while len(got) < 90:
                data = await fast.recv()
                assert isinstance(data, bytes)
                got.append(unpack_frame(data))

        loop = asyncio.get_running_loop()
        async with asyncio.TaskGroup() as group:
            reader = group.create_task(read_fast())
            start = loop.time()
            for message in clip.take(90):
                await ingest.send(message)
                await asyncio.sleep(1 / 30)
            sending_s = loop.time() - start
            async with asyncio.timeout(15):
                await reader
        channel = dispatch_service.runtime.video.channel("dock-01")
        slow = next(v for v in channel.viewers if v.frames_sent < 90)
        assert slow.skips >= 1 and slow.frames_dropped > 0
        late: list[tuple[FrameHeader, bytes]] = []
        while True:  # now read what the stalled viewer was sent
            try:
                data = await asyncio.wait_for(stalled.recv(), 2.0)
            except TimeoutError:
                break
            assert isinstance(data, bytes)
            late.append(unpack_frame(data))
    assert sending_s < 90 / 30 * 2, "the ingest was never held up"
    assert [h.frame for h, _ in got] == list(range(90))
    assert 0 < len(late) < 90 and decodable(late)
    assert len(decode_h264([body for _, body in late])) == len(late)


async def test_a_viewer_changes_rendition_only_at_a_keyframe(
    dispatch_service: RunningDispatch,
) -> None:
    raw, redacted = H264Clip(rendition="raw"), H264Clip(rendition="redacted", seed=2)
    async with (
        ws(dispatch_service, INGEST, "edge") as ingest,
        ws(dispatch_service, WATCH, "dispatcher") as viewer,
    ):
        await viewers_ready(dispatch_service, "dock-01", 1)
        for _ in range(5):
            await ingest.send(raw.next()[0])
            await ingest.send(redacted.next()[0])
        first = await received(viewer, 5)
        assert {h.rendition for h, _ in first} == {"raw"}, "raw preferred while it is live"
        await asyncio.sleep(1.2)  # raw goes quiet; redacted goes on
        for _ in range(25):
            await ingest.send(redacted.next()[0])
            await asyncio.sleep(0.01)
        after = await received(viewer, 10)
    assert {h.rendition for h, _ in after} == {"redacted"}
    assert after[0][0].key and after[0][0].frame == 15, "switched at redacted's next keyframe"
    assert decodable(first + after)


async def test_snapshots_and_mjpeg_are_decoded_from_the_h264_stream_on_request(
    dispatch_service: RunningDispatch,
) -> None:
    clip = H264Clip()
    messages = clip.take(8)
    newest = decode_h264([unpack_frame(m)[1] for m in messages])[-1]
    async with (
        ws(dispatch_service, INGEST, "edge") as ingest,
        dispatch_service.client("dispatcher") as http,
    ):
        for message in messages:
            await ingest.send(message)
        channel = dispatch_service.runtime.video.channel("dock-01")
        await wait_for(lambda: channel.frames_in == 8)
        snap = await http.get("/api/v1/video/dock-01/frame.jpg")
        assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"
        picture = cv2.imdecode(np.frombuffer(snap.content, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == newest.shape == (240, 320, 3)
        small = [cv2.resize(p, (32, 24), interpolation=cv2.INTER_AREA) for p in (picture, newest)]
        assert np.abs(small[0].astype(int) - small[1]).mean() < 4, "the newest frame, as a JPEG"
        again = await http.get("/api/v1/video/dock-01/frame.jpg")
        assert again.content == snap.content and dispatch_service.runtime.snapshots.decodes == 1
        async with http.stream("GET", "/api/v1/video/dock-01/mjpeg") as mjpeg:
            await ingest.send(clip.next()[0])
            chunk = b""
            async with asyncio.timeout(5):
                async for part in mjpeg.aiter_bytes():
                    chunk += part
                    if b"\xff\xd9" in chunk:
                        break
        assert b"Content-Type: image/jpeg" in chunk


async def test_the_edges_bitrate_ladder_shows_in_the_metrics(
    dispatch_service: RunningDispatch,
) -> None:
    clip = H264Clip()
    message, key = clip.next()
    assert key
    header, body = unpack_frame(message)
    report = LinkReport(level=2, target_kbps=612, dropped=31, backlog_ms=250.0)
    async with ws(dispatch_service, INGEST, "edge") as ingest:
        await ingest.send(pack_frame(header.model_copy(update={"link": report}), body))
        await ingest.send(clip.next()[0])
        channel = dispatch_service.runtime.video.channel("dock-01")
        await wait_for(lambda: channel.frames_in == 2)
    async with dispatch_service.client("admin") as http:
        text = (await http.get("/metrics")).text
    assert 'dispatch_video_uplink_level{dock_id="dock-01"} 2.0' in text
    assert 'dispatch_video_uplink_target_kbps{dock_id="dock-01",rendition="raw"} 612.0' in text
    assert 'dispatch_video_uplink_dropped_frames{dock_id="dock-01"} 31.0' in text
    assert 'dispatch_video_uplink_backlog_seconds{dock_id="dock-01"} 0.25' in text
    assert 'dispatch_video_keyframes_in_total{dock_id="dock-01",rendition="raw"} 1.0' in text
    assert 'dispatch_video_bytes_in_total{codec="h264",dock_id="dock-01",rendition="raw"}' in text
