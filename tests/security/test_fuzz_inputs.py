"""Fuzzing the inputs end to end: a running edge's command topic, dispatch's MQTT ingest with
near-valid messages, and the video ingest WebSocket. No input crashes anything, every one gets a
coded answer, and the service goes on."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from dispatch.metrics import Metrics
from edge.agent import EdgeAgent
from edge.errors import ProtocolError
from edge.protocol import AckCode, Kind, Message, encode
from edge.protocol.commands import canonical_json
from edge.protocol.signing import load_private_key, sign
from edge.protocol.video import MAX_FRAME_BYTES, FrameHeader, pack_frame, unpack_frame
from edge.ratelimit import TokenBucket
from sim.broker import LocalBroker
from tests import strategies
from tests.dispatch.conftest import RunningDispatch
from tests.dispatch.test_ingest import make_ingest
from tests.dispatch.test_video import frame, frames_of, jpeg, viewers_ready, ws
from tests.edge.conftest import Listener
from tests.edge.helpers import edge_config, running_agent
from tests.keys import TEST_DOCKS, dock_key
from tests.strategies import json_values

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


# -- the command topic of a running edge ----------------------------------------------------------


class EdgeUnderFuzz:
    def __init__(self, agent: EdgeAgent, listener: Listener, key: Ed25519PrivateKey) -> None:
        self.agent, self.listener, self.key = agent, listener, key

    async def send(self, payload: bytes) -> dict[str, Any]:
        before = len(self.listener.of("ack"))
        await self.listener.publish("dfr/v1/dock-01/cmd", payload)
        await self.listener.wait(lambda: len(self.listener.of("ack")) > before, 10, "an ack")
        acks = self.listener.of("ack")
        assert len(acks) == before + 1, "a payload got more than one ack"
        return acks[-1].json()  # type: ignore[no-any-return]


@pytest.fixture
async def edge_under_fuzz(
    broker: LocalBroker, listener: Listener, tmp_path: Path, keys: tuple[Path, Path]
) -> AsyncIterator[EdgeUnderFuzz]:
    config = edge_config(
        broker,
        tmp_path / "edge",
        vehicle={"connect_timeout_s": 0.5},  # no vehicle: nothing a command says can fly
        signing={"public_key": keys[1]},
    )
    async with running_agent(config) as agent:
        assert agent.link is not None
        agent.link.cmd_budget = TokenBucket(1e9, 1e9)  # fuzzing is not a flood
        yield EdgeUnderFuzz(agent, listener, load_private_key(keys[0]))


def _fresh(command: Message, key: Ed25519PrivateKey) -> bytes:
    """A generated command readdressed to dock-01, valid now, and signed by dispatch."""
    now = datetime.now(UTC)
    fresh = command.model_copy(
        update={"dock_id": "dock-01", "issued_at": now, "expires_at": now + timedelta(minutes=1)}
    )
    return encode(sign(fresh, key))  # type: ignore[type-var]


garbage = st.one_of(
    st.binary(max_size=400),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.just(json.dumps({"v": 1, "id": "big", "pad": "x" * 70_000}).encode()),
)


@settings(max_examples=100, deadline=None, suppress_health_check=FIXTURES)
@given(payload=garbage | strategies.commands.map(encode))
async def test_any_bytes_on_a_running_edges_command_topic_get_exactly_one_coded_refusal(
    edge_under_fuzz: EdgeUnderFuzz, payload: bytes
) -> None:
    ack = await edge_under_fuzz.send(payload)
    assert not ack["ok"] and ack["code"] in set(AckCode) and ack["code"] != "internal_error"
    assert ack["reason"]


@settings(max_examples=80, deadline=None, suppress_health_check=FIXTURES)
@given(command=strategies.commands)
async def test_any_signed_command_reaches_its_handler_and_gets_a_coded_answer(
    edge_under_fuzz: EdgeUnderFuzz, command: Message
) -> None:
    ack = await edge_under_fuzz.send(_fresh(command, edge_under_fuzz.key))
    assert ack["code"] in set(AckCode) and ack["code"] != "internal_error", ack
    assert ack["ok"] == (ack["code"] == "accepted")
    assert ack["code"] not in ("unsigned", "bad_signature", "wrong_dock", "expired"), ack
    assert edge_under_fuzz.agent.machine.sortie_id is None  # without a vehicle nothing launches


# -- dispatch's MQTT ingest, with near-valid messages -------------------------------------------

VALID = {
    Kind.STATE: strategies.states,
    Kind.TELEMETRY: strategies.telemetry,
    Kind.EVENTS: strategies.events,
    Kind.DETECTIONS: strategies.detections,
    Kind.ACK: strategies.acks,
}


@st.composite
def near_valid(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid message of some kind on a topic of some dock, then maybe one field broken, and
    mostly signed by that dock's key afterwards (so the break reaches the parser)."""
    kind = draw(st.sampled_from(list(VALID)))
    obj = json.loads(encode(draw(VALID[kind])))
    dock = draw(st.sampled_from([obj["dock_id"], "dock-01", "dock-02"]))
    if obj and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(obj)))
        if draw(st.booleans()):
            del obj[key]
        else:
            obj[key] = draw(json_values)
    obj.pop("sig", None)
    if dock in TEST_DOCKS and draw(st.integers(0, 3)):
        sig = dock_key(dock).sign(canonical_json(obj))
        obj["sig"] = base64.b64encode(sig).decode()
    return f"dfr/v1/{dock}/{kind.value}", json.dumps(obj).encode()


