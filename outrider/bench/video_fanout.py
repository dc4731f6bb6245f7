"""Video fan-out: one ingest to many WebSocket viewers through a real dispatch process.

Dispatch runs as ``outrider dispatch`` in a process of its own; this process sends frames
(640x360 JPEG) at a fixed rate on the ingest WebSocket and reads them on ``viewers``
WebSockets, plus one stalled viewer that never reads, to show it costs the others nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.asyncio.client import ClientConnection, connect

from edge.protocol.signing import public_key_text
from edge.protocol.video import FrameHeader, pack_frame
from sim.net import free_tcp_port

TOKENS = {"edge": "bench-edge-token", "dispatcher": "bench-dispatcher-token"}


def _jpeg(n: int) -> bytes:
    img = np.zeros((360, 640, 3), np.uint8)
    img[:, :, 1] = np.linspace(40, 200, 640, dtype=np.uint8)[None, :]
    cv2.putText(img, f"frame {n}", (40, 180), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return bytes(buf)


def _config(directory: Path, mqtt_url: str, port: int) -> Path:
    from dispatch.keys import init_keys

    private, _ = init_keys(directory / "keys")
    dock_public = Ed25519PrivateKey.generate().public_key()  # registered; sends no MQTT here
    tokens = "".join(
        f'[[tokens]]\nname = "{role}"\nrole = "{role}"\ntoken = "{token}"\n'
        + ('docks = ["bench-dock"]\n' if role == "edge" else "")
        + "\n"
        for role, token in TOKENS.items()
    )
    path = directory / "dispatch.toml"
    path.write_text(
        f'port = {port}\nmqtt_url = "{mqtt_url}"\ndb_url = "sqlite:///{directory}/d.db"\n'
        f'signing_key = "{private}"\nlog_format = "text"\n\n{tokens}'
        f'[[docks]]\nid = "bench-dock"\npublic_key = "{public_key_text(dock_public)}"\n'
    )
    return path


async def _viewer(
    url: str, ages: list[float], counts: list[int], i: int, counting: asyncio.Event
) -> None:
    headers = {"Authorization": f"Bearer {TOKENS['dispatcher']}"}
    async with connect(url, additional_headers=headers, max_size=None) as ws:
        async for data in ws:
            assert isinstance(data, bytes)
            if not counting.is_set():
                continue
            n = int.from_bytes(data[:4], "big")
            header = json.loads(data[4 : 4 + n])
            counts[i] += 1
            ages.append(time.time() - header["_sent"])


async def _fan_out(base: str, viewers: int, fps: float, seconds: float, pid: int) -> dict[str, Any]:
    ages: list[float] = []
    counts = [0] * viewers
    counting, frames = asyncio.Event(), [_jpeg(n) for n in range(30)]
    auth = {"Authorization": f"Bearer {TOKENS['edge']}"}
    watch = f"{base}/api/v1/video/bench-dock/ws"
    async with contextlib.AsyncExitStack() as stack:
        ingest: ClientConnection = await stack.enter_async_context(
            connect(f"{base}/api/v1/video/ingest/bench-dock", additional_headers=auth)
        )
        await stack.enter_async_context(
            connect(
                watch,
                additional_headers={"Authorization": f"Bearer {TOKENS['dispatcher']}"},
                max_queue=1,
                close_timeout=0.5,
            )
        )  # the stalled viewer: never reads
        group = await stack.enter_async_context(asyncio.TaskGroup())
        tasks = [
            group.create_task(_viewer(watch, ages, counts, i, counting)) for i in range(viewers)
        ]
        await asyncio.sleep(1.0)
        proc, loop = psutil.Process(pid), asyncio.get_running_loop()
        sent, start, due = 0, loop.time(), loop.time()
        cpu0 = sum(proc.cpu_times()[:2])
        counting.set()
        while loop.time() - start < seconds:
            header = FrameHeader(dock_id="bench-dock", frame=sent, width=640, height=360)
            data = pack_frame(header, frames[sent % len(frames)])
            n = int.from_bytes(data[:4], "big")
            head = json.loads(data[4 : 4 + n]) | {"_sent": time.time()}
            raw = json.dumps(head).encode()
            await ingest.send(len(raw).to_bytes(4, "big") + raw + data[4 + n :])
            sent += 1
            due += 1.0 / fps
            await asyncio.sleep(max(0.0, due - loop.time()))
        wall = loop.time() - start
        counting.clear()
        cpu = sum(proc.cpu_times()[:2]) - cpu0
        for task in tasks:
            task.cancel()
    viewer_fps = sorted(c / wall for c in counts)
    cuts = statistics.quantiles(ages, n=100) if len(ages) > 1 else [0.0] * 99
    return {
        "viewers": viewers,
        "ingest_fps": round(sent / wall, 1),
        "viewer_fps_min": round(viewer_fps[0], 1),
        "viewer_fps_median": round(statistics.median(viewer_fps), 1),
        "viewer_fps_max": round(viewer_fps[-1], 1),
        "latency_p50_ms": round(cuts[49] * 1000, 1),
        "latency_p99_ms": round(cuts[98] * 1000, 1),
        "stalled_viewers": 1,
        "dispatch_cpu_pct_of_one_core": round(100 * cpu / wall, 1),
    }


async def _main(viewers: int, fps: float, seconds: float) -> dict[str, Any]:
    from sim.broker import local_broker

    async with local_broker() as broker:
        port = free_tcp_port()
        with tempfile.TemporaryDirectory(prefix="outrider-bench-") as tmp:
            config = _config(Path(tmp), broker.url, port)
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "outrider",
                "--log-level",
                "WARNING",
                "dispatch",
                "--config",
                str(config),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ},
            )
            try:
                import httpx

                async with asyncio.timeout(30), httpx.AsyncClient() as http:
                    while True:
                        with contextlib.suppress(httpx.HTTPError):
                            if (
                                await http.get(f"http://127.0.0.1:{port}/healthz")
                            ).status_code == 200:
                                break
                        await asyncio.sleep(0.2)
                return await _fan_out(f"ws://127.0.0.1:{port}", viewers, fps, seconds, proc.pid)
            finally:
                proc.terminate()
                await asyncio.wait_for(proc.wait(), 15)


def run(viewers: int, fps: float, seconds: float) -> dict[str, Any]:
    """One ingest at ``fps`` to ``viewers`` WebSocket viewers for ``seconds``."""
    return asyncio.run(_main(viewers, fps, seconds))
