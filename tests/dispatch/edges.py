"""A scripted edge for dispatch tests: a real MQTT client that speaks the v1 contract.

It publishes availability, a retained state with its limits and telemetry, each message signed
with its dock's test key (:mod:`tests.keys`) as a real edge signs with its own, verifies the
signature of every command it receives, acknowledges as its spec says (accept, refuse with a
code, or stay silent), and when told to fly, runs a short sortie: events in order, state
and telemetry moving to the target and back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

import aiomqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.comms.mqtt import parse_mqtt_url
from edge.errors import OutriderError
from edge.geo import LatLon, bearing_deg
from edge.protocol import (
    Ack,
    AckCode,
    Availability,
    Command,
    DetectedObject,
    Detections,
    DispatchCommand,
    DockStatus,
    Event,
    EventType,
    GeoPoint,
    Kind,
    Limits,
    Phase,
    Position,
    State,
    Telemetry,
    encode,
    parse_command,
    topic,
)
from edge.protocol.models import Signed
from edge.protocol.signing import sign_message, verify
from tests.keys import dock_key


@dataclass
class EdgeSpec:
    """How the scripted edge behaves."""

    dock_id: str
    lat: float
    lon: float
    battery_pct: float = 95.0
    ready: bool = True
    charging: bool = False
    respond: str = "accept"  # accept | refuse | silent
    refuse_code: AckCode = AckCode.BUSY
    fly: bool = False
    fail_preflight: bool = False
    sortie_s: float = 3.0
    max_range_m: float = 6000.0
    wind_mps: float = 0.0
    telemetry_hz: float = 5.0
    limits: dict[str, Any] = field(default_factory=dict)


class ScriptedEdge:
    """One dock's edge, as dispatch sees it over MQTT.

    Args:
        broker_url: the test broker.
        spec: the behaviour.
        public_key: dispatch's public key; commands that do not verify are refused.
        key: what its messages are signed with (the dock's test key by default; ``None``:
            unsigned, as a forger without the key sends them).
    """

    def __init__(
        self,
        broker_url: str,
        spec: EdgeSpec,
        public_key: Ed25519PublicKey | None = None,
        key: Ed25519PrivateKey | Literal["dock"] | None = "dock",
    ):
        self.broker = parse_mqtt_url(broker_url)
        self.spec = spec
        self.key = dock_key(spec.dock_id) if key == "dock" else key
        self.public_key = public_key
        self.commands: list[Command] = []
        self.refused: list[Ack] = []
        self.telemetry_on = True
        self.phase = Phase.DOCKED
        self.sortie_id: str | None = None
        self.incident_id: str | None = None
        self.pos = LatLon(spec.lat, spec.lon)
        self.in_air = False
        self.got_command = asyncio.Event()
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: aiomqtt.Client | None = None
        self._group: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def home(self) -> LatLon:
        return LatLon(self.spec.lat, self.spec.lon)

    def state(self) -> State:
        s = self.spec
        idle = self.phase in (Phase.DOCKED, Phase.CHARGING)
        ready = s.ready and idle and self.sortie_id is None
        return State(
            dock_id=s.dock_id,
            phase=self.phase,
            ready=ready,
            not_ready=[] if ready else [{"code": "busy", "reason": "not idle"}],  # type: ignore[list-item]
            sortie_id=self.sortie_id,
            incident_id=self.incident_id,
            battery_pct=s.battery_pct,
            position=Position(
                lat=self.pos.lat, lon=self.pos.lon, alt_rel_m=60 if self.in_air else 0
            ),
            home=Position(lat=s.lat, lon=s.lon, alt_amsl_m=20.0),
            dock=DockStatus(
                lid="closed", charging=s.charging, wind_mps=s.wind_mps, wind_from_deg=0
            ),
            limits=Limits(
                **{
                    "max_range_m": s.max_range_m,
                    "reserve_pct": 20,
                    "ceiling_m": 120,
                    "wind_limit_mps": 12,
                    "transit_alt_m": 60,
                    "cruise_mps": 15,
                    "climb_mps": 3,
                    "descent_mps": 2,
                    "launch_overhead_s": 20,
                    **s.limits,
                }
            ),
        )

    def wire(self, message: Signed) -> bytes:
        """A message as this edge sends it: signed with its key, if it has one."""
        return sign_message(message, self.key) if self.key is not None else encode(message)

    async def publish(self, kind: Kind, payload: bytes, retain: bool = False) -> None:
        assert self._client is not None
        qos = 0 if kind in (Kind.TELEMETRY, Kind.DETECTIONS) else 1
        await self._client.publish(topic(self.spec.dock_id, kind), payload, qos=qos, retain=retain)

    async def publish_state(self) -> None:
        await self.publish(Kind.STATE, self.wire(self.state()), retain=True)

    async def set_availability(self, value: Availability) -> None:
        await self.publish(Kind.AVAILABILITY, value.value.encode(), retain=True)

    async def event(self, kind: EventType, **kw: Any) -> Event:
        ev = Event(
            id=kw.pop("id", uuid.uuid4().hex),
            dock_id=self.spec.dock_id,
            sortie_id=self.sortie_id,
            incident_id=self.incident_id,
            type=kind,
            **kw,
        )
        await self.publish(Kind.EVENTS, self.wire(ev))
        return ev

    async def __aenter__(self) -> Self:
        stack = contextlib.AsyncExitStack()
        b = self.broker
        will = aiomqtt.Will(
            topic(self.spec.dock_id, Kind.AVAILABILITY), b"offline", qos=1, retain=True
        )
        self._client = await stack.enter_async_context(
            aiomqtt.Client(
                b.host,
                b.port,
                username=b.username,
                password=b.password,
                identifier=f"edge-{self.spec.dock_id}-{uuid.uuid4().hex[:6]}",
                will=will,
            )
        )
        await self._client.subscribe(topic(self.spec.dock_id, Kind.CMD), qos=1)
        await self.set_availability(Availability.ONLINE)
        await self.publish_state()
        self._group = await stack.enter_async_context(asyncio.TaskGroup())
        self._tasks = [
            self._group.create_task(self._telemetry()),
            self._group.create_task(self._commands()),
        ]
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
        for _ in itertools.count():
            if self.telemetry_on:
                tel = Telemetry(
                    dock_id=self.spec.dock_id,
                    lat=self.pos.lat,
                    lon=self.pos.lon,
                    alt_rel_m=60.0 if self.in_air else 0.0,
                    alt_amsl_m=80.0 if self.in_air else 20.0,
                    heading_deg=self._heading,
                    ground_speed_mps=15.0 if self.in_air else 0.0,
                    battery_pct=self.spec.battery_pct,
                    flight_mode="MISSION" if self.in_air else "HOLD",
                    armed=self.in_air,
                    in_air=self.in_air,
                    gps_fix=3,
                )
                await self.publish(Kind.TELEMETRY, self.wire(tel))
            await asyncio.sleep(1.0 / self.spec.telemetry_hz)

    _heading = 0.0

    async def _ack(
        self, cmd_id: str | None, ok: bool, code: AckCode, reason: str = "", **kw: Any
    ) -> None:
        ack = Ack(cmd_id=cmd_id, dock_id=self.spec.dock_id, ok=ok, code=code, reason=reason, **kw)
        if not ok:
            self.refused.append(ack)
        await self.publish(Kind.ACK, self.wire(ack))

    async def _commands(self) -> None:
        assert self._client is not None and self._group is not None
        async for message in self._client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            try:
                cmd = parse_command(payload)
                if self.public_key is not None:
                    verify(cmd, self.public_key)
            except OutriderError as exc:
                await self._ack(getattr(exc, "cmd_id", None), False, AckCode(exc.code), exc.reason)
                continue
            self.commands.append(cmd)
            self.got_command.set()
            await self._respond(cmd)

    async def _respond(self, cmd: Command) -> None:
        assert self._group is not None
        if self.spec.respond == "silent":
            return
        if self.spec.respond == "refuse":
            await self._ack(
                cmd.id, False, self.spec.refuse_code, f"scripted refusal: {self.spec.refuse_code}"
            )
            return
        if isinstance(cmd, DispatchCommand):
            self.sortie_id = f"S-{uuid.uuid4().hex[:8]}"
            self.incident_id = cmd.body.incident_id
            self.phase = Phase.PREFLIGHT
            await self._ack(cmd.id, True, AckCode.ACCEPTED, sortie_id=self.sortie_id)
            await self.event(EventType.ACCEPTED)
            await self.publish_state()
            if self.spec.fail_preflight:
                await self.event(EventType.PREFLIGHT_FAILED, detail={"reason": "GPS: no 3D fix"})
                self.phase, self.sortie_id, self.incident_id = Phase.DOCKED, None, None
                await self.publish_state()
                return
            if self.spec.fly:
                target = LatLon(cmd.body.target.lat, cmd.body.target.lon)
                self._tasks.append(self._group.create_task(self._fly(target)))
            return
        await self._ack(cmd.id, True, AckCode.ACCEPTED, sortie_id=self.sortie_id)

    async def _move(self, a: LatLon, b: LatLon, seconds: float) -> None:
        self._heading = bearing_deg(a, b)
        steps = max(1, int(seconds * 10))
        for i in range(1, steps + 1):
            f = i / steps
            self.pos = LatLon(a.lat + (b.lat - a.lat) * f, a.lon + (b.lon - a.lon) * f)
            await asyncio.sleep(seconds / steps)

    async def _phase(self, phase: Phase, event: EventType) -> None:
        self.phase = phase
        await self.event(event, phase=phase)
        await self.publish_state()

    def sighting(self, target: LatLon) -> Detections:
        """A person and a car seen near the target."""
        objects = [
            DetectedObject(
                track_id=1,
                cls="person",
                conf=0.87,
                bbox=[10, 20, 40, 90],
                geo=GeoPoint(lat=target.lat + 0.0002, lon=target.lon),
            ),
            DetectedObject(
                track_id=2,
                cls="car",
                conf=0.66,
                bbox=[60, 50, 140, 100],
                geo=GeoPoint(lat=target.lat, lon=target.lon + 0.0003),
            ),
        ]
        return Detections(
            dock_id=self.spec.dock_id, sortie_id=self.sortie_id, frame=1, objects=objects
        )

    async def _fly(self, target: LatLon) -> None:
        leg = self.spec.sortie_s / 3
        await self._phase(Phase.LAUNCHING, EventType.ARMED)
        self.in_air = True
        await self._phase(Phase.EN_ROUTE, EventType.AIRBORNE)
        await self._move(self.home, target, leg)
        await self._phase(Phase.ON_SCENE, EventType.ON_SCENE)
        await self.publish(Kind.DETECTIONS, self.wire(self.sighting(target)))
        await asyncio.sleep(leg)
        await self._phase(Phase.RETURNING, EventType.RETURNING)
        await self._move(target, self.home, leg)
        await self._phase(Phase.LANDING, EventType.LANDED)
        self.in_air = False
        await self._phase(Phase.DOCKED, EventType.DOCKED)
        self.sortie_id = self.incident_id = None
        await self.publish_state()
