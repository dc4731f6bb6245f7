"""Dispatch trusts a dock's answer only from that dock, and never waits forever on a yes.

Mosquitto with the ACL of ``configs/mosquitto/``; dispatch and each scripted dock under their
own broker users, each dock signing with its own key. A forger holding dock-01's password and
key answers a command that went to dock-02; a dock that says yes and never flies is passed over.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from edge.protocol import Ack, AckCode
from edge.protocol.signing import load_public_key, sign_message
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.dispatch.edges import EdgeSpec, ScriptedEdge
from tests.dispatch.test_incidents_api import INCIDENT, docks_seen, near
from tests.keys import dispatch_key_files, dock_key
from tests.security.conftest import SecureBroker, observing, service_settings

pytestmark = pytest.mark.timeout(120)
Docks = Callable[..., AbstractAsyncContextManager[ScriptedEdge]]


@pytest.fixture
def scripted(secure_broker: SecureBroker) -> Docks:
    """``scripted("dock-01", lat, lon, **spec)``: a scripted dock under its own broker user."""
    public = load_public_key(dispatch_key_files()[1])

    def make(dock_id: str, lat: float, lon: float, **spec: Any) -> ScriptedEdge:
        url = secure_broker.plain_url(dock_id)
        return ScriptedEdge(url, EdgeSpec(dock_id, lat, lon, **spec), public)

    return make


def service(broker: SecureBroker, tmp_path: Path, **dispatch: Any) -> RunningDispatch:
    return RunningDispatch(service_settings(broker, tmp_path, dispatch=dispatch))


async def timeline(service: RunningDispatch, incident_id: str) -> list[dict[str, Any]]:
    r = await service.http.get(f"/api/v1/incidents/{incident_id}")
    return r.json()["timeline"]  # type: ignore[no-any-return]


async def test_an_ack_from_another_docks_topic_does_not_answer_a_dispatch(
    secure_broker: SecureBroker, tmp_path: Path, scripted: Docks
) -> None:
    async with (
        service(secure_broker, tmp_path) as dispatch,
        scripted("dock-02", *near(0, 800), respond="silent"),
        observing(secure_broker) as seen,
        secure_broker.client("dock-01") as forger,
    ):
        await docks_seen(dispatch, 1)

        async def answer_as_dock_01() -> None:
            def sent() -> dict[str, Any] | None:
                for topic, payload in seen.messages:
                    if topic == "dfr/v1/dock-02/cmd":
                        return json.loads(payload)  # type: ignore[no-any-return]
                return None

            cmd = await seen.wait(sent)
            for claimed in ("dock-01", "dock-02"):  # its own name, then dock-02's
                ack = Ack(
                    cmd_id=cmd["id"], dock_id=claimed, ok=True, code=AckCode.ACCEPTED,
                    sortie_id="S-forged",
                )  # fmt: skip
                payload = sign_message(ack, dock_key("dock-01"))
                await forger.publish("dfr/v1/dock-01/ack", payload, qos=1)

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(answer_as_dock_01())
            r = await dispatch.http.post("/api/v1/incidents", json=INCIDENT)
        assert r.status_code == 409, r.text
        reasons = {d["dock_id"]: d["code"] for d in r.json()["docks"]}
        assert reasons == {"dock-02": "ack_timeout"}
        incident = (await dispatch.http.get(f"/api/v1/incidents/{r.json()['incident_id']}")).json()
        assert incident["status"] == "unassigned" and incident["sortie_id"] is None
        assert not any(line["kind"] == "ack" for line in incident["timeline"])
        commands = await dispatch.runtime.store.list_commands(incident["id"])
        assert [(c.dock_id, c.ack_ok) for c in commands] == [("dock-02", None)]
        metrics = dispatch.runtime.metrics
        assert metrics.rejected.labels("ack", "wrong_dock")._value.get() == 1


async def test_a_dock_that_accepts_and_does_not_fly_is_passed_over_for_the_next(
    secure_broker: SecureBroker, tmp_path: Path, scripted: Docks
) -> None:
    async with (
        service(secure_broker, tmp_path, airborne_deadline_s=2.0) as dispatch,
        scripted("dock-01", *near(0, 700)) as stuck,  # says yes, never takes off
        scripted("dock-02", *near(90, 1500), fly=True, sortie_s=30),
    ):
        await docks_seen(dispatch, 2)
        r = await dispatch.http.post("/api/v1/incidents", json=INCIDENT)
        assert r.status_code == 201 and r.json()["dock_id"] == "dock-01", r.text
        incident_id = r.json()["id"]

        async def taken_over() -> dict[str, Any] | None:
            inc = (await dispatch.http.get(f"/api/v1/incidents/{incident_id}")).json()
            return inc if inc["dock_id"] == "dock-02" and inc["status"] == "en_route" else None

        incident = await wait_for(taken_over, limit_s=20)
        passed = [line for line in incident["timeline"] if line.get("code") == "not_airborne"]
        assert passed and passed[0]["dock_id"] == "dock-01"
        assert "not airborne 2 s after accepting" in passed[0]["text"]
        await wait_for(lambda: [c.type for c in stuck.commands] == ["dispatch", "recall"])


async def test_with_no_other_dock_a_dock_that_does_not_fly_hands_the_incident_back(
    secure_broker: SecureBroker, tmp_path: Path, scripted: Docks
) -> None:
    async with (
        service(secure_broker, tmp_path, airborne_deadline_s=2.0) as dispatch,
        scripted("dock-01", *near(0, 700)),
    ):
        await docks_seen(dispatch, 1)
        r = await dispatch.http.post("/api/v1/incidents", json=INCIDENT)
        assert r.status_code == 201, r.text

        async def handed_back() -> dict[str, Any] | None:
            inc = (await dispatch.http.get(f"/api/v1/incidents/{r.json()['id']}")).json()
            return inc if inc["status"] == "unassigned" else None

        incident = await wait_for(handed_back, limit_s=20)
        assert incident["dock_id"] is None
        lines = {line["type"]: line for line in incident["timeline"]}
        assert lines["fallback"]["code"] == "not_airborne"
        docks = lines["unassigned"]["detail"]["docks"]
        assert {d["dock_id"]: d["code"] for d in docks}["dock-01"] == "not_airborne"
