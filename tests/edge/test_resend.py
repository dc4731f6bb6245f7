"""Events of a sortie that dispatch missed are sent again from the edge's own record."""

from __future__ import annotations

import json
from pathlib import Path

from edge.outbox import Outbox
from edge.protocol import Event, GeoPoint, Phase, ResendCommand, parse_command
from edge.sortie.machine import SortieMachine
from edge.sortie.resend import SortieLog
from sim.broker import LocalBroker
from tests.edge.conftest import Listener
from tests.edge.helpers import command, edge_config, running_agent, send


def resend(sortie_id: str, seqs: list[int]) -> ResendCommand:
    body = {"sortie_id": sortie_id, "seqs": seqs}
    cmd = parse_command(json.dumps(command("resend", body=body)).encode())
    assert isinstance(cmd, ResendCommand)
    return cmd


async def test_events_asked_for_again_are_sent_again_with_their_ids_even_after_a_restart(
    tmp_path: Path,
) -> None:
    emitted: list[Event] = []
    with Outbox(tmp_path / "edge.sqlite3") as outbox:
        log = SortieLog(outbox, lambda ev: None)

        def emit(ev: Event) -> None:
            emitted.append(ev)
            log.keep(ev)

        machine = SortieMachine("dock-01", emit)
        sortie = machine.begin("INC-1", GeoPoint(lat=51.5, lon=-0.1))
        machine.transition(Phase.PREFLIGHT)
        machine.transition(Phase.LAUNCHING)
        machine.transition(Phase.EN_ROUTE)
    assert [e.seq for e in emitted] == [1, 2, 3]

    sent: list[Event] = []
    with Outbox(tmp_path / "edge.sqlite3") as outbox:  # the edge restarted meanwhile
        outcome = await SortieLog(outbox, sent.append).resend(resend(sortie, [3, 2, 9]), 0.0)
    assert sent == [emitted[1], emitted[2]]  # the same events, ids and all, in order
    assert outcome.reason == "2 of 3 events sent again"


async def test_the_running_agent_refuses_to_resend_a_sortie_it_does_not_know(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    config = edge_config(broker, tmp_path, vehicle={"connect_timeout_s": 0.5})
    async with running_agent(config):
        await listener.wait(lambda: listener.of("availability"), 10, "online")
        ack = await send(listener, command("resend", body={"sortie_id": "S-x", "seqs": [1]}))
        assert (ack["ok"], ack["code"]) == (False, "unknown_sortie")
