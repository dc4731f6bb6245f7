"""The sortie state machine: the table decides, every transition emits its event."""

from __future__ import annotations

import pytest

from edge.protocol import Event, EventType, GeoPoint, Phase
from edge.sortie.machine import TRANSITIONS, SortieMachine, TransitionError


def _machine() -> tuple[SortieMachine, list[Event]]:
    events: list[Event] = []
    return SortieMachine("dock-01", events.append), events


def test_a_whole_sortie_walks_the_table_and_names_each_step() -> None:
    m, events = _machine()
    m.begin("INC-1", GeoPoint(lat=51.5, lon=-0.1))
    m.transition(Phase.PREFLIGHT)
    m.transition(Phase.LAUNCHING)
    m.note(EventType.ARMED)
    m.note(EventType.AIRBORNE)
    for phase in (Phase.EN_ROUTE, Phase.ON_SCENE, Phase.RETURNING, Phase.LANDING):
        m.transition(phase)
    m.note(EventType.LANDED)
    m.transition(Phase.DOCKED)
    m.transition(Phase.CHARGING)
    m.transition(Phase.DOCKED)
    assert [e.type for e in events] == [
        "accepted", "lid_open", "armed", "airborne", "en_route", "on_scene",
        "returning", "landing", "landed", "docked", "charging", "ready",
    ]  # fmt: skip
    assert len({e.id for e in events}) == len(events)
    assert {e.sortie_id for e in events} == {m.sortie_id} and m.sortie_id
    assert events[0].incident_id == "INC-1"


def test_a_transition_outside_the_table_raises() -> None:
    m, events = _machine()
    with pytest.raises(TransitionError):
        m.transition(Phase.ON_SCENE)
    with pytest.raises(TransitionError):
        m.note(EventType.ON_SCENE)
    assert m.phase is Phase.DOCKED and events == []


def test_a_transition_may_only_emit_an_event_its_row_allows() -> None:
    m, _ = _machine()
    m.begin(None, GeoPoint(lat=0, lon=0))
    with pytest.raises(TransitionError):
        m.transition(Phase.PREFLIGHT, EventType.READY)


def test_aborted_and_failsafe_are_exits_from_every_airborne_phase() -> None:
    flying = (Phase.LAUNCHING, Phase.EN_ROUTE, Phase.ON_SCENE, Phase.RETURNING, Phase.LANDING)
    for phase in flying:
        assert (phase, Phase.ABORTED) in TRANSITIONS
        assert (phase, Phase.FAILSAFE) in TRANSITIONS
    for exit_ in (Phase.ABORTED, Phase.FAILSAFE):
        assert (exit_, Phase.RETURNING) in TRANSITIONS and (exit_, Phase.LANDING) in TRANSITIONS


def test_a_restored_sortie_says_it_resumed() -> None:
    m, events = _machine()
    m.restore(Phase.RETURNING, "S-1", "INC-9", None, found="airborne")
    assert m.phase is Phase.RETURNING and events[-1].type == "resumed"
    assert events[-1].sortie_id == "S-1" and events[-1].detail == {"found": "airborne"}


def test_a_sorties_events_are_numbered_from_one_and_the_numbering_survives_a_restart() -> None:
    m, events = _machine()
    m.begin("INC-1", GeoPoint(lat=51.5, lon=-0.1))
    m.transition(Phase.PREFLIGHT)
    m.transition(Phase.LAUNCHING)
    m.note(EventType.ARMED)
    assert [e.seq for e in events] == [1, 2, 3]

    # the edge restarts in flight: a new machine takes up the sortie from its saved record
    restarted, more = _machine()
    restarted.seq = m.seq
    restarted.restore(Phase.EN_ROUTE, m.sortie_id, "INC-1", None, found="airborne")
    assert [(e.type, e.seq) for e in more] == [("resumed", 4)]

    restarted.end_sortie()
    restarted.start_in(Phase.DOCKED)
    restarted.begin("INC-2", GeoPoint(lat=51.5, lon=-0.1))
    restarted.transition(Phase.PREFLIGHT)
    assert more[-1].seq == 1 and more[-1].sortie_id != m.sortie_id
