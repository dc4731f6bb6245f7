"""Dispatch with the real edge agent (``edge.agent``) on the same broker.

Until the sim vehicle lands, the edge runs without a vehicle: it is online and publishes its
state and limits, refuses to fly, and verifies dispatch's signatures.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.protocol import AckCode
from sim.broker import LocalBroker
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.edge.helpers import HOME, edge_config, running_agent


def agent_config(broker: LocalBroker, tmp_path: Path, keys: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    return edge_config(
        broker,
        tmp_path / "edge",
        vehicle={"connect_timeout_s": 0.5},
        signing={"public_key": keys[1]},
    )


async def test_a_real_edge_is_seen_with_its_limits_and_accepts_only_dispatchs_signature(
    dispatch_service: RunningDispatch, broker: LocalBroker, tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    async with running_agent(agent_config(broker, tmp_path, keys)):
        rt = dispatch_service.runtime

        def seen() -> bool:
            view = rt.fleet.get("dock-01")
            return bool(view and view.state and view.state.limits and view.availability)

        await wait_for(seen, limit_s=20)
        dock = (await dispatch_service.http.get("/api/v1/docks/dock-01")).json()
        assert dock["availability"] == "online" and dock["home"]["lat"] == HOME.lat
        assert dock["max_range_m"] == 6000
        ping = rt.commander.build("ping", "dock-01", None, 30)
        ack = await rt.commander.send(ping, actor="user:test", incident_id=None, wait_s=10)
        assert ack is not None and ack.ok, ack
        real_key, rt.commander.key = rt.commander.key, Ed25519PrivateKey.generate()
        try:
            forged = rt.commander.build("ping", "dock-01", None, 30)
            refused = await rt.commander.send(forged, actor="user:x", incident_id=None, wait_s=10)
        finally:
            rt.commander.key = real_key
        assert refused is not None and refused.code is AckCode.BAD_SIGNATURE


async def test_an_edge_without_its_vehicle_is_not_sent_and_the_409_says_why(
    dispatch_service: RunningDispatch, broker: LocalBroker, tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    async with running_agent(agent_config(broker, tmp_path, keys)):
        rt = dispatch_service.runtime
        await wait_for(
            lambda: (v := rt.fleet.get("dock-01")) and v.state and v.state.limits, limit_s=20
        )
        r = await dispatch_service.http.post(
            "/api/v1/incidents", json={"lat": HOME.lat + 0.005, "lon": HOME.lon, "type": "fire"}
        )
        assert r.status_code == 409
        [reason] = r.json()["docks"]
        assert reason["dock_id"] == "dock-01"
        assert reason["code"] == "dock_not_ready", reason
