"""MQTT messages in: route each by its topic's kind to the fleet, the acks or the recorder.

One handler per kind, in a dict (the transport knows nothing of behaviour). Every payload
is parsed with :mod:`edge.protocol.codec`; a bad one is counted and refused with its code,
never raised into the MQTT loop. Each dock has a message budget (a token bucket): a dock that
floods past it has the excess dropped unread and counted as ``rate_limited``.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from dispatch.commander import Commander
from dispatch.evidence.flights import FlightLog
from dispatch.fleet import Fleet
from dispatch.metrics import Metrics
from dispatch.recorder import LateAck, NewTracks, Recorder
from edge.errors import ProtocolError
from edge.protocol import (
    Ack,
    Detections,
    Event,
    Kind,
    State,
    Telemetry,
    now_utc,
    parse,
    parse_availability,
    parse_topic,
    subscription,
)
from edge.ratelimit import Budgets

__all__ = ["SUBSCRIPTIONS", "Ingest"]

logger = logging.getLogger(__name__)

SUBSCRIPTIONS = [
    subscription(kind)
    for kind in (
        Kind.AVAILABILITY,
        Kind.STATE,
        Kind.TELEMETRY,
        Kind.EVENTS,
        Kind.DETECTIONS,
        Kind.ACK,
    )
]
Handler = Callable[[str, bytes], Awaitable[None]]


class Ingest:
    """The MQTT receiver of dispatch.

    Args:
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
        fleet: Fleet,
        commander: Commander,
        recorder: Recorder,
        metrics: Metrics,
        keep_samples: int = 0,
        budgets: Budgets | None = None,
        flights: FlightLog | None = None,
    ) -> None:
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
            Kind.EVENTS: self._event,
            Kind.DETECTIONS: self._detections,
            Kind.ACK: self._ack,
        }
        self._counters = {kind: metrics.messages.labels(kind.value) for kind in Kind}
        self._last_warning = 0.0

    async def __call__(self, topic: str, payload: bytes) -> None:
        start = time.perf_counter()
        kind = "unknown"
        try:
            dock_id, parsed = parse_topic(topic)
            kind = parsed.value
            handler = self._handlers.get(parsed)
            if handler is None:
                return
            if self.budgets is not None and not self.budgets.take(dock_id):
                raise ProtocolError(
                    f"{dock_id} is over its budget of {self.budgets.rate:g} messages/s",
                    code="rate_limited",
                )
            await handler(dock_id, payload)
            self._counters[parsed].inc()
        except ProtocolError as exc:
            self.metrics.rejected.labels(kind, exc.code).inc()
            now = time.monotonic()
            if now - self._last_warning > 5.0:
                self._last_warning = now
                logger.warning("refused %s message on %s: %s", kind, topic[:200], exc)
        finally:
            self.metrics.handling.observe(time.perf_counter() - start)

    @staticmethod
    def _same_dock(dock_id: str, claimed: str) -> None:
        if claimed != dock_id:
            raise ProtocolError(
                f"message for {claimed!r} on the topic of {dock_id!r}", code="wrong_dock"
            )

    async def _availability(self, dock_id: str, payload: bytes) -> None:
        self.fleet.on_availability(dock_id, parse_availability(payload))

    async def _state(self, dock_id: str, payload: bytes) -> None:
        state = parse(Kind.STATE, payload)
        assert isinstance(state, State)
        self._same_dock(dock_id, state.dock_id)
        self.fleet.on_state(state)

    async def _telemetry(self, dock_id: str, payload: bytes) -> None:
        tel = parse(Kind.TELEMETRY, payload)
        assert isinstance(tel, Telemetry)
        self._same_dock(dock_id, tel.dock_id)
        self.fleet.on_telemetry(tel)
        if self.flights is not None:
            await self.flights.on_telemetry(tel)
        age = (now_utc() - tel.t).total_seconds()
        self.metrics.telemetry_age.observe(max(0.0, age))
        self.samples.append(age)

    async def _event(self, dock_id: str, payload: bytes) -> None:
        ev = parse(Kind.EVENTS, payload)
        assert isinstance(ev, Event)
        self._same_dock(dock_id, ev.dock_id)
        if self.flights is not None:
            await self.flights.on_event(ev)
        await self.recorder.put(ev)

    async def _detections(self, dock_id: str, payload: bytes) -> None:
        det = parse(Kind.DETECTIONS, payload)
        assert isinstance(det, Detections)
        self._same_dock(dock_id, det.dock_id)
        new = self.fleet.on_detections(det)
        if self.flights is not None:
            await self.flights.on_detections(det)
        if new and det.sortie_id:
            await self.recorder.put(NewTracks(dock_id, det.sortie_id, new))

    async def _ack(self, dock_id: str, payload: bytes) -> None:
        ack = parse(Kind.ACK, payload)
        assert isinstance(ack, Ack)
        self._same_dock(dock_id, ack.dock_id)
        self.commander.resolve(ack)
        await self.recorder.put(LateAck(ack, self.commander.timed_out(ack.cmd_id)))
