"""Video across instances: uplinks on one dispatch, viewers on another, relayed through NATS.

Two ``outrider dispatch`` processes share a NATS server (one of their own, or ``--nats``):
``docks`` H.264 uplinks (640x360, a keyframe a second) go to instance A at ``fps`` each, and
``viewers`` WebSocket viewers, dealt round the docks, watch on instance B, plus one stalled
viewer on B that never reads. The figures: frames a second through the bus, what each viewer
got, the latency from the uplink's send to the viewer's receive (both hops), and the CPU of A,
B and the NATS server, so viewers and docks per core of an instance follow.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.asyncio.client import connect

from edge.protocol.signing import public_key_text
from edge.protocol.video import pack_frame
from outrider.bench.video_fanout import TOKENS, _h264_loop, _viewer

__all__ = ["add_arguments", "measure", "report"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``outrider bench relay``."""
    parser.add_argument("--docks", type=int, default=4, help="uplinks to instance A")
    parser.add_argument("--viewers", type=int, default=50, help="viewers on instance B")
    parser.add_argument("--fps", type=float, default=15.0, help="frames a second per uplink")
    parser.add_argument("--seconds", type=float, default=15.0, help="measurement window")
    parser.add_argument("--nats", default="", help="a running NATS server (else one of its own)")


def _config(directory: Path, mqtt_url: str, port: int, docks: list[str], bus: str) -> Path:
    from dispatch.keys import init_keys

    private, _ = init_keys(directory / "keys")
    listed = ", ".join(f'"{d}"' for d in docks)
    tokens = "".join(
        f'[[tokens]]\nname = "{role}"\nrole = "{role}"\ntoken = "{token}"\n'
        + (f"docks = [{listed}]\n" if role == "edge" else "")
        + "\n"
        for role, token in {**TOKENS, "metrics": "bench-metrics-token"}.items()
    )
    entries = "".join(
        f'[[docks]]\nid = "{d}"\n'
        f'public_key = "{public_key_text(Ed25519PrivateKey.generate().public_key())}"\n\n'
        for d in docks
    )
    path = directory / "dispatch.toml"
    path.write_text(
        f'port = {port}\nmqtt_url = "{mqtt_url}"\ndb_url = "sqlite:///{directory}/d.db"\n'
        f'signing_key = "{private}"\nlog_format = "text"\nmqtt_client_id = "{directory.name}"\n'
        f'\n{tokens}{entries}[cluster]\nvideo_bus = "{bus}"\n'
        f'video_subject = "bench.{directory.parent.name}"\n'
    )
    return path


@contextlib.asynccontextmanager
async def _instance(
    folder: Path, mqtt_url: str, docks: list[str], bus: str
) -> AsyncIterator[tuple[str, int]]:
    await asyncio.to_thread(folder.mkdir)
    from sim.net import free_tcp_port  # here, not at import: docks install no simulator

    port = free_tcp_port()
    config = _config(folder, mqtt_url, port, docks, bus)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "outrider", "--log-level", "WARNING", "dispatch", "--config", str(config)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with asyncio.timeout(30), httpx.AsyncClient() as http:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    health = (await http.get(f"{base}/readyz")).json()
                    if health.get("video_bus") == "connected":
                        break
                await asyncio.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@contextlib.asynccontextmanager
async def _bus(url: str) -> AsyncIterator[tuple[str, int | None]]:
    if url:
        yield url, None
        return
    from sim.natsd import NatsServer

    async with NatsServer() as server:
        assert server.pid is not None
        yield server.url, server.pid


async def _uplink(base: str, dock: str, fps: float, seconds: float, started: asyncio.Event) -> int:
    frames = _h264_loop(fps)
    auth = {"Authorization": f"Bearer {TOKENS['edge']}"}
    async with connect(f"{base}/api/v1/video/ingest/{dock}", additional_headers=auth) as ingest:
        await started.wait()
        loop = asyncio.get_running_loop()
        sent, start, due = 0, loop.time(), loop.time()
        while loop.time() - start < seconds:
            header, body = frames[sent % len(frames)]
            data = pack_frame(header.model_copy(update={"frame": sent, "dock_id": dock}), body)
            n = int.from_bytes(data[:4], "big")
            head = json.loads(data[4 : 4 + n]) | {"_sent": time.time()}
            raw = json.dumps(head).encode()
            await ingest.send(len(raw).to_bytes(4, "big") + raw + data[4 + n :])
            sent += 1
            due += 1.0 / fps
            await asyncio.sleep(max(0.0, due - loop.time()))
        return sent


