"""Live H.264 in a real Chromium: the control room and the officer view play a sortie's video.

The video comes from the edge's own pipeline (synthetic camera circling a scene, the real
detector, H.264 through PyAV, the uplink) into the real dispatch service; the page decodes it
with WebCodecs, or with its fallbacks when WebCodecs (or MSE) is taken away.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edge.detect import AutoDetectorConfig, load_detector
from edge.geo import LatLon
from edge.video import Uplink, VideoConfig, VideoPipeline
from sim.camera import orbit_pose
from tests.dispatch.conftest import ARTIFACTS, TOKENS, RunningDispatch, wait_for
from tests.dispatch.test_incidents_api import docks_seen
from tests.dispatch.test_video import ws
from tests.dispatch.test_video_h264 import small_socket
from tests.video.conftest import model_or_skip

pytestmark = pytest.mark.timeout(240)

SCENE_FILE = Path(__file__).resolve().parents[2] / "configs" / "scenes" / "example.toml"
SCENE = LatLon(51.51352, -0.08890)  # the middle of the example scene's actors
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True}
ROOM = {"viewport": {"width": 1600, "height": 1000}}
FRAMES = "Number(document.querySelector('#video').dataset.frames || 0)"
PLAYER = "document.querySelector('#video').player"


@contextlib.asynccontextmanager
async def edge_video(
    service: RunningDispatch,
    dock_id: str,
    *,
    codec: str = "h264",
    fps: float = 10.0,
    h264: dict[str, Any] | None = None,
) -> AsyncIterator[VideoPipeline]:
    """The edge's video pipeline streaming a sortie of ``dock_id`` into dispatch."""
    detector = load_detector(AutoDetectorConfig(model=model_or_skip(), threads=1))
    config = VideoConfig.model_validate(
        {
            "camera": {"type": "sim", "scene": str(SCENE_FILE)},
            "width": 640,
            "height": 480,
            "fps": fps,
            "hfov_deg": 45,
            "codec": codec,
            "h264": h264 or {},
        }
    )
    pose = orbit_pose(SCENE, radius_m=45, height_m=30, period_s=30)
    async with (
        Uplink(service.url, dock_id, TOKENS["edge"], backoff_s=(0.05, 0.5)) as uplink,
        VideoPipeline(config, None, detector, pose, None, uplink, dock_id=dock_id) as video,
    ):
        video.set_sortie("S-video", "INC-video")
        yield video
    detector.close()


@contextlib.asynccontextmanager
async def sortie(service: RunningDispatch, edge_factory: Any) -> AsyncIterator[dict[str, Any]]:
    """A dock flying an incident at the scene; yields the incident."""
    async with edge_factory("near", SCENE.lat + 0.004, SCENE.lon, fly=True, sortie_s=60):
        await docks_seen(service, 1)
        r = await service.http.post(
            "/api/v1/incidents", json={"lat": SCENE.lat, "lon": SCENE.lon, "type": "assault"}
        )
        assert r.status_code == 201, r.text
        yield r.json()


async def until(page: Any, expression: str, limit_s: float = 10.0) -> None:
    """Wait until ``expression`` is true in the page. Polled from here: Playwright's own waits
    evaluate strings inside the page, which its content security policy (rightly) forbids, and
    these tests run the pages under their real policy."""
    async with asyncio.timeout(limit_s):
        while True:
            if await page.evaluate(expression):
                return
            await asyncio.sleep(0.05)


async def picture_signature(page: Any) -> list[int]:
    """A coarse fingerprint of what the player's picture shows now."""
    return await page.evaluate(  # type: ignore[no-any-return]
        """() => { const c = document.querySelector('#video .pl-picture');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const out = [];
          for (let i = 0; i < d.length; i += 4 * 997) out.push(d[i] + d[i + 1] + d[i + 2]);
          return out; }"""
    )


async def stats(page: Any) -> dict[str, Any]:
    return await page.evaluate(f"{PLAYER}.stats()")  # type: ignore[no-any-return]


async def open_room(page: Any, service: RunningDispatch) -> Any:
    """The control room, signed in, with the sortie's incident open."""
    await page.goto(service.url)
    await page.fill("#login-token", TOKENS["dispatcher"])
    await page.click("#login-submit")
    await page.click("#incident-list li:has-text('assault')")
    await until(page, "document.querySelector('#inc-dock').textContent === 'near'", 10)
    return page


async def test_the_control_room_plays_the_sorties_h264_video_live(
    dispatch_service: RunningDispatch, edge_factory: Any, browser: Any
) -> None:
    async with (
        sortie(dispatch_service, edge_factory),
        edge_video(dispatch_service, "near"),
    ):
        page = await open_room(await browser.new_page(**ROOM), dispatch_service)
        await until(page, f"{FRAMES} >= 10", 30)
        first, frames_then = await picture_signature(page), await page.evaluate(FRAMES)
        await until(page, f"{FRAMES} >= {frames_then + 15}", 20)
        assert await picture_signature(page) != first, "the picture changes"
        figures = await stats(page)
        assert figures["mode"] == "webcodecs", "Chromium decodes H.264 with WebCodecs"
        assert 0 < figures["p50"] < 1000 and figures["p95"] < 2000, figures
        badge = await page.inner_text("#video .pl-badge")
        assert badge.startswith("live · ") and badge.endswith(" s behind")
        assert "H.264" in await page.inner_text("#video-stats")
        await page.screenshot(path=str(ARTIFACTS / "video-control-room.png"))
        boxes = """(() => { const c = document.querySelector('#video .pl-layer');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; })()"""
        await until(page, f"{PLAYER}.lastHeader.objects.length > 0", 20)
        assert await page.evaluate(boxes) > 0
        await page.click("#video .pl-toggle")
        assert await page.evaluate(boxes) == 0, "boxes and HUD switched off"
        assert await page.get_attribute("#video .pl-toggle", "aria-pressed") == "false"
        await page.click("#video .pl-toggle")
        assert await page.evaluate(boxes) > 0


