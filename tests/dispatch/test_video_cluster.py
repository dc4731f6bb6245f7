"""Video across dispatch instances through a real NATS server: an edge uplinks to one instance,
viewers watch on another, a late joiner there starts at a keyframe, and when the uplink's
instance is killed outright the edge moves to another and the viewer keeps watching."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from dispatch.config import DispatchSettings, load_settings
from dispatch.logs import remember_secrets
from edge.errors import ConfigError
from edge.protocol.video import FrameHeader, unpack_frame
from edge.redact import redact
from edge.video.uplink import Uplink
from sim.broker import LocalBroker
from sim.flood import DispatchProcess, Fleet
from sim.natsd import NatsServer
from tests.dispatch.conftest import TOKENS, RunningDispatch, bearer, ensure_tool, wait_for
from tests.dispatch.test_video import ws
from tests.dispatch.test_video_h264 import decodable, received
from tests.h264clip import H264Clip
from tests.video.conftest import decode_h264

INGEST = "/api/v1/video/ingest/dock-01"
WATCH = "/api/v1/video/dock-01/ws"


@pytest.fixture
async def nats_url() -> AsyncIterator[str]:
    """A NATS server of the test's own (skips without ``nats-server``)."""
    ensure_tool("nats-server", "nats-server")
    async with NatsServer() as server:
        yield server.url


@contextlib.asynccontextmanager
async def two_instances(
    make_settings: Callable[..., DispatchSettings], tmp_path: Path, bus: str
) -> AsyncIterator[tuple[RunningDispatch, RunningDispatch]]:
    def settings(name: str) -> DispatchSettings:
        return make_settings(
            db_url=f"sqlite:///{tmp_path / name}.db",
            cluster={"instance": name, "video_bus": bus, "video_subject": "test.video"},
        )

    async with RunningDispatch(settings("a")) as a, RunningDispatch(settings("b")) as b:
        await wait_for(lambda: a.runtime.video.bus.connected and b.runtime.video.bus.connected)
        yield a, b


async def test_a_viewer_on_another_instance_starts_at_the_uplinks_latest_keyframe(
    make_settings: Callable[..., DispatchSettings], tmp_path: Path, nats_url: str
) -> None:
    clip = H264Clip()
    async with (
        two_instances(make_settings, tmp_path, nats_url) as (a, b),
        ws(a, INGEST, "edge") as ingest,
    ):
        assert (await b.http.get("/healthz")).json()["video_bus"] == "connected"
        for message in clip.take(20):  # keyframes at 0 and 15
            await ingest.send(message)
        await wait_for(lambda: a.runtime.video.channel("dock-01").frames_in == 20)
        async with ws(b, WATCH, "dispatcher") as late:
            first = await received(late, 5)  # from a's keyframe group, asked over the bus
            assert [h.frame for h, _ in first] == [15, 16, 17, 18, 19]
            for message in clip.take(10):
                await ingest.send(message)
            rest = await received(late, 10)
            # a snapshot on b too, decoded from the group b now follows
            shot = await b.http.get("/api/v1/video/dock-01/frame.jpg")
            assert shot.status_code == 200 and shot.content[:2] == b"\xff\xd8"
        frames = first + rest
        assert [h.frame for h, _ in frames] == list(range(15, 30))
        assert len(decode_h264([body for _, body in frames])) == 15
        # nobody watches on b any more: it stops following, and a's viewers list stays empty
        await wait_for(lambda: "dock-01" not in b.runtime.video.channels)
        assert not a.runtime.video.channel("dock-01").viewers


async def test_a_snapshot_on_an_instance_nobody_watches_asks_the_uplinks_instance(
    make_settings: Callable[..., DispatchSettings], tmp_path: Path, nats_url: str
) -> None:
    clip = H264Clip()
    async with (
        two_instances(make_settings, tmp_path, nats_url) as (a, b),
        ws(a, INGEST, "edge") as ingest,
    ):
        assert (await b.http.get("/api/v1/video/dock-01/frame.jpg")).status_code == 404
        for message in clip.take(5):
            await ingest.send(message)
        await wait_for(lambda: a.runtime.video.channel("dock-01").frames_in == 5)
        shot = await b.http.get("/api/v1/video/dock-01/frame.jpg")
        assert shot.status_code == 200 and shot.content[:2] == b"\xff\xd8"
        assert "dock-01" not in b.runtime.video.channels


async def test_video_resumes_on_the_other_instance_after_the_bus_restarts(
    make_settings: Callable[..., DispatchSettings], tmp_path: Path
) -> None:
    ensure_tool("nats-server", "nats-server")
    clip = H264Clip()
    server = NatsServer()
    await server.__aenter__()
    try:
        async with (
            two_instances(make_settings, tmp_path, server.url) as (a, b),
            ws(a, INGEST, "edge") as ingest,
            ws(b, WATCH, "dispatcher") as viewer,
        ):
            await wait_for(lambda: b.runtime.video.channel("dock-01").follow is not None)
            for message in clip.take(15):
                await ingest.send(message)
            before = await received(viewer, 15)
            await server.__aexit__(None, None, None)  # the bus goes away: a's viewers unaffected
            await wait_for(lambda: not a.runtime.video.bus.connected)
            for message in clip.take(15):
                await ingest.send(message)
            server = NatsServer(server.port)
            await server.__aenter__()
            await wait_for(lambda: a.runtime.video.bus.connected and b.runtime.video.bus.connected)
            after: list[tuple[FrameHeader, bytes]] = []
            while len(after) < 5:  # the stream comes back at the next keyframe
                for message in clip.take(15):
                    await ingest.send(message)
                after += await received(viewer, 1)
                after += await received_now(viewer)
            assert a.runtime.video.channel("dock-01").frames_in >= 45
    finally:
        await server.__aexit__(None, None, None)
    assert [h.frame for h, _ in before] == list(range(15))
    assert after[0][0].key and decodable(after)
    assert len(decode_h264([body for _, body in after])) == len(after)


