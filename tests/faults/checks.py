"""What every fault scenario must end with: nothing lost, nothing twice, the vehicle safe.

:func:`settle` waits for the sortie to end and checks, in order:

1. the vehicle (ground truth from the sim) is landed and disarmed at the dock, or landed
   elsewhere with the reason recorded in a ``failsafe`` or ``aborted`` event;
2. dispatch stored every event the dock published for the incident exactly once, and its
   timeline lists them once each, in the order the dock emitted them;
3. no command was carried out twice: at most one accepting ack per command id, one
   ``accepted``, ``armed`` and ``airborne`` event, and every command dispatch sent, delivered
   again (as a broker does after a restart), is refused as already handled.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from edge.geo import LatLon, distance_m
from tests.dispatch.conftest import wait_for
from tests.edge.helpers import HOME
from tests.faults.rig import Rig

__all__ = ["Settled", "settle"]

Ending = Literal["dock", "away"]
ALREADY_HANDLED = {"replayed", "duplicate"}


@dataclass
class Settled:
    """How a scenario ended, for its assertions and the fault matrix."""

    incident_id: str
    events: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    truth: dict[str, Any]
    status: str
    failsafe: str | None = None
    redelivered: list[str] = field(default_factory=list)

    @property
    def types(self) -> list[str]:
        return [e["type"] for e in self.events]


def dock_events(rig: Rig, incident_id: str) -> list[dict[str, Any]]:
    """The events the dock published for the incident, each once, in the order emitted."""
    seen: dict[str, dict[str, Any]] = {}
    for event in rig.listener.events("dock-01"):
        if event.get("incident_id") == incident_id:
            seen.setdefault(event["id"], event)
    return list(seen.values())


async def _ended(rig: Rig, incident_id: str, ending: Ending, within: float) -> None:
    def finished() -> bool:
        types = [e["type"] for e in dock_events(rig, incident_id)]
        if ending == "dock":  # charging is the sortie's last event; ready is the dock's own
            return "charging" in types
        return "disarmed" in types and ("failsafe" in types or "aborted" in types)

    await rig.listener.wait(finished, within, f"sortie ended ({ending})")


async def _stored(rig: Rig, incident_id: str, events: list[dict[str, Any]]) -> None:
    want = {e["id"] for e in events}

    async def all_stored() -> bool:
        return want <= {e["id"] for e in await rig.stored_events(incident_id)}

    await wait_for(all_stored, limit_s=30, every=0.2)
    await rig.dispatch.runtime.drain()


def _check_vehicle(truth: dict[str, Any], ending: Ending) -> None:
    off = distance_m(LatLon(truth["lat"], truth["lon"]), HOME)
    assert truth["landed"] and not truth["armed"], f"vehicle not safe: {truth}"
    if ending == "dock":
        assert off < 5.0, f"vehicle is {off:.1f} m from the dock"


def _check_once_in_order(events: list[dict[str, Any]], stored: list[dict[str, Any]]) -> None:
    ids = [e["id"] for e in stored]
    assert len(ids) == len(set(ids)), f"dispatch stored an event twice: {Counter(ids)}"
    assert set(ids) == {e["id"] for e in events}


def _check_timeline(events: list[dict[str, Any]], timeline: list[dict[str, Any]]) -> None:
    lines = [(line["type"], line["at"]) for line in timeline if line["kind"] == "event"]
    emitted = [e["type"] for e in events]
    assert [t for t, _ in lines] == emitted, f"timeline {lines} != emitted {emitted}"


def _check_commands_once(rig: Rig, events: list[dict[str, Any]]) -> None:
    accepting = Counter(m.json()["cmd_id"] for m in rig.listener.of("ack") if m.json()["ok"])
    assert all(n == 1 for n in accepting.values()), f"a command was accepted twice: {accepting}"
    counts = Counter(e["type"] for e in events)
    for kind in ("accepted", "armed", "airborne"):
        assert counts[kind] == 1, f"{kind} {counts[kind]} times: {[e['type'] for e in events]}"


async def _redeliver(rig: Rig, incident_id: str) -> list[str]:
    """Deliver every command dispatch sent once more; each must be refused as handled."""
    sent = {m.json()["id"]: m.payload for m in rig.listener.of("cmd", "dock-01")}
    before = len(dock_events(rig, incident_id))
    codes = []
    for cmd_id, payload in sent.items():
        acks_before = sum(1 for m in rig.listener.of("ack") if m.json()["cmd_id"] == cmd_id)
        await rig.publish_raw("dfr/v1/dock-01/cmd", payload)

        def acked(cmd_id: str = cmd_id, n: int = acks_before) -> dict[str, Any] | None:
            acks = [m.json() for m in rig.listener.of("ack") if m.json()["cmd_id"] == cmd_id]
            return acks[-1] if len(acks) > n else None

        ack = await rig.listener.wait(acked, 15, f"ack of redelivered {cmd_id}")
        assert not ack["ok"] and ack["code"] in ALREADY_HANDLED, ack
        codes.append(str(ack["code"]))
    assert len(dock_events(rig, incident_id)) == before, "a redelivered command did something"
    return codes


async def settle(
    rig: Rig, incident_id: str, *, ending: Ending = "dock", within: float = 150.0
) -> Settled:
    """Wait for the sortie of ``incident_id`` to end, then check every invariant (see above)."""
    await _ended(rig, incident_id, ending, within)
    events = dock_events(rig, incident_id)
    await _stored(rig, incident_id, events)
    truth = await rig.vehicle.truth()
    _check_vehicle(truth, ending)
    stored = await rig.stored_events(incident_id)
    _check_once_in_order(events, stored)
    detail = await rig.incident(incident_id)
    _check_timeline(events, detail["timeline"])
    _check_commands_once(rig, events)
    failsafe = next(
        (e for e in events if e["type"] in ("failsafe", "aborted") and e["detail"].get("reason")),
        None,
    )
    if ending == "away":
        assert failsafe is not None, f"landed away with no reason recorded: {events}"
        landed = [e for e in events if e["type"] == "landed"]
        assert [e["detail"].get("at_dock") for e in landed] == [False], landed
        lines = [line for line in detail["timeline"] if line["type"] == failsafe["type"]]
        assert lines and failsafe["detail"]["reason"] in json.dumps(lines)
    settled = Settled(
        incident_id,
        events,
        detail["timeline"],
        truth,
        detail["status"],
        failsafe["detail"]["reason"] if failsafe else None,
    )
    settled.redelivered = await _redeliver(rig, incident_id)
    return settled
