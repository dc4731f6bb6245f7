"""The flight log: each sortie's take-off, landing and outcome, its track, and whether
detection and redaction ran — what the evidence bundle and the public register are made of.

The MQTT ingest and the video ingest call :class:`FlightLog`; it queues small store jobs on
the recorder's queue (so they are written in order with the events and retried like them).
Track points are sampled: the first telemetry of each ``interval_s`` of the dock's own clock
while in the air, so that every dispatch instance (each hears all telemetry) keeps the same
points, stored once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from dispatch.evidence.records import upsert
from dispatch.fleet import Fleet
from dispatch.store import tables as t
from dispatch.store.sql import SqlStore
from edge.protocol import Detections, Event, EventType, Telemetry
from edge.protocol.video import FrameHeader

__all__ = ["FlightEvent", "FlightFlag", "FlightLog", "TrackPoint"]

ENDING = frozenset({EventType.DOCKED, EventType.LANDED})
OUTCOMES = {
    EventType.RECALLED: "recalled",
    EventType.ABORTED: "aborted",
    EventType.FAILSAFE: "failsafe",
}
SEVERITY = {None: 0, "recalled": 1, "aborted": 2, "failsafe": 3}


@dataclass(frozen=True)
class TrackPoint:
    """One sampled position of a sortie."""

    sortie_id: str
    dock_id: str
    incident_id: str | None
    t: datetime
    lat: float
    lon: float
    alt_rel_m: float

    async def store(self, store: SqlStore) -> None:
        async with store.tx() as tx:
            await tx.conn.execute(tx.insert_ignore(t.track_points).values(**self.__dict__))


@dataclass(frozen=True)
class FlightEvent:
    """A sortie event that starts, colours or ends a flight."""

    sortie_id: str
    dock_id: str
    incident_id: str | None
    type: EventType
    at: datetime
    at_dock: bool
    home: tuple[float, float] | None

    async def store(self, store: SqlStore) -> None:
        async with store.tx() as tx:
            rows = (
                await tx.conn.execute(
                    select(t.flights).where(t.flights.c.sortie_id == self.sortie_id)
                )
            ).mappings()
            row: dict[str, Any] = dict(next(iter(rows), None) or {})
            values = {
                "sortie_id": self.sortie_id,
                "dock_id": self.dock_id,
                "incident_id": row.get("incident_id") or self.incident_id,
                "home_lat": row.get("home_lat"),
                "home_lon": row.get("home_lon"),
                "started_at": row.get("started_at"),
                "ended_at": row.get("ended_at"),
                "outcome": row.get("outcome"),
                "detection_ran": row.get("detection_ran", False),
                "redaction_ran": row.get("redaction_ran", False),
            }
            self._apply(values)
            await tx.conn.execute(upsert(tx, t.flights, ["sortie_id"], values))

    def _apply(self, values: dict[str, Any]) -> None:
        if self.home is not None and values["home_lat"] is None:
            values["home_lat"], values["home_lon"] = self.home
        if self.type is EventType.AIRBORNE and values["started_at"] is None:
            values["started_at"] = self.at
        outcome = OUTCOMES.get(self.type)
        if outcome and SEVERITY[outcome] > SEVERITY.get(values["outcome"], 0):
            values["outcome"] = outcome
        if self.type in ENDING and values["ended_at"] is None:
            values["ended_at"] = self.at
            if self.type is EventType.LANDED and not self.at_dock:
                values["outcome"] = values["outcome"] or "landed_away"
            values["outcome"] = values["outcome"] or "completed"


@dataclass(frozen=True)
class FlightFlag:
    """Detection or redaction was seen running during a sortie."""

    sortie_id: str
    dock_id: str
    column: str

    async def store(self, store: SqlStore) -> None:
        async with store.tx() as tx:
            found = await tx.conn.execute(
                update(t.flights)
                .where(t.flights.c.sortie_id == self.sortie_id)
                .values({self.column: True})
            )
            if not found.rowcount:
                await tx.conn.execute(
                    insert(t.flights).values(
                        sortie_id=self.sortie_id,
                        dock_id=self.dock_id,
                        detection_ran=self.column == "detection_ran",
                        redaction_ran=self.column == "redaction_ran",
                    )
                )


Job = TrackPoint | FlightEvent | FlightFlag


class FlightLog:
    """Turns telemetry, events, detections and video frames into flight-log jobs.

    Args:
        fleet: the dock's state says which sortie the telemetry belongs to.
        put: queues a job (the recorder's queue).
        interval_s: at most one track point per dock this often.
    """

    def __init__(
        self, fleet: Fleet, put: Callable[[Job], Awaitable[None]], interval_s: float = 1.0
    ) -> None:
        self.fleet = fleet
        self.put = put
        self.interval_s = interval_s
        self._last_point: dict[str, int] = {}
        self._flagged: set[tuple[str, str]] = set()

    async def on_telemetry(self, tel: Telemetry) -> None:
        """Keep a track point of a sortie in the air, at most one per ``interval_s``."""
        view = self.fleet.get(tel.dock_id)
        state = view.state if view else None
        if not tel.in_air or state is None or state.sortie_id is None:
            return
        bucket = int(tel.t.timestamp() // self.interval_s)
        if self._last_point.get(tel.dock_id) == bucket:
            return
        self._last_point[tel.dock_id] = bucket
        await self.put(
            TrackPoint(
                state.sortie_id, tel.dock_id, state.incident_id, tel.t, tel.lat, tel.lon,
                tel.alt_rel_m,
            )
        )  # fmt: skip

    async def on_event(self, ev: Event) -> None:
        """Start, colour or end the flight of the event's sortie."""
        if ev.sortie_id is None or (
            ev.type not in ENDING and ev.type not in OUTCOMES and ev.type is not EventType.AIRBORNE
        ):
            return
        view = self.fleet.get(ev.dock_id)
        home = (view.state.home.lat, view.state.home.lon) if view and view.state else None
        at_dock = ev.detail.get("at_dock") is not False
        await self.put(
            FlightEvent(ev.sortie_id, ev.dock_id, ev.incident_id, ev.type, ev.at, at_dock, home)
        )

    async def on_detections(self, det: Detections) -> None:
        """Detection ran during the sortie."""
        if det.sortie_id:
            await self._flag(det.sortie_id, det.dock_id, "detection_ran")

    async def on_frame(self, header: FrameHeader) -> None:
        """A redacted frame means redaction ran during the sortie."""
        if header.sortie_id and header.rendition == "redacted":
            await self._flag(header.sortie_id, header.dock_id, "redaction_ran")

    async def _flag(self, sortie_id: str, dock_id: str, column: str) -> None:
        if (sortie_id, column) in self._flagged:
            return
        if len(self._flagged) > 10_000:
            self._flagged.clear()
        self._flagged.add((sortie_id, column))
        await self.put(FlightFlag(sortie_id, dock_id, column))
