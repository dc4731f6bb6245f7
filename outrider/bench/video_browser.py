"""Browser latency: capture → painted in Chromium, through the edge pipeline and dispatch.

The edge's pipeline (synthetic camera circling the example scene, the detector when a model is
given, H.264, the uplink) streams into ``outrider dispatch`` running in a process of its own;
Debian's Chromium opens the player (``dispatch/ui/player.js``) on that dock and measures, for
each frame it draws, how long ago the camera captured it. Everything runs on this machine's
loopback, so both ends read the same clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM", "browser_figures"]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCK = "bench-dock"
OPEN_PLAYER = """async (dock) => {
  const { LivePlayer } = await import('/ui/player.js');
  const box = document.createElement('div');
  box.style.width = '640px';
  document.body.replaceChildren(box);
  window.player = new LivePlayer(box);
  window.player.watch(dock);
}"""


@contextlib.asynccontextmanager
async def _edge(
    base: str, model: Path | None, fps: float, size: tuple[int, int]
) -> AsyncIterator[Any]:
    from edge.detect import AutoDetectorConfig, load_detector
    from edge.geoproject import CameraModel
    from edge.video import Uplink, VideoConfig, VideoPipeline
    from outrider.bench.video_codec import SCENE, SCENE_FILE
    from outrider.bench.video_fanout import TOKENS
    from outrider.cli import register_sim_drivers
    from sim.camera import SyntheticCamera, load_scene, orbit_pose

    register_sim_drivers()  # the config's default camera; the pipeline is given its own
    width, height = size
    cfg = VideoConfig(width=width, height=height, fps=fps, hfov_deg=45.0, threads=1)
    pose = orbit_pose(SCENE, 40.0, 30.0, 50.0)
    camera = SyntheticCamera(load_scene(SCENE_FILE), CameraModel(width, height, 45.0), pose)
    detector = load_detector(AutoDetectorConfig(model=model, threads=1)) if model else None
    try:
        async with (
            Uplink(base, DOCK, TOKENS["edge"], backoff_s=(0.05, 0.5)) as uplink,
            VideoPipeline(cfg, camera, detector, pose, None, uplink, dock_id=DOCK) as video,
        ):
            video.set_sortie("S-bench", "INC-bench")
            yield video
    finally:
        if detector is not None:
            detector.close()


async def _measure(
    model: Path | None, seconds: float, fps: float, size: tuple[int, int]
) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    from outrider.bench.video_fanout import TOKENS, dispatch_process

    async with (
        dispatch_process() as (base, _pid),
        _edge(base, model, fps, size) as video,
        async_playwright() as p,
    ):
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context()
            login = await context.request.post(
                f"{base}/api/v1/auth/login", data={"token": TOKENS["dispatcher"]}
            )
            assert login.ok, await login.text()
            page = await context.new_page()
            await page.goto(f"{base}/healthz")
            await page.evaluate(OPEN_PLAYER, DOCK)
            async with asyncio.timeout(60):  # polled from here: the page's policy forbids eval
                while True:
                    if await page.evaluate("window.player.frames") >= 15:
                        break
                    await asyncio.sleep(0.1)
            await asyncio.sleep(2.0)  # warm-up
            start = await page.evaluate("(window.player.latencies = [], window.player.frames)")
            await asyncio.sleep(seconds)
            stats = await page.evaluate("window.player.stats()")
            mode = stats["mode"]
        finally:
            await browser.close()
        encoded = video.stats.encoded
    latencies = sorted(stats["latencies"])
    return {
        "browser_decoder": mode,
        "browser_fps": round((stats["frames"] - start) / seconds, 1),
        "browser_latency_ms_p50": round(statistics.median(latencies), 1),
        "browser_latency_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "browser_frames_measured": len(latencies),
        "browser_edge_frames_encoded": encoded,
    }


def browser_figures(
    model: Path | None, seconds: float = 10.0, fps: float = 15.0, size: tuple[int, int] = (640, 480)
) -> dict[str, Any]:
    """Capture → painted latency in Chromium (empty when Chromium or Playwright is missing)."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return {"browser_skipped": "Playwright is not installed"}
    if not CHROMIUM.exists():
        return {"browser_skipped": f"{CHROMIUM} is not installed"}
    return asyncio.run(_measure(model, seconds, fps, size))
