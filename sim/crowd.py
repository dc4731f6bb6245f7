"""A crowd of light docks on one MQTT connection: what dispatch sees of a fleet, without vehicles.

Each dock has an Ed25519 key of its own and publishes what a real edge publishes, signed:
availability and a retained state with its limits, telemetry at a set rate, and, when told to
fly, a short sortie (``accepted``, ``armed``, ``airborne``, ``on_scene``, ``returning``,
``landed``, ``docked``, numbered 1, 2, 3...) with its state moving along. It answers every
command with an ack. A dock told to fly while already out on a sortie refuses (``busy``), as
a real edge does, and counts it in :attr:`Crowd.double_booked`: dispatch sent one dock to two
incidents at once. Tests and ``outrider bench dispatch --instances`` run it against several
dispatch instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.comms.mqtt import make_client, parse_mqtt_url
from edge.errors import OutriderError
from edge.protocol import (
    Ack,
    AckCode,
    DispatchCommand,
    DockStatus,
    Event,
    EventType,
    Kind,
    Limits,
    Phase,
    Position,
    State,
    Telemetry,
    subscription,
    topic,
)
from edge.protocol.codec import parse_command
from edge.protocol.models import Signed
from edge.protocol.signing import public_key_text, sign_message

__all__ = ["Crowd", "CrowdDock"]

SORTIE = (
    (EventType.ARMED, Phase.LAUNCHING),
    (EventType.AIRBORNE, Phase.EN_ROUTE),
    (EventType.ON_SCENE, Phase.ON_SCENE),
    (EventType.RETURNING, Phase.RETURNING),
    (EventType.LANDED, Phase.LANDING),
    (EventType.DOCKED, Phase.DOCKED),
)
LIMITS = {
    "max_range_m": 6000.0,
    "reserve_pct": 20,
    "ceiling_m": 120,
    "wind_limit_mps": 12,
    "transit_alt_m": 60,
    "cruise_mps": 15,
    "climb_mps": 3,
    "descent_mps": 2,
    "launch_overhead_s": 20,
}


@dataclass
class CrowdDock:
    """One dock of the crowd."""

    dock_id: str
    lat: float
    lon: float
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    phase: Phase = Phase.DOCKED
    sortie_id: str | None = None
    incident_id: str | None = None
    seq: int = 0
    incidents: list[str] = field(default_factory=list)

    def state(self) -> State:
        idle = self.sortie_id is None
        return State(
            dock_id=self.dock_id,
            phase=self.phase,
            ready=idle,
            not_ready=[] if idle else [{"code": "busy", "reason": "on a sortie"}],
            sortie_id=self.sortie_id,
            incident_id=self.incident_id,
            battery_pct=95.0,
            position=Position(lat=self.lat, lon=self.lon, alt_rel_m=0),
            home=Position(lat=self.lat, lon=self.lon, alt_amsl_m=20.0),
            dock=DockStatus(lid="closed", charging=False, wind_mps=0.0, wind_from_deg=0),
            limits=Limits(**LIMITS),
        )

    def telemetry(self) -> Telemetry:
        flying = self.phase not in (Phase.DOCKED, Phase.PREFLIGHT)
        return Telemetry(
            dock_id=self.dock_id,
            lat=self.lat,
            lon=self.lon,
            alt_rel_m=60.0 if flying else 0.0,
            alt_amsl_m=80.0 if flying else 20.0,
            heading_deg=0.0,
            ground_speed_mps=15.0 if flying else 0.0,
            battery_pct=95.0,
            flight_mode="MISSION" if flying else "HOLD",
            armed=flying,
            in_air=flying,
            gps_fix=3,
        )


class Crowd:
    """``size`` docks on a grid round ``center``, ``spacing_m`` apart, on broker ``url``.

    Args:
        url: the broker.
        size: how many docks.
        center: the grid's middle.
        spacing_m: distance between neighbouring docks.
        telemetry_hz: telemetry rate of each dock (0: none).
        sortie_s: length of each sortie flown.
        ack_delay_s: how long a dock takes to answer a dispatch command.
        prefix: dock ids are ``<prefix>-000``...
    """

    def __init__(
        self,
        url: str,
        size: int,
        *,
        center: tuple[float, float] = (60.17, 24.94),
        spacing_m: float = 1500.0,
        telemetry_hz: float = 1.0,
        sortie_s: float = 1.0,
        ack_delay_s: float = 0.0,
        prefix: str = "crowd",
    ) -> None:
        self.url = url
        self.ack_delay_s = ack_delay_s
        self.telemetry_hz = telemetry_hz
        self.sortie_s = sortie_s
        side = math.ceil(math.sqrt(size))
        dlat = spacing_m / 111_320
        dlon = dlat / math.cos(math.radians(center[0]))
        self.docks = {}
        for i in range(size):
            row, col = divmod(i, side)
            lat = center[0] + (row - (side - 1) / 2) * dlat
            lon = center[1] + (col - (side - 1) / 2) * dlon
            dock = CrowdDock(f"{prefix}-{i:03d}", lat, lon)
            self.docks[dock.dock_id] = dock
        self.center = center
        self.double_booked = 0
        self.telemetry_sent = 0
        self._client: Any = None  # an aiomqtt client, made by edge.comms.mqtt
        self._stack: contextlib.AsyncExitStack | None = None
        self._group: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def registered(self) -> list[dict[str, str]]:
        """Dispatch's ``docks`` entries for these docks."""
        return [
            {"id": d.dock_id, "public_key": public_key_text(d.key.public_key())}
            for d in self.docks.values()
        ]

    @property
    def busy(self) -> int:
        """Docks out on a sortie now."""
        return sum(d.sortie_id is not None for d in self.docks.values())

    async def _publish(
        self, dock: CrowdDock, kind: Kind, msg: Signed, retain: bool = False
    ) -> None:
        assert self._client is not None
        qos = 0 if kind is Kind.TELEMETRY else 1
        await self._client.publish(
            topic(dock.dock_id, kind), sign_message(msg, dock.key), qos=qos, retain=retain
        )

    async def __aenter__(self) -> Self:
        stack = contextlib.AsyncExitStack()
        try:
            self._client = await stack.enter_async_context(
                make_client(
                    parse_mqtt_url(self.url),
                    client_id=f"crowd-{uuid.uuid4().hex[:8]}",
                    persistent=False,
                    keepalive_s=30,
                    timeout_s=30.0,
                )
            )
            await self._client.subscribe(subscription(Kind.CMD), qos=1)
            for dock in self.docks.values():
                await self._client.publish(
                    topic(dock.dock_id, Kind.AVAILABILITY), b"online", qos=1, retain=True
                )
                await self._publish(dock, Kind.STATE, dock.state(), retain=True)
            self._group = await stack.enter_async_context(asyncio.TaskGroup())
            self._tasks = [self._group.create_task(self._commands())]
            if self.telemetry_hz > 0:
                self._tasks.append(self._group.create_task(self._telemetry()))
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in self._tasks:
            task.cancel()
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def _telemetry(self) -> None:
        period = 1.0 / self.telemetry_hz
        docks = list(self.docks.values())
        while True:
            started = asyncio.get_running_loop().time()
            for dock in docks:
                await self._publish(dock, Kind.TELEMETRY, dock.telemetry())
                self.telemetry_sent += 1
            spent = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(0.0, period - spent))

    async def _commands(self) -> None:
        assert self._client is not None and self._group is not None
        async for message in self._client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            try:
                cmd = parse_command(payload)
            except OutriderError:
                continue
            dock = self.docks.get(cmd.dock_id)
            if dock is None:
                continue
            await self._answer(dock, cmd)

    async def _ack(self, dock: CrowdDock, cmd_id: str, ok: bool, code: AckCode, **kw: Any) -> None:
        ack = Ack(cmd_id=cmd_id, dock_id=dock.dock_id, ok=ok, code=code, **kw)
        await self._publish(dock, Kind.ACK, ack)

    async def _answer(self, dock: CrowdDock, cmd: Any) -> None:
        assert self._group is not None
        if not isinstance(cmd, DispatchCommand):
            await self._ack(dock, cmd.id, True, AckCode.ACCEPTED, sortie_id=dock.sortie_id)
            return
        if dock.sortie_id is not None:
            self.double_booked += 1
            reason = f"on sortie {dock.sortie_id} for {dock.incident_id}"
            await self._ack(dock, cmd.id, False, AckCode.BUSY, reason=reason)
            return
        dock.sortie_id = f"S-{uuid.uuid4().hex[:10]}"
        dock.incident_id = cmd.body.incident_id
        dock.incidents.append(cmd.body.incident_id)
        dock.seq = 0
        dock.phase = Phase.PREFLIGHT
        if self.ack_delay_s:
            await asyncio.sleep(self.ack_delay_s)
        await self._ack(dock, cmd.id, True, AckCode.ACCEPTED, sortie_id=dock.sortie_id)
        await self._event(dock, EventType.ACCEPTED)
        await self._publish(dock, Kind.STATE, dock.state(), retain=True)
        self._tasks.append(self._group.create_task(self._fly(dock)))

    async def _event(self, dock: CrowdDock, kind: EventType, phase: Phase | None = None) -> None:
        dock.seq += 1
        ev = Event(
            id=uuid.uuid4().hex,
            dock_id=dock.dock_id,
            sortie_id=dock.sortie_id,
            incident_id=dock.incident_id,
            seq=dock.seq,
            type=kind,
            phase=phase,
        )
        await self._publish(dock, Kind.EVENTS, ev)

    async def _fly(self, dock: CrowdDock) -> None:
        step = self.sortie_s / len(SORTIE)
        for kind, phase in SORTIE:
            await asyncio.sleep(step)
            dock.phase = phase
            await self._event(dock, kind, phase)
            await self._publish(dock, Kind.STATE, dock.state(), retain=True)
        dock.sortie_id = dock.incident_id = None
        await self._publish(dock, Kind.STATE, dock.state(), retain=True)
