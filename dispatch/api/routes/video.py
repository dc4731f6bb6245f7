"""Live video: the edge's ingest WebSocket and the viewers' WebSocket, MJPEG and snapshot.

The WebSocket relays each uplink message as it came (H.264 or JPEG, never decoded here). The
MJPEG stream and ``frame.jpg`` serve JPEGs: the frames themselves in the JPEG mode, and in the
H.264 mode snapshots decoded on request (:mod:`dispatch.video_snapshot`), at most
:data:`MJPEG_H264_FPS` a second.

Who may send and watch is settled at the handshake (:mod:`dispatch.api.deps`: the edge token of
the dock; a viewer's role, its origin, its link's incident and sortie) and checked again while
a stream runs: a viewer whose session ends or whose link is revoked, expires or outlives its
sortie is cut off. Only registered docks have channels, and a channel is freed once nobody
sends to it or watches it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, WebSocket
from fastapi.responses import Response, StreamingResponse
from starlette.websockets import WebSocketDisconnect

from dispatch.api.deps import (
    Dispatcher,
    LinkViewer,
    RuntimeDep,
    authenticate,
    edge_for_dock,
    get_runtime,
    known_dock,
    scope_dock,
)
from dispatch.auth import Principal
from dispatch.models import ViewerStats
from dispatch.runtime import Runtime
from dispatch.service_errors import ForbiddenError, NotFoundError
from dispatch.video_relay import Viewer
from edge.errors import OutriderError, ProtocolError
from edge.protocol.video import INGEST_ROUTE, VIDEO_PREFIX, Rendition

router = APIRouter(prefix=VIDEO_PREFIX, tags=["video"])
logger = logging.getLogger(__name__)

SEND_TIMEOUT_S = 10.0
MJPEG_H264_FPS = 2.0
BOUNDARY = "outriderframe"
POLICY_VIOLATION = 1008
RECHECK_S = 2.0  # a stream's session or link is checked again at least this often
RenditionQuery = Annotated[Literal["raw", "redacted"] | None, Query()]


def renditions(who: Principal, asked: str | None) -> tuple[Rendition, ...]:
    """What a viewer may see, preferred first: raw only when the role allows it."""
    if who.raw_video and asked != "redacted":
        return ("raw", "redacted")
    if asked == "raw":
        raise ForbiddenError("this role may only see redacted video")
    return ("redacted",)


async def check_dock(rt: Runtime, who: Principal, dock_id: str) -> None:
    """A registered dock, and for a view link its incident's dock flying the link's sortie."""
    known_dock(rt, dock_id)
    await scope_dock(rt, who, dock_id)


async def still_allowed(rt: Runtime, who: Principal, dock_id: str) -> OutriderError | None:
    """Why a running stream must end now (session or link over, sortie over), or ``None``."""
    try:
        await rt.auth.recheck(who)
        await scope_dock(rt, who, dock_id)
    except OutriderError as exc:
        return exc
    return None


async def _guard(ws: WebSocket, rt: Runtime, who: Principal, dock_id: str) -> None:
    """Close a viewer's socket as soon as what let it in no longer holds."""
    if who.via == "token":
        return  # an API token holds until the settings change and the service restarts
    while True:
        await rt.auth.changed(RECHECK_S)
        refusal = await still_allowed(rt, who, dock_id)
        if refusal is not None:
            reason = f"{refusal.code}: {refusal.reason}"[:120]
            await ws.close(code=POLICY_VIOLATION, reason=reason)
            return


@router.websocket(INGEST_ROUTE)
async def ingest(ws: WebSocket, dock_id: str) -> None:
    """The edge's uplink: binary ``pack_frame`` messages, ``Authorization: Bearer <token>``."""
    rt = get_runtime(ws)
    try:
        await edge_for_dock(ws, rt, dock_id)
    except OutriderError as exc:
        await ws.close(code=POLICY_VIOLATION, reason=f"{exc.code}: {exc.reason}"[:120])
        return
    await ws.accept()
    last_warning = 0.0
    async with rt.video.uplink(dock_id):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                continue
            try:
                header = rt.video.ingest(dock_id, data)
            except ProtocolError as exc:
                if time.monotonic() - last_warning > 5.0:
                    last_warning = time.monotonic()
                    logger.warning("refused a video frame from %s: %s", dock_id, exc)
                continue
            await rt.video.forward(dock_id, data)
            await rt.flights.on_frame(header)


