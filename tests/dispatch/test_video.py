"""Live video relay: one ingest per dock, many viewers over WebSocket and MJPEG."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from dispatch.metrics import Metrics
from dispatch.video_relay import VideoRelay
from edge.errors import ProtocolError
from edge.protocol import DetectedObject
from edge.protocol.video import FrameHeader, Rendition, pack_frame, unpack_frame
from tests.dispatch.conftest import TOKENS, RunningDispatch, wait_for


def jpeg(width: int = 160, height: int = 120, noise: bool = False, seed: int = 0) -> bytes:
    """A real JPEG: noise (hard to compress) or a scene-like picture with a labelled box."""
    rng = np.random.default_rng(seed)
    if noise:
        img = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    else:
        ramp = np.linspace(60, 200, height, dtype=np.uint8)[:, None]
        img = np.dstack([np.repeat(ramp, width, 1)] * 3)
        img[:, :, 1] = np.clip(img[:, :, 1].astype(int) + 30, 0, 255).astype(np.uint8)
        x = 20 + (seed * 3) % max(1, width - 60)
        cv2.rectangle(img, (x, height // 3), (x + 30, height // 3 + 50), (0, 0, 255), 2)
        cv2.putText(
            img,
            f"person {seed}",
            (x, height // 3 - 4),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.35,
            (0, 0, 255),
            1,
        )
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(buf)


def frame(dock_id: str, n: int, rendition: Rendition = "raw", body: bytes | None = None) -> bytes:
    header = FrameHeader(
        dock_id=dock_id,
        frame=n,
        width=160,
        height=120,
        rendition=rendition,
        objects=[DetectedObject(track_id=1, cls="person", conf=0.9, bbox=[1, 2, 30, 40])],
    )
    return pack_frame(header, body or jpeg(seed=n))


@contextlib.asynccontextmanager
async def ws(
    service: RunningDispatch, path: str, role: str | None, **kw: object
) -> AsyncIterator[ClientConnection]:
    headers = {"Authorization": f"Bearer {TOKENS[role]}"} if role else {}
    async with connect(
        f"{service.ws_url}{path}", additional_headers=headers, open_timeout=5, **kw
    ) as conn:  # type: ignore[arg-type]
        yield conn


async def frames_of(conn: ClientConnection, n: int, limit_s: float = 10.0) -> list[FrameHeader]:
    out = []
    async with asyncio.timeout(limit_s):
        while len(out) < n:
            data = await conn.recv()
            assert isinstance(data, bytes)
            out.append(unpack_frame(data)[0])
    return out


async def viewers_ready(service: RunningDispatch, dock_id: str, n: int) -> None:
    await wait_for(lambda: len(service.runtime.video.channel(dock_id).viewers) >= n, limit_s=5)


async def test_one_ingest_reaches_every_websocket_and_mjpeg_viewer(
    dispatch_service: RunningDispatch,
) -> None:
    async with (
        ws(dispatch_service, "/api/v1/video/ingest/dock-01", "edge") as ingest,
        ws(dispatch_service, "/api/v1/video/dock-01/ws", "dispatcher") as a,
        ws(dispatch_service, "/api/v1/video/dock-01/ws", "admin") as b,
        dispatch_service.client("dispatcher") as http,
        http.stream("GET", "/api/v1/video/dock-01/mjpeg") as mjpeg,
    ):
        assert mjpeg.headers["content-type"].startswith("multipart/x-mixed-replace")
        await viewers_ready(dispatch_service, "dock-01", 3)
        for n in range(5):
            await ingest.send(frame("dock-01", n))
            await asyncio.sleep(0.03)
        got_a, got_b = await frames_of(a, 5), await frames_of(b, 5)
        assert [h.frame for h in got_a] == [h.frame for h in got_b] == [0, 1, 2, 3, 4]
        assert got_a[0].objects[0].cls == "person"
        stats = (await http.get("/api/v1/video/dock-01/viewers")).json()
        assert {s["kind"] for s in stats} == {"websocket", "mjpeg"}
        assert all(s["frames_sent"] >= 1 and s["latency_ms_p50"] is not None for s in stats)
        chunk = b""
        async with asyncio.timeout(5):
            async for part in mjpeg.aiter_bytes():
                chunk += part
                if chunk.count(b"\xff\xd9") >= 2:
                    break
        assert b"--outriderframe\r\nContent-Type: image/jpeg" in chunk
        snap = await http.get("/api/v1/video/dock-01/frame.jpg")
        assert snap.status_code == 200 and snap.content.startswith(b"\xff\xd8")


async def test_a_stalled_viewer_skips_frames_and_never_slows_the_edge_or_other_viewers(
    dispatch_service: RunningDispatch,
) -> None:
    big = jpeg(640, 480, noise=True)
    async with (
        ws(dispatch_service, "/api/v1/video/ingest/dock-01", "edge") as ingest,
        ws(
            dispatch_service,
            "/api/v1/video/dock-01/ws",
            "dispatcher",
            max_queue=1,
            close_timeout=0.5,
        ) as stalled,
        ws(dispatch_service, "/api/v1/video/dock-01/ws", "dispatcher", max_size=None) as fast,
    ):
        await viewers_ready(dispatch_service, "dock-01", 2)
        received: list[int] = []
        last = asyncio.Event()

        async def read_fast() -> None:
            while True:
                data = await fast.recv()
                assert isinstance(data, bytes)
                received.append(unpack_frame(data)[0].frame)
                if received[-1] == 59:
                    last.set()

        async with asyncio.TaskGroup() as group:
            reader = group.create_task(read_fast())
            loop = asyncio.get_running_loop()
            start = loop.time()
            for n in range(60):
                await ingest.send(frame("dock-01", n, body=big))
                await asyncio.sleep(1 / 60)
            sending_s = loop.time() - start
            async with asyncio.timeout(10):
                await last.wait()
            reader.cancel()
        # the stalled viewer never reads: were the edge held back by it, sending would stall
        # for good; a generous bound keeps a loaded machine from failing a sound relay
        assert sending_s < 10
        assert len(received) >= 50
        channel = dispatch_service.runtime.video.channel("dock-01")
        slow = next(v for v in channel.viewers if v.frames_sent < 50)
        assert slow.frames_dropped > 0
        assert stalled.state.name == "OPEN"


async def test_a_viewer_role_sees_only_the_redacted_rendition(
    dispatch_service: RunningDispatch,
) -> None:
    async with (
        ws(dispatch_service, "/api/v1/video/ingest/dock-01", "edge") as ingest,
        ws(dispatch_service, "/api/v1/video/dock-01/ws", "viewer") as viewer,
        ws(dispatch_service, "/api/v1/video/dock-01/ws", "dispatcher") as dispatcher,
    ):
        await viewers_ready(dispatch_service, "dock-01", 2)
        for n in range(6):
            await ingest.send(frame("dock-01", n, "raw" if n % 2 == 0 else "redacted"))
            await asyncio.sleep(0.05)
        assert {h.rendition for h in await frames_of(viewer, 3)} == {"redacted"}
        assert {h.rendition for h in await frames_of(dispatcher, 3)} == {"raw"}
    with pytest.raises(InvalidStatus):
        async with ws(dispatch_service, "/api/v1/video/dock-01/ws?rendition=raw", "viewer"):
            pass


@pytest.mark.parametrize("role", [None, "viewer", "dispatcher"])
async def test_only_an_edge_token_may_stream_in(
    dispatch_service: RunningDispatch, role: str | None
) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with ws(dispatch_service, "/api/v1/video/ingest/dock-01", role):
            pass
    assert info.value.response.status_code == 403


async def test_bad_frames_are_refused_and_the_stream_goes_on(
    dispatch_service: RunningDispatch,
) -> None:
    async with (
        ws(dispatch_service, "/api/v1/video/ingest/dock-01", "edge") as ingest,
        ws(dispatch_service, "/api/v1/video/dock-01/ws", "dispatcher") as viewer,
    ):
        await viewers_ready(dispatch_service, "dock-01", 1)
        await ingest.send(b"\x00\x00\x00\x05hello")
        await ingest.send(frame("dock-02", 1))
        await ingest.send("text is ignored")
        await ingest.send(frame("dock-01", 7))
        [header] = await frames_of(viewer, 1)
        assert header.frame == 7
    refused = dispatch_service.runtime.metrics.frames_bad
    assert refused.labels("malformed_json")._value.get() == 1
    assert refused.labels("wrong_dock")._value.get() == 1


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=600))
def test_arbitrary_uplink_bytes_are_refused_with_a_code_never_a_crash(data: bytes) -> None:
    relay = VideoRelay(Metrics())
    try:
        relay.ingest("dock-01", data)
    except ProtocolError as exc:
        assert exc.code in {"malformed_json", "invalid_field", "too_large", "wrong_dock"}
