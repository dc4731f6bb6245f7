"""MQTT messages in: every kind lands where it should; bad bytes are refused, never a crash."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.commander import Commander
from dispatch.config import DockEntry
from dispatch.docks import DockRegistry
from dispatch.fleet import Fleet
from dispatch.ingest import Ingest
from dispatch.metrics import Metrics
from dispatch.recorder import Recorder
from dispatch.store.sql import SqlStore
from edge.comms.mqtt import parse_mqtt_url
from edge.protocol import Kind
from sim.broker import LocalBroker
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.dispatch.edges import EdgeSpec, ScriptedEdge
from tests.keys import registered


def make_ingest() -> Ingest:
    """An ingest in this process, with every test dock registered under its test key."""
    metrics, fleet = Metrics(), Fleet()
    store = SqlStore("sqlite:///:memory:")
    commander = Commander(None, store, Ed25519PrivateKey.generate(), metrics)  # type: ignore[arg-type]
    recorder = Recorder(store, None, commander, metrics)  # type: ignore[arg-type]
    docks = DockRegistry([DockEntry.model_validate(d) for d in registered()])
    return Ingest(docks, fleet, commander, recorder, metrics)


KINDS = [k.value for k in Kind] + ["nonsense", ""]
topics = st.one_of(
    st.builds(
        lambda d, k: f"dfr/v1/{d}/{k}",
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,8}", fullmatch=True),
        st.sampled_from(KINDS),
    ),
    st.text(max_size=40),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
payloads = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(["v", "dock_id", "id", "type", "lat", "lon", "t", "phase", "ok"]),
        json_values,
        max_size=6,
    ).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=400, deadline=None)
@given(topics, payloads)
async def test_arbitrary_topics_and_payloads_are_refused_without_raising(
    topic: str, payload: bytes
) -> None:
    ingest = make_ingest()
    await ingest(topic, payload)


async def test_a_full_state_then_telemetry_make_a_fresh_ready_dock() -> None:
    ingest = make_ingest()
    edge = ScriptedEdge("mqtt://127.0.0.1:1", EdgeSpec("dock-01", 51.5, -0.1))
    await ingest("dfr/v1/dock-01/availability", b"online")
    await ingest("dfr/v1/dock-01/state", edge.wire(edge.state()))
    view = ingest.fleet.get("dock-01")
    assert view is not None and view.eligible
    dock_02 = ScriptedEdge("mqtt://127.0.0.1:1", EdgeSpec("dock-02", 51.5, -0.1))
    await ingest("dfr/v1/dock-02/state", dock_02.wire(edge.state()))
    assert ingest.fleet.get("dock-02") is None or ingest.fleet.get("dock-02").state is None  # type: ignore[union-attr]
    assert ingest.metrics.rejected.labels("state", "wrong_dock")._value.get() == 1


async def test_garbage_on_the_broker_leaves_the_service_healthy(
    dispatch_service: RunningDispatch, broker: LocalBroker
) -> None:
    b = parse_mqtt_url(broker.url)
    async with aiomqtt.Client(b.host, b.port) as client:
        for kind in ("state", "telemetry", "events", "ack", "availability", "detections"):
            await client.publish(f"dfr/v1/dock-01/{kind}", b"\xff{not json", qos=1)
        await client.publish("dfr/v1/dock-01/state", b'{"v": 2}', qos=1)
        metrics = dispatch_service.runtime.metrics
        await wait_for(lambda: metrics.rejected.labels("state", "malformed_json")._value.get() == 1)
        await wait_for(lambda: metrics.rejected.labels("state", "unsigned")._value.get() == 1)
    r = await dispatch_service.http.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    async with dispatch_service.client("metrics") as scraper:
        assert "dispatch_mqtt_rejected_total" in (await scraper.get("/metrics")).text
    await asyncio.sleep(0)