async def test_the_officer_view_plays_the_redacted_stream_on_a_phone(
    dispatch_service: RunningDispatch, edge_factory: Any, browser: Any
) -> None:
    async with (
        sortie(dispatch_service, edge_factory) as incident,
        edge_video(dispatch_service, "near"),
    ):
        link = (
            await dispatch_service.http.post(f"/api/v1/incidents/{incident['id']}/links", json={})
        ).json()
        phone = await browser.new_page(**PHONE)
        await phone.goto(link["url"])
        await until(phone, f"{FRAMES} >= 15", 30)
        figures = await stats(phone)
        assert figures["mode"] == "webcodecs" and figures["p95"] < 2000, figures
        assert await phone.evaluate(f"{PLAYER}.lastHeader.rendition") == "redacted"
        assert "redacted" in await phone.inner_text("#video-stats")
        await phone.screenshot(path=str(ARTIFACTS / "video-officer-view.png"), full_page=True)


async def test_a_late_joiner_has_a_picture_at_once_and_a_stalled_viewer_slows_no_one(
    dispatch_service: RunningDispatch, edge_factory: Any, browser: Any
) -> None:
    heavy = {"crf": 8, "max_kbps": {"raw": 20000, "redacted": 20000}}  # fills buffers fast
    async with (
        sortie(dispatch_service, edge_factory),
        edge_video(dispatch_service, "near", fps=15, h264=heavy) as video,
    ):
        channel = dispatch_service.runtime.video.channel("near")
        await wait_for(lambda: channel.frames_in > 45, limit_s=30)  # well into the stream
        async with ws(
            dispatch_service,
            "/api/v1/video/near/ws",
            "dispatcher",
            max_queue=1,
            close_timeout=0.5,
            sock=small_socket(dispatch_service.port),
        ):  # a viewer that has stopped reading
            page = await open_room(await browser.new_page(**ROOM), dispatch_service)
            await until(page, f"{FRAMES} >= 1", 10)
            joined = await stats(page)
            interval_ms = 1000 * video.config.h264.keyframe_interval_s
            assert joined["firstPaintMs"] < interval_ms, joined["firstPaintMs"]
            await wait_for(lambda: len(channel.viewers) == 2)  # the page watches a dock once
            stalled, watching = sorted(channel.viewers, key=lambda v: v.id)  # in joining order
            await wait_for(lambda: stalled.skips >= 1, limit_s=30)  # its buffers are full
            arrived, sent = channel.frames_in, watching.frames_sent
            painted = await page.evaluate(FRAMES)
            await asyncio.sleep(4.0)
            arrived, sent = channel.frames_in - arrived, watching.frames_sent - sent
            painted = await page.evaluate(FRAMES) - painted
            figures = await stats(page)
    assert stalled.frames_dropped > 0, "the stalled viewer skipped ahead"
    # every frame that arrived went on to the page (raw, its rendition: half of what arrived)
    assert sent >= arrived / 2 - 2 and watching.skips == 0, (sent, arrived, watching.skips)
    assert painted > 0.5 * sent, (painted, sent)  # drawn, as fast as the page's CPU allows
    recent = sorted(figures["latencies"][-40:])
    assert recent[int(0.95 * (len(recent) - 1))] < 1000, recent


@pytest.mark.parametrize(
    ("hide", "mode", "painted"),
    [("VideoDecoder", "mse", 20), ("VideoDecoder MediaSource", "snapshot", 4)],
)
async def test_without_webcodecs_the_page_falls_back_and_still_paints(
    dispatch_service: RunningDispatch,
    edge_factory: Any,
    browser: Any,
    hide: str,
    mode: str,
    painted: int,
) -> None:
    async with (
        sortie(dispatch_service, edge_factory),
        edge_video(dispatch_service, "near"),
    ):
        context = await browser.new_context(**ROOM)
        await context.add_init_script(";".join(f"delete window.{name}" for name in hide.split()))
        page = await open_room(await context.new_page(), dispatch_service)
        await until(page, f"{FRAMES} >= {painted}", 30)
        figures = await stats(page)
        assert figures["mode"] == mode and figures["p50"] < 1500, figures
        await page.screenshot(path=str(ARTIFACTS / f"video-fallback-{mode}.png"))
        await context.close()


async def test_the_jpeg_fallback_mode_plays_in_the_same_player(
    dispatch_service: RunningDispatch, edge_factory: Any, browser: Any
) -> None:
    async with (
        sortie(dispatch_service, edge_factory),
        edge_video(dispatch_service, "near", codec="jpeg"),
    ):
        page = await open_room(await browser.new_page(**ROOM), dispatch_service)
        await until(page, f"{FRAMES} >= 10", 30)
        first = await picture_signature(page)
        await until(page, f"{FRAMES} >= 20", 20)
        assert await picture_signature(page) != first
        assert "JPEG" in await page.inner_text("#video-stats")
