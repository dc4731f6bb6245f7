"""MQTT messages in: route each by its topic's kind to the fleet, the acks or the recorder.

One handler per kind, in a dict (the transport knows nothing of behaviour). A message counts
only when its topic names a registered dock and it carries that dock's signature
(:class:`~dispatch.docks.DockRegistry`); every payload is parsed with :mod:`edge.protocol.codec`.
A refused one is counted by kind and code (``unknown_dock``, ``unsigned``, ``bad_signature``,
``wrong_dock``, a parse code) and logged, never raised into the MQTT loop; the labels of the
count are bounded, so a flood of invented dock ids cannot grow it. Each dock has a message
budget (a token bucket): a dock that floods past it has the excess dropped unread and counted
as ``rate_limited``.

Every message is acknowledged to the broker once dispatch is done with it: events and acks
only after the recorder has stored them (so a crash before that gets them delivered again),
the rest once handled, and a refused one at once (sent again, it would be refused again).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from dispatch.commander import Commander
from dispatch.docks import DockRegistry
from dispatch.evidence.flights import FlightLog
from dispatch.fleet import Fleet
from dispatch.metrics import Metrics
from dispatch.recorder import LateAck, NewTracks, Recorder
from edge.comms.mqtt import Ack as MqttAck
from edge.errors import ProtocolError
from edge.protocol import (
    Ack,
    Availability,
    Detections,
    Event,
    Kind,
    State,
    Telemetry,
    now_utc,
    parse_availability,
    parse_topic,
    subscription,
)
from edge.protocol.codec import load_object, parse_object
from edge.ratelimit import Budgets

__all__ = ["SHARED_KINDS", "SUBSCRIPTIONS", "Ingest", "subscriptions"]

logger = logging.getLogger(__name__)

KINDS = (Kind.AVAILABILITY, Kind.STATE, Kind.TELEMETRY, Kind.EVENTS, Kind.DETECTIONS, Kind.ACK)
SUBSCRIPTIONS = [subscription(kind) for kind in KINDS]
SHARED_KINDS = frozenset({Kind.EVENTS, Kind.ACK})
"""What one instance of several handles (stored once); the rest every instance needs."""


def subscriptions(shared_group: str | None = None) -> list[str]:
    """The topic filters of dispatch: with ``shared_group``, events and acks through the MQTT
    shared subscription ``$share/<group>/...`` (the broker hands each to one instance of the
    group), the rest plain, to every instance: state and availability are retained, which a
    shared subscription is not sent, and each instance's fleet view needs every telemetry and
    detection message (staleness, the live map, the tracks)."""
    return [
        f"$share/{shared_group}/{subscription(kind)}"
        if shared_group and kind in SHARED_KINDS
        else subscription(kind)
        for kind in KINDS
    ]


Handler = Callable[[str, Any], Awaitable[None]]
StoredHandler = Callable[[str, Any, MqttAck], Awaitable[None]]
WARN_EVERY_S = 5.0


class Ingest:
    """The MQTT receiver of dispatch.

    Args:
        docks: the registered docks; messages of any other are refused.
        fleet: updated from availability, state, telemetry and detections.
        commander: receives acks first, so waiting senders wake at once.
        recorder: stores events, acks and new tracks, off the MQTT loop.
        metrics: the instance's metrics.
        keep_samples: remember this many telemetry ages (seconds) in ``samples``, for benchmarks.
        budgets: each dock's message budget; unlimited when ``None``.
        flights: the flight log (take-offs, landings, track points); none when ``None``.
    """

    def __init__(
        self,
        docks: DockRegistry,
        fleet: Fleet,
        commander: Commander,
        recorder: Recorder,
        metrics: Metrics,
        keep_samples: int = 0,
        budgets: Budgets | None = None,
        flights: FlightLog | None = None,
    ) -> None:
        self.docks = docks
        self.fleet = fleet
        self.flights = flights
        self.budgets = budgets
        self.commander = commander
        self.recorder = recorder
        self.metrics = metrics
        self.samples: deque[float] = (
            deque(maxlen=keep_samples or None) if keep_samples else deque(maxlen=0)
        )
        self._handlers: dict[Kind, Handler] = {
            Kind.AVAILABILITY: self._availability,
            Kind.STATE: self._state,
            Kind.TELEMETRY: self._telemetry,
            Kind.DETECTIONS: self._detections,
        }
        # kinds acknowledged to the broker by the recorder, once stored
        self._stored: dict[Kind, StoredHandler] = {Kind.EVENTS: self._event, Kind.ACK: self._ack}
        self._counters = {kind: metrics.messages.labels(kind.value) for kind in Kind}
        self._last_warning = 0.0
        self._unwarned = 0

    async def __call__(self, topic: str, payload: bytes, ack: MqttAck = lambda: None) -> None:
        """Handle one message and acknowledge it when done (see the module docstring)."""
        start = time.perf_counter()
        kind = "unknown"
        handed_over = False
        try:
            dock_id, parsed = parse_topic(topic)
            kind = parsed.value
            handler = self._handlers.get(parsed)
            stored = self._stored.get(parsed)
            if handler is None and stored is None:
                return
            if dock_id not in self.docks:
                raise ProtocolError(f"dock {dock_id!r} is not registered", code="unknown_dock")
            if self.budgets is not None and not self.budgets.take(dock_id):
                raise ProtocolError(
                    f"{dock_id} is over its budget of {self.budgets.rate:g} messages/s",
                    code="rate_limited",
                )
            message = self._read(dock_id, parsed, payload)
            if stored is not None:
                await stored(dock_id, message, ack)
                handed_over = True
            elif handler is not None:
                await handler(dock_id, message)
            self._counters[parsed].inc()
        except ProtocolError as exc:
            self.metrics.rejected.labels(kind, exc.code).inc()
            self._warn(kind, topic, exc)
        finally:
            if not handed_over:
                ack()
            self.metrics.handling.observe(time.perf_counter() - start)

    def _read(self, dock_id: str, kind: Kind, payload: bytes) -> Any:
        """The message, once it is known to be the dock's own.

        Raises:
            ProtocolError: when it is not signed by the dock, or not a valid message.
        """
        if kind is Kind.AVAILABILITY:
            self.docks.check(dock_id)
            return parse_availability(payload)
        obj = load_object(payload)
        self.docks.check(dock_id, obj)
        return parse_object(kind, obj)

    def _warn(self, kind: str, topic: str, exc: ProtocolError) -> None:
        """Log a refusal, at most one line every few seconds with the count in between."""
        now = time.monotonic()
        if now - self._last_warning <= WARN_EVERY_S:
            self._unwarned += 1
            return
        more = f" ({self._unwarned} more refused since the last line)" if self._unwarned else ""
        self._last_warning, self._unwarned = now, 0
        logger.warning("refused %s message on %r: %s%s", kind, topic[:200], exc, more)

    @staticmethod
    def _same_dock(dock_id: str, claimed: str) -> None:
        if claimed != dock_id:
            raise ProtocolError(
                f"message for {claimed!r} on the topic of {dock_id!r}", code="wrong_dock"
            )

    async def _availability(self, dock_id: str, availability: Availability) -> None:
        self.fleet.on_availability(dock_id, availability)

    async def _state(self, dock_id: str, state: State) -> None:
        self._same_dock(dock_id, state.dock_id)
        self.fleet.on_state(state)

    async def _telemetry(self, dock_id: str, tel: Telemetry) -> None:
        self._same_dock(dock_id, tel.dock_id)
        self.fleet.on_telemetry(tel)
        if self.flights is not None:
            await self.flights.on_telemetry(tel)
        age = (now_utc() - tel.t).total_seconds()
        self.metrics.telemetry_age.observe(max(0.0, age))
        self.samples.append(age)

    async def _event(self, dock_id: str, ev: Event, ack: MqttAck) -> None:
        self._same_dock(dock_id, ev.dock_id)
        if self.flights is not None:
            await self.flights.on_event(ev)
        await self.recorder.put(ev, ack)

    async def _detections(self, dock_id: str, det: Detections) -> None:
        self._same_dock(dock_id, det.dock_id)
        new = self.fleet.on_detections(det)
        if self.flights is not None:
            await self.flights.on_detections(det)
        if new and det.sortie_id:
            await self.recorder.put(NewTracks(dock_id, det.sortie_id, new))

    async def _ack(self, dock_id: str, reply: Ack, done: MqttAck) -> None:
        self._same_dock(dock_id, reply.dock_id)
        self.commander.resolve(reply)
        await self.recorder.put(LateAck(reply, self.commander.timed_out(reply.cmd_id)), done)