async def _pump(ws: WebSocket, rt: Runtime, dock_id: str, viewer: Viewer) -> None:
    while True:
        frame = await viewer.next_frame()
        async with asyncio.timeout(SEND_TIMEOUT_S):
            await ws.send_bytes(frame.packed)
        rt.video.delivered(dock_id, viewer, frame)


@router.websocket("/{dock_id}/ws")
async def watch_ws(ws: WebSocket, dock_id: str, rendition: RenditionQuery = None) -> None:
    """Live frames as binary messages, each exactly as the edge packed it (header + JPEG)."""
    rt = get_runtime(ws)
    try:
        who = await authenticate(ws, rt)
        who.require("viewer", link_ok=True)
        await check_dock(rt, who, dock_id)
        wanted = renditions(who, rendition)
    except OutriderError as exc:
        await ws.close(code=POLICY_VIOLATION, reason=f"{exc.code}: {exc.reason}"[:120])
        return
    await ws.accept()
    async with rt.video.watch(dock_id, wanted, "websocket", who.name) as viewer:
        try:
            async with asyncio.TaskGroup() as group:
                pump = group.create_task(_pump(ws, rt, dock_id, viewer))
                guard = group.create_task(_guard(ws, rt, who, dock_id))
                while (await ws.receive())["type"] != "websocket.disconnect":
                    pass
                pump.cancel()
                guard.cancel()
        except* (WebSocketDisconnect, RuntimeError, TimeoutError, OSError):
            logger.debug("viewer %d of %s left", viewer.id, dock_id)
    rt.video.release(dock_id)


@router.get(
    "/{dock_id}/mjpeg",
    response_class=StreamingResponse,
    responses={200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}}},
)
async def watch_mjpeg(
    dock_id: str, rt: RuntimeDep, who: LinkViewer, rendition: RenditionQuery = None
) -> StreamingResponse:
    """Live frames as an MJPEG stream (``<img src=...>`` works)."""
    await check_dock(rt, who, dock_id)
    wanted = renditions(who, rendition)

    async def frames() -> AsyncIterator[bytes]:
        checked = time.monotonic()
        async with rt.video.watch(dock_id, wanted, "mjpeg", who.name) as viewer:
            while True:
                frame = await viewer.next_frame()
                if who.via != "token" and time.monotonic() - checked > RECHECK_S:
                    checked = time.monotonic()
                    if await still_allowed(rt, who, dock_id) is not None:
                        break
                jpeg: bytes | None = frame.body
                if frame.header.codec != "jpeg":
                    channel = rt.video.channel(dock_id)
                    jpeg = await rt.snapshots.jpeg(channel, frame.header.rendition)
                if jpeg is None:
                    continue
                head = (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n"
                ).encode()
                yield head + jpeg + b"\r\n"
                rt.video.delivered(dock_id, viewer, frame)
                if frame.header.codec != "jpeg":
                    await asyncio.sleep(1 / MJPEG_H264_FPS)
        rt.video.release(dock_id)

    return StreamingResponse(
        frames(),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/{dock_id}/frame.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "No frame yet"}},
)
async def snapshot(
    dock_id: str, rt: RuntimeDep, who: LinkViewer, rendition: RenditionQuery = None
) -> Response:
    """The newest frame as a JPEG (decoded from the H.264 stream on request)."""
    await check_dock(rt, who, dock_id)
    channel = await rt.video.prime(dock_id)
    try:
        for r in renditions(who, rendition):
            if r in channel.latest:
                jpeg = await rt.snapshots.jpeg(channel, r)
                if jpeg is not None:
                    return Response(
                        jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"}
                    )
    finally:
        rt.video.release(dock_id)
    raise NotFoundError(f"no video from {dock_id} yet")


@router.get("/{dock_id}/viewers", response_model=list[ViewerStats])
async def viewers(dock_id: str, rt: RuntimeDep, who: Dispatcher) -> list[ViewerStats]:
    """Each viewer's fps, latency and dropped frames."""
    known_dock(rt, dock_id)
    channel = rt.video.channels.get(dock_id)
    return [
        ViewerStats(
            id=v.id,
            kind=v.kind,
            rendition=v.rendition or v.renditions[0],
            principal=v.principal,
            fps=v.fps(),
            frames_sent=v.frames_sent,
            frames_dropped=v.frames_dropped,
            skips=v.skips,
            latency_ms_p50=v.latency_ms(0.5),
            latency_ms_p99=v.latency_ms(0.99),
        )
        for v in (channel.viewers if channel else ())
    ]
