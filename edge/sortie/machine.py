"""The sortie state machine: the phases, the allowed transitions, and the event each one emits.

This is the only place a phase changes. :data:`TRANSITIONS` is the whole table: a transition
not in it is a programming error and raises. Each transition emits its event (a transition
may name one of several events its row allows, e.g. ``recalled`` or ``returning``); milestones
inside a phase (``armed``, ``airborne``, ``landed``, ...) are events without a phase change.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from edge.protocol import Event, EventType, GeoPoint, Phase

__all__ = ["AIRBORNE", "MILESTONES", "TRANSITIONS", "SortieMachine", "TransitionError"]

logger = logging.getLogger(__name__)

P, E = Phase, EventType
AIRBORNE = frozenset({P.LAUNCHING, P.EN_ROUTE, P.ON_SCENE, P.RETURNING, P.LANDING})
EXITS = frozenset({P.ABORTED, P.FAILSAFE})
FLYING = AIRBORNE | EXITS

# (from, to) -> the events that transition may emit; the first is the default.
TRANSITIONS: dict[tuple[Phase, Phase], tuple[EventType, ...]] = {
    (P.DOCKED, P.PREFLIGHT): (E.ACCEPTED,),
    (P.CHARGING, P.PREFLIGHT): (E.ACCEPTED,),
    (P.PREFLIGHT, P.LAUNCHING): (E.LID_OPEN,),
    (P.PREFLIGHT, P.DOCKED): (E.PREFLIGHT_FAILED, E.ABORTED),
    (P.LAUNCHING, P.DOCKED): (E.PREFLIGHT_FAILED, E.ABORTED),
    (P.LAUNCHING, P.LAUNCHING): (E.RETASKED,),
    (P.LAUNCHING, P.EN_ROUTE): (E.EN_ROUTE,),
    (P.EN_ROUTE, P.EN_ROUTE): (E.RETASKED,),
    (P.EN_ROUTE, P.ON_SCENE): (E.ON_SCENE,),
    (P.ON_SCENE, P.EN_ROUTE): (E.RETASKED,),
    (P.RETURNING, P.EN_ROUTE): (E.RETASKED,),
    (P.ABORTED, P.EN_ROUTE): (E.RETASKED,),
    (P.RETURNING, P.LANDING): (E.LANDING,),
    (P.LANDING, P.DOCKED): (E.DOCKED,),
    (P.DOCKED, P.CHARGING): (E.CHARGING,),
    (P.CHARGING, P.DOCKED): (E.READY,),
    # Exits from any airborne phase, and the ways out of them.
    **{(a, P.RETURNING): (E.RETURNING,) for a in (P.EN_ROUTE, P.ON_SCENE, P.LAUNCHING)},
    **{(a, P.ABORTED): (E.ABORTED,) for a in FLYING},
    **{(a, P.FAILSAFE): (E.FAILSAFE,) for a in FLYING},
    **{(a, P.RETURNING): (E.RETURNING,) for a in EXITS},
    **{(a, P.LANDING): (E.LANDING,) for a in EXITS},
    **{(P.LANDING, a): (E.LANDED,) for a in EXITS},
    **{(a, P.DOCKED): (E.DOCKED,) for a in EXITS},
}
# Events that mark progress inside a phase.
MILESTONES = frozenset(
    {
        E.REJECTED,
        E.PREFLIGHT_FAILED,
        E.LID_OPEN,
        E.ARMED,
        E.AIRBORNE,
        E.RECALLED,
        E.LANDED,
        E.DISARMED,
        E.LID_CLOSED,
        E.VEHICLE_LINK_LOST,
        E.VEHICLE_LINK_RESTORED,
        E.RESUMED,
    }
)


class TransitionError(RuntimeError):
    """A transition or milestone the table does not allow (a bug, never bad input)."""


def new_sortie_id(now: datetime | None = None) -> str:
    """A sortie id that sorts by time and is unique: ``S-20261121-100000-3fa9c2``."""
    t = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"S-{t}-{secrets.token_hex(3)}"


class SortieMachine:
    """Holds the phase and the sortie it belongs to; every change goes out as an event.

    Args:
        dock_id: this dock.
        emit: called with each event, in order (the outbox).
        changed: called after every change (republish ``state``, persist the sortie).
    """

    def __init__(
        self,
        dock_id: str,
        emit: Callable[[Event], None],
        changed: Callable[[], None] = lambda: None,
        phase: Phase = Phase.DOCKED,
    ) -> None:
        self.dock_id = dock_id
        self.phase = phase
        self.sortie_id: str | None = None
        self.incident_id: str | None = None
        self.target: GeoPoint | None = None
        self.seq = 0  # the last event's place in the sortie (kept with the sortie's record)
        self._emit = emit
        self._changed = changed

    @property
    def airborne(self) -> bool:
        return self.phase in FLYING

    @property
    def idle(self) -> bool:
        """Docked or charging: free to take a dispatch."""
        return self.phase in (Phase.DOCKED, Phase.CHARGING)

    def allowed(self, to: Phase) -> bool:
        return (self.phase, to) in TRANSITIONS

    def begin(self, incident_id: str | None, target: GeoPoint, sortie_id: str | None = None) -> str:
        """Start a new sortie's context (the ``accepted`` transition follows)."""
        if not self.idle:
            raise TransitionError(f"cannot begin a sortie while {self.phase}")
        self.sortie_id = sortie_id or new_sortie_id()
        self.incident_id = incident_id
        self.target = target
        self.seq = 0
        return self.sortie_id

    def retarget(self, target: GeoPoint) -> None:
        """The sortie's target changed (a retask; the ``retasked`` transition follows)."""
        self.target = target

    def transition(self, to: Phase, event: EventType | None = None, **detail: Any) -> Event:
        """Move to ``to`` and emit the transition's event.

        Raises:
            TransitionError: when the table has no such transition or event.
        """
        allowed = TRANSITIONS.get((self.phase, to))
        if allowed is None:
            raise TransitionError(f"no transition from {self.phase} to {to}")
        kind = event or allowed[0]
        if kind not in allowed:
            raise TransitionError(f"{self.phase} -> {to} emits {allowed}, not {kind}")
        logger.info("%s: %s -> %s (%s)", self.dock_id, self.phase, to, kind)
        self.phase = to
        out = self._event(kind, detail)
        self._changed()
        return out

    def note(self, event: EventType, *, incident_id: str | None = None, **detail: Any) -> Event:
        """Emit a milestone of the current phase (no phase change).

        Args:
            event: the milestone.
            incident_id: the incident it concerns when not the sortie's (a refused dispatch).
            detail: the event's ``detail``.

        Raises:
            TransitionError: when ``event`` is not a milestone.
        """
        if event not in MILESTONES:
            raise TransitionError(f"{event} is a transition event, not a milestone")
        out = self._event(event, detail, incident_id)
        self._changed()
        return out

    def end_sortie(self) -> None:
        """Forget the finished sortie (after ``docked`` or a failed preflight)."""
        self.sortie_id = self.incident_id = None
        self.target = None
        self.seq = 0
        self._changed()

    def start_in(self, phase: Phase) -> None:
        """The phase at start-up when no sortie was in progress (no event: nothing happened)."""
        if phase not in (Phase.DOCKED, Phase.CHARGING):
            raise TransitionError(f"cannot start in {phase}; use restore()")
        self.phase = phase
        self._changed()

    def restore(
        self,
        phase: Phase,
        sortie_id: str | None,
        incident_id: str | None,
        target: GeoPoint | None,
        **detail: Any,
    ) -> Event:
        """Take up a sortie found in progress at start-up; emits ``resumed``."""
        self.phase = phase
        self.sortie_id, self.incident_id, self.target = sortie_id, incident_id, target
        out = self._event(E.RESUMED, detail)
        self._changed()
        return out

    def _event(
        self, kind: EventType, detail: dict[str, Any], incident_id: str | None = None
    ) -> Event:
        if self.sortie_id is not None:
            self.seq += 1
        event = Event(
            id=uuid.uuid4().hex,
            dock_id=self.dock_id,
            sortie_id=self.sortie_id,
            incident_id=incident_id or self.incident_id,
            seq=self.seq if self.sortie_id is not None else None,
            type=kind,
            phase=self.phase,
            detail=detail,
        )
        self._emit(event)
        return event