def _stalled(url: str) -> Any:
    """A viewer that never reads."""
    headers = {"Authorization": f"Bearer {TOKENS['dispatcher']}"}
    return connect(url, additional_headers=headers, max_queue=1, close_timeout=0.5)


async def _bus_frames(base: str) -> float:
    headers = {"Authorization": "Bearer bench-metrics-token"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        text = (await http.get("/metrics")).text
    found = re.search(r'^dispatch_video_bus_frames_total\{outcome="sent"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    from sim.broker import local_broker

    docks = [f"bench-{i:02d}" for i in range(args.docks)]
    ages: list[float] = []
    counts = [0] * args.viewers
    counting, started = asyncio.Event(), asyncio.Event()
    with tempfile.TemporaryDirectory(prefix="outrider-bench-") as tmp:
        async with (
            local_broker() as broker,
            _bus(args.nats) as (bus, bus_pid),
            _instance(Path(tmp) / "a", broker.url, docks, bus) as (a, a_pid),
            _instance(Path(tmp) / "b", broker.url, docks, bus) as (b, b_pid),
            contextlib.AsyncExitStack() as stack,
        ):
            ws_b = b.replace("http://", "ws://")
            await stack.enter_async_context(_stalled(f"{ws_b}/api/v1/video/{docks[0]}/ws"))
            group = await stack.enter_async_context(asyncio.TaskGroup())
            watchers = [
                group.create_task(
                    _viewer(
                        f"{ws_b}/api/v1/video/{docks[i % len(docks)]}/ws",
                        ages,
                        counts,
                        i,
                        counting,
                    )
                )
                for i in range(args.viewers)
            ]
            ws_a = a.replace("http://", "ws://")
            uplinks = [
                group.create_task(_uplink(ws_a, d, args.fps, args.seconds, started)) for d in docks
            ]
            await asyncio.sleep(1.0)
            procs = {"a": psutil.Process(a_pid), "b": psutil.Process(b_pid)}
            if bus_pid is not None:
                procs["nats"] = psutil.Process(bus_pid)
            cpu0 = {k: sum(p.cpu_times()[:2]) for k, p in procs.items()}
            bus0, t0 = await _bus_frames(a), time.monotonic()
            counting.set()
            started.set()
            sent = sum(await asyncio.gather(*uplinks))
            wall = time.monotonic() - t0
            counting.clear()
            bus_sent = await _bus_frames(a) - bus0
            cpu = {k: sum(p.cpu_times()[:2]) - cpu0[k] for k, p in procs.items()}
            for task in watchers:
                task.cancel()
    return _figures(args, wall, sent, bus_sent, counts, ages, cpu)


def _figures(
    args: argparse.Namespace,
    wall: float,
    sent: int,
    bus_sent: float,
    counts: list[int],
    ages: list[float],
    cpu: dict[str, float],
) -> dict[str, Any]:
    fps = sorted(c / wall for c in counts)
    cuts = statistics.quantiles(ages, n=100) if len(ages) > 1 else [0.0] * 99
    out: dict[str, Any] = {
        "docks_on_a": args.docks,
        "viewers_on_b": args.viewers,
        "uplink_fps_total": round(sent / wall, 1),
        "bus_frames_per_s": round(bus_sent / wall, 1),
        "viewer_fps_min": round(fps[0], 1) if fps else 0.0,
        "viewer_fps_median": round(statistics.median(fps), 1) if fps else 0.0,
        "latency_p50_ms": round(cuts[49] * 1000, 1),
        "latency_p99_ms": round(cuts[98] * 1000, 1),
        "stalled_viewers": 1,
    }
    for name, seconds in cpu.items():
        out[f"cpu_pct_of_one_core_{name}"] = round(100 * seconds / wall, 1)
    return out


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run the relay across two instances once; its figures."""
    return asyncio.run(_main(args))


def report(figures: dict[str, Any]) -> str:
    """One line: ``key=value, ...``."""
    return "relay: " + ", ".join(f"{k}={v}" for k, v in figures.items()) + "\n"
