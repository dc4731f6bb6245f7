"""Video fan-out: one H.264 ingest to many WebSocket viewers through a real dispatch process.

Dispatch runs as ``outrider dispatch`` in a process of its own (under cProfile with
``profile``); this process sends frames (640x360 H.264 from the edge's encoder, a keyframe a
second) at a fixed rate on the ingest WebSocket and reads them on ``viewers`` WebSockets, plus
one stalled viewer that never reads, to show it costs the others nothing. The profile shows
where dispatch spends its time and that nothing in it decodes a picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.asyncio.client import ClientConnection, connect

from edge.protocol.signing import public_key_text
from edge.protocol.video import FrameHeader, pack_frame

TOKENS = {"edge": "bench-edge-token", "dispatcher": "bench-dispatcher-token"}
LOOP = 60  # frames encoded once and sent round and round (a keyframe every 15)


def _h264_loop(fps: float) -> list[tuple[FrameHeader, bytes]]:
    """Headers and H.264 access units of a moving 640x360 picture, keyframes every second."""
    from edge.video.h264 import H264Encoder

    encoder = H264Encoder(640, 360, fps=fps, kbps=1500, keyframe_interval_s=15 / fps)
    out = []
    for n in range(LOOP):
        img = np.zeros((360, 640, 3), np.uint8)
        img[:, :, 1] = np.linspace(40, 200, 640, dtype=np.uint8)[None, :]
        cv2.putText(
            img, f"frame {n}", (40 + 4 * n, 180), cv2.FONT_HERSHEY_SIMPLEX, 2, (255,) * 3, 3
        )
        packet = encoder.encode(img, n / fps)
        assert packet is not None
        header = FrameHeader(
            dock_id="bench-dock",
            frame=n,
            width=640,
            height=360,
            codec="h264",
            key=packet.key,
            codec_string=packet.codec_string,
        )
        out.append((header, packet.data))
    return out


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
    counting, frames = asyncio.Event(), _h264_loop(fps)
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
            header, body = frames[sent % len(frames)]
            data = pack_frame(header.model_copy(update={"frame": sent}), body)
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


@contextlib.asynccontextmanager
async def dispatch_process(profile: Path | None = None) -> AsyncIterator[tuple[str, int]]:
    """``outrider dispatch`` in a process of its own with :data:`TOKENS`, on a local broker;
    yields its base URL (``http://…``) and pid. With ``profile``, it runs under cProfile and
    writes its statistics there when it stops."""
    from sim.broker import local_broker
    from sim.net import free_tcp_port

    async with local_broker() as broker:
        port = free_tcp_port()
        with tempfile.TemporaryDirectory(prefix="outrider-bench-") as tmp:
            config = _config(Path(tmp), broker.url, port)
            profiler = ["-m", "cProfile", "-o", str(profile)] if profile else []
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *profiler,
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

                base = f"http://127.0.0.1:{port}"
                async with asyncio.timeout(30), httpx.AsyncClient() as http:
                    while True:
                        with contextlib.suppress(httpx.HTTPError):
                            if (await http.get(f"{base}/readyz")).status_code == 200:
                                break
                        await asyncio.sleep(0.2)
                yield base, proc.pid
            finally:
                proc.send_signal(signal.SIGINT)  # a clean stop: cProfile writes its file
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


def profile_summary(path: Path, top: int = 12) -> dict[str, Any]:
    """What a cProfile file says: the functions that took the most time of their own, and
    every call into PyAV or a decoder (there should be none)."""
    import pstats

    stats = pstats.Stats(str(path))
    entries = stats.stats  # type: ignore[attr-defined]
    rows = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)
    total = sum(v[2] for v in entries.values()) or 1.0

    def name(key: tuple[str, int, str]) -> str:
        file, line, func = key
        short = "/".join(Path(file).parts[-2:]) if file != "~" else ""
        return f"{short}:{line}({func})" if short else func

    imported = any("/av/" in file for file, _, _ in entries)
    decoding = [
        (name(k), v[1])
        for k, v in entries.items()
        if (k[0].endswith("video_snapshot.py") and k[2] in ("decode_last", "jpeg"))
        or (k[0] == "~" and " of 'av." in k[2])
    ]
    return {
        "profile_total_s": round(total, 2),
        "profile_top_own_time": [f"{name(k)} {100 * v[2] / total:.1f} %" for k, v in rows[:top]],
        "profile_pyav_imported": imported,
        "profile_decode_calls": sum(calls for _, calls in decoding),
        "profile_decode_functions": [f for f, _ in decoding],
    }


async def _main(viewers: int, fps: float, seconds: float, profile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="outrider-profile-") as tmp:
        path = Path(tmp) / "dispatch.prof" if profile else None
        async with dispatch_process(path) as (base, pid):
            ws_base = base.replace("http://", "ws://")
            figures = await _fan_out(ws_base, viewers, fps, seconds, pid)
        if path is not None:
            figures |= profile_summary(path)
        return figures


def run(viewers: int, fps: float, seconds: float, profile: bool = False) -> dict[str, Any]:
    """One ingest at ``fps`` to ``viewers`` WebSocket viewers for ``seconds`` (``profile``:
    dispatch under cProfile, its summary added)."""
    return asyncio.run(_main(viewers, fps, seconds, profile))