def _counted(metrics: Metrics) -> float:
    return sum(
        sample.value
        for family in (metrics.messages, metrics.rejected)
        for metric in family.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


@settings(max_examples=500, deadline=None)
@given(message=near_valid())
async def test_every_near_valid_message_is_either_taken_or_refused_with_a_code_once(
    message: tuple[str, bytes],
) -> None:
    ingest = make_ingest()
    await ingest(*message)
    assert _counted(ingest.metrics) == 1
    for metric in ingest.metrics.rejected.collect():
        for sample in metric.samples:
            if sample.value and sample.name.endswith("_total"):
                assert sample.labels["code"] in {*AckCode, "unknown_dock"}, sample


# -- the video ingest WebSocket -----------------------------------------------------------------


@pytest.fixture
async def video_pair(
    dispatch_service: RunningDispatch,
) -> AsyncIterator[tuple[RunningDispatch, ClientConnection, ClientConnection]]:
    async with (
        ws(dispatch_service, "/api/v1/video/ingest/dock-01", "edge", max_size=None) as ingest,
        ws(dispatch_service, "/api/v1/video/dock-01/ws", "dispatcher") as viewer,
    ):
        await viewers_ready(dispatch_service, "dock-01", 1)
        yield dispatch_service, ingest, viewer


JPEG = jpeg()
headers = st.builds(
    lambda h: h.model_dump_json().encode(),
    st.builds(
        FrameHeader,
        dock_id=st.sampled_from(["dock-01", "dock-02"]),
        frame=st.integers(0, 2**40),
        width=st.integers(1, 4000),
        height=st.integers(1, 4000),
    ),
)
frames = st.one_of(
    st.binary(max_size=600),
    st.builds(
        lambda n, head, body: n.to_bytes(4, "big") + head + body,
        st.integers(0, 2**32 - 1),
        headers | json_values.map(lambda v: json.dumps(v).encode()),
        st.sampled_from([JPEG, b"", b"\xff\xd8", b"not a jpeg"]),
    ),
    st.builds(lambda head, body: pack_frame(head, body), st.builds(
        FrameHeader, dock_id=st.just("dock-01"), frame=st.integers(0, 10), width=st.just(160),
        height=st.just(120)), st.binary(max_size=100)),
)  # fmt: skip
sequence = iter(range(10**6, 10**9))


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES)
@given(data=frames)
async def test_any_uplink_message_is_refused_with_a_code_and_the_next_good_frame_still_flows(
    video_pair: tuple[RunningDispatch, ClientConnection, ClientConnection], data: bytes
) -> None:
    service, ingest, viewer = video_pair
    metrics = service.runtime.metrics
    refused_before = _total(metrics.frames_bad)
    await ingest.send(data)
    good = next(sequence)
    await ingest.send(frame("dock-01", good))
    while (header := (await frames_of(viewer, 1))[0]).frame != good:
        assert header.dock_id == "dock-01"  # a fuzzed frame that was valid went through
    try:
        header, _ = unpack_frame(data)
        valid = header.dock_id == "dock-01"
    except ProtocolError:
        valid = False
    assert _total(metrics.frames_bad) - refused_before == (0 if valid else 1)


def _total(counter: Any) -> float:
    return sum(s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total"))


async def test_frames_over_the_limit_are_refused_and_one_past_the_socket_limit_only_ends_itself(
    video_pair: tuple[RunningDispatch, ClientConnection, ClientConnection],
) -> None:
    service, ingest, viewer = video_pair
    await ingest.send(frame("dock-01", 1, body=JPEG + b"\0" * MAX_FRAME_BYTES))
    await ingest.send(frame("dock-01", 2))
    assert [h.frame for h in await frames_of(viewer, 1)] == [2]
    assert service.runtime.metrics.frames_bad.labels("too_large")._value.get() == 1
    with pytest.raises(ConnectionClosed):
        await ingest.send(b"\0" * (17 * 1024 * 1024))  # past the WebSocket message limit
        await ingest.recv()
    async with ws(service, "/api/v1/video/ingest/dock-01", "edge") as again:
        await again.send(frame("dock-01", 3))
        assert [h.frame for h in await frames_of(viewer, 1)] == [3]
    assert (await service.http.get("/healthz")).status_code == 200