async def received_now(conn: ClientConnection) -> list[tuple[FrameHeader, bytes]]:
    """What the viewer got so far without waiting for more."""
    out = []
    with contextlib.suppress(TimeoutError):
        while True:
            data = await asyncio.wait_for(conn.recv(), 0.5)
            assert isinstance(data, bytes)
            out.append(unpack_frame(data))
    return out


# -- instances as processes, one killed outright --------------------------------------------


def cluster_env(bus: str, name: str) -> dict[str, str]:
    return {
        "OUTRIDER_DISPATCH_TOKENS": json.dumps(
            [{"name": f"{r}-1", "role": r, "token": t} for r, t in TOKENS.items()]
        ),
        "OUTRIDER_DISPATCH_CLUSTER": json.dumps(
            {"instance": name, "video_bus": bus, "video_subject": "test.video"}
        ),
    }


async def stream(uplink: Uplink, clip: H264Clip, stop: asyncio.Event) -> None:
    """The edge's camera: 15 frames a second into the uplink, as the pipeline offers them."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        link = uplink.link
        data, key = clip.next(force_key=link is not None and link.take_keyframe_request("raw"))
        uplink.offer("raw", data, loop.time(), key)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1 / clip.fps)


async def watch(conn: ClientConnection, into: list[tuple[FrameHeader, bytes]]) -> None:
    async for data in conn:
        assert isinstance(data, bytes)
        into.append(unpack_frame(data))


async def test_a_viewer_keeps_watching_when_the_uplinks_instance_is_killed(
    tmp_path: Path, broker: LocalBroker, nats_url: str
) -> None:
    fleet = Fleet(1)
    dock = next(iter(fleet.keys))
    procs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        proc = DispatchProcess(tmp_path / name, broker.url, fleet)
        proc.env.update(cluster_env(nats_url, name))
        procs.append(proc)
    a, b = procs
    clip = H264Clip(dock_id=dock)
    got: list[tuple[FrameHeader, bytes]] = []
    stop = asyncio.Event()
    async with a, b:
        await a.ready()
        await b.ready()
        view = f"ws://127.0.0.1:{b.port}/api/v1/video/{dock}/ws"
        async with (
            Uplink([a.url, b.url], dock, TOKENS["edge"], backoff_s=(0.2, 1.0)) as uplink,
            connect(view, additional_headers=bearer("dispatcher")) as viewer,
            asyncio.TaskGroup() as group,
        ):
            group.create_task(stream(uplink, clip, stop))
            reader = group.create_task(watch(viewer, got))
            await wait_for(lambda: len(got) >= 30, limit_s=20)
            assert uplink.url.startswith(f"ws://127.0.0.1:{a.port}/")
            assert uplink.stats.connects == 1

            await a.kill()
            before = len(got)
            await wait_for(lambda: len(got) >= before + 30, limit_s=20)
            assert uplink.url.startswith(f"ws://127.0.0.1:{b.port}/")
            assert uplink.stats.connects == 2
            async with httpx.AsyncClient(base_url=b.url, headers=bearer("dispatcher")) as http:
                [stats] = (await http.get(f"/api/v1/video/{dock}/viewers")).json()
            stop.set()
            reader.cancel()

    assert decodable(got)
    assert len(decode_h264([body for _, body in got])) == len(got)
    assert stats["frames_sent"] >= before + 30


def test_a_video_bus_in_service_must_be_tls_with_a_user() -> None:
    secure = {
        "environment": "production",
        "secret": "k3Jx9Qm2Lp7Vw4Zr8Tn1Yb6Hc5Gd0Fs-Ae",
        "host": "10.0.0.5",
        "public_url": "https://dispatch.example.org",
        "mqtt_url": "mqtts://dispatch:pw@broker.example.org:8883",
    }
    with pytest.raises(ConfigError, match="video_bus must be tls://"):
        load_settings(None, **secure, cluster={"video_bus": "nats://10.0.0.9:4222"})
    ok = load_settings(
        None, **secure, cluster={"video_bus": "tls://relay:pw@10.0.0.9:4222,tls://10.0.0.10:4222"}
    )
    assert ok.cluster.video_bus.startswith("tls://")
    with pytest.raises(ConfigError, match=r"cluster\.video_bus"):
        load_settings(None, cluster={"video_bus": "redis://10.0.0.9"})


def test_the_video_bus_password_never_reaches_the_logs(tmp_path: Path) -> None:
    secret = tmp_path / "nats.secret"
    secret.write_text("nats-password-from-a-file\n")
    remember_secrets(
        load_settings(
            None,
            cluster={
                "video_bus": "tls://relay:nats-password-in-the-url@10.0.0.9:4222",
                "video_bus_password_file": secret,
            },
        )
    )
    line = "nats-password-from-a-file and tls://relay:nats-password-in-the-url@10.0.0.9:4222"
    assert "nats-password" not in redact(line)
