"""Fleet load: many docks' telemetry through a real broker into a dispatch runtime.

The dispatch runtime runs in a process of its own (so its CPU time is its own); light
publishers in this process hold ``docks`` registered docks online with a retained state and
telemetry at ``rate_hz`` each, every message signed with its dock's key as an edge signs it
(so dispatch's figure includes checking each signature). Handling latency is a telemetry
message's age when dispatch has applied it to the fleet (publish → broker → dispatch →
handled), on one clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiomqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.comms.mqtt import parse_mqtt_url
from edge.geo import destination
from edge.protocol import Kind, Phase, Position, State, topic
from edge.protocol.signing import public_key_text, sign_message
from outrider.bench.dock_choice import CENTRE, LIMITS, docked_telemetry

DOCKS_PER_CONNECTION = 100


async def _dispatch_main(url: str, conn: Connection, docks: list[dict[str, str]]) -> None:
    from dispatch.config import load_settings
    from dispatch.keys import init_keys
    from dispatch.runtime import Runtime

    private, _ = init_keys(Path(tempfile.mkdtemp(prefix="outrider-bench-")) / "keys")
    settings = load_settings(
        None,
        mqtt_url=url,
        db_url="sqlite:///:memory:",
        signing_key=private,
        log_format="text",
        docks=docks,
    )
    async with Runtime(settings, keep_samples=2_000_000) as rt:
        await asyncio.wait_for(rt.bus.connected.wait(), 20)
        conn.send("ready")
        await asyncio.to_thread(conn.recv)
        rt.ingest.samples.clear()
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.to_thread(conn.recv)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        now = rt.fleet.clock()
        stale = sum(1 for v in rt.fleet if v.stale_reason(now, rt.fleet.stale_after_s))
        conn.send(
            {
                "samples": list(rt.ingest.samples),
                "cpu_s": cpu,
                "wall_s": wall,
                "docks": len(rt.fleet),
                "stale": stale,
            }
        )


def _dispatch_side(url: str, conn: Connection, docks: list[dict[str, str]]) -> None:
    asyncio.run(_dispatch_main(url, conn, docks))


def _state(dock_id: str, i: int, key: Ed25519PrivateKey) -> bytes:
    home = destination(CENTRE, (i * 37) % 360, 200 + (i * 97) % 20_000)
    return sign_message(
        State(
            dock_id=dock_id,
            phase=Phase.DOCKED,
            ready=True,
            battery_pct=90,
            home=Position(lat=home.lat, lon=home.lon),
            limits=LIMITS,
        ),
        key,
    )


async def _pump(
    client: aiomqtt.Client,
    ids: list[str],
    keys: dict[str, Ed25519PrivateKey],
    rate_hz: float,
    stop: asyncio.Event,
) -> int:
    loop = asyncio.get_running_loop()
    step, due, sent = 1.0 / rate_hz / len(ids), loop.time(), 0
    while not stop.is_set():
        for dock_id in ids:
            tel = sign_message(docked_telemetry(dock_id, CENTRE, 90), keys[dock_id])
            await client.publish(topic(dock_id, Kind.TELEMETRY), tel, qos=0)
            sent += 1
            due += step
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
    return sent


async def _publishers(
    url: str, keys: dict[str, Ed25519PrivateKey], rate_hz: float, seconds: float, conn: Connection
) -> int:
    b = parse_mqtt_url(url)
    ids, docks = list(keys), len(keys)
    groups = [ids[i : i + DOCKS_PER_CONNECTION] for i in range(0, docks, DOCKS_PER_CONNECTION)]
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(aiomqtt.Client(b.host, b.port)) for _ in groups]
        for n, (client, group) in enumerate(zip(clients, groups, strict=True)):
            for k, dock_id in enumerate(group):
                await client.publish(
                    topic(dock_id, Kind.AVAILABILITY), b"online", qos=1, retain=True
                )
                state = _state(dock_id, n * 100 + k, keys[dock_id])
                await client.publish(topic(dock_id, Kind.STATE), state, qos=1, retain=True)
        async with asyncio.TaskGroup() as tg:
            tasks = [
                tg.create_task(_pump(c, g, keys, rate_hz, stop))
                for c, g in zip(clients, groups, strict=True)
            ]
            await asyncio.sleep(3.0)  # warm-up: every dock seen, caches hot
            conn.send("start")
            await asyncio.sleep(seconds)
            conn.send("stop")
            stop.set()
        for client, group in zip(clients, groups, strict=True):
            for dock_id in group:
                await client.publish(topic(dock_id, Kind.AVAILABILITY), b"", qos=1, retain=True)
                await client.publish(topic(dock_id, Kind.STATE), b"", qos=1, retain=True)
    return sum(t.result() for t in tasks)


async def _main(docks: int, rate_hz: float, seconds: float) -> dict[str, Any]:
    from sim.broker import local_broker

    keys = {f"bench-{i:05d}": Ed25519PrivateKey.generate() for i in range(docks)}
    registered = [{"id": d, "public_key": public_key_text(k.public_key())} for d, k in keys.items()]
    async with local_broker() as broker:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_dispatch_side, args=(broker.url, child, registered), daemon=True)
        proc.start()
        try:
            if not await asyncio.to_thread(parent.poll, 60) or parent.recv() != "ready":
                raise RuntimeError("dispatch side did not start")
            sent = await _publishers(broker.url, keys, rate_hz, seconds, parent)
            if not await asyncio.to_thread(parent.poll, 60):
                raise RuntimeError("dispatch side did not report")
            result: dict[str, Any] = parent.recv()
        finally:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    ages = sorted(result["samples"])
    cuts = statistics.quantiles(ages, n=100) if len(ages) > 1 else [0.0] * 99
    return {
        "docks": docks,
        "rate_hz": rate_hz,
        "docks_held": result["docks"],
        "stale_docks": result["stale"],
        "messages_handled_per_s": round(len(ages) / result["wall_s"]),
        "messages_sent": sent,
        "latency_p50_ms": round(cuts[49] * 1000, 2),
        "latency_p99_ms": round(cuts[98] * 1000, 2),
        "latency_max_ms": round(ages[-1] * 1000, 2) if ages else None,
        "dispatch_cpu_pct_of_one_core": round(100 * result["cpu_s"] / result["wall_s"], 1),
    }


def run(docks: int, rate_hz: float, seconds: float) -> dict[str, Any]:
    """Hold ``docks`` docks at ``rate_hz`` telemetry for ``seconds``; latency and CPU."""
    return asyncio.run(_main(docks, rate_hz, seconds))
