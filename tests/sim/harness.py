"""An in-process sim vehicle on a fake clock, for fast tests of its logic and MAVLink answers."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pymavlink.dialects.v20 import common as mavlink

from sim.vehicle.autopilot.modes import LandedState
from sim.vehicle.autopilot.params import encode_value
from sim.vehicle.config import VehicleConfig
from sim.vehicle.sim_vehicle import SimVehicle

GCS = ("127.0.0.1", 14540)


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Capture:
    """Stands in for the UDP transport: keeps every datagram the vehicle sends."""

    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def sendto(self, data: bytes, addr: Any = None) -> None:
        self.datagrams.append(bytes(data))

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 14580)


class Bench:
    """One vehicle, its clock and what it sent; ``run`` flies it, ``send`` talks to it."""

    def __init__(self, **config: Any) -> None:
        self.clock = FakeClock()
        self.vehicle = SimVehicle(VehicleConfig(**config), wall=self.clock)
        self.capture = Capture()
        self.vehicle.link._transport = self.capture  # type: ignore[assignment]
        self.gcs = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
        self._parser = mavlink.MAVLink(None)
        self._seen = 0
        self.received: list[Any] = []
        self.heartbeats = True
        self._last_heartbeat = -math.inf

    @property
    def state(self) -> Any:
        return self.vehicle.state

    def send(self, msg: Any) -> None:
        """Deliver one message from the ground station."""
        buf = msg.pack(self.gcs)
        self.gcs.seq = (self.gcs.seq + 1) % 256
        self.vehicle.link.datagram_received(buf, GCS)

    def send_raw(self, data: bytes) -> None:
        self.vehicle.link.datagram_received(data, GCS)

    def run(self, seconds: float, step: float = 0.05) -> None:
        """Let ``seconds`` of wall time pass, with a GCS heartbeat every second."""
        for _ in range(max(1, math.ceil(seconds / step))):
            self._tick(step)

    def _tick(self, step: float) -> None:
        self.clock.t += step
        if self.heartbeats and self.clock.t - self._last_heartbeat >= 1.0:
            self._last_heartbeat = self.clock.t
            self.send(mavlink.MAVLink_heartbeat_message(6, 8, 0, 0, 0, 3))
        self.vehicle.step(self.clock.t, step)
        self.vehicle.emit(self.clock.t)

    def run_until(
        self, done: Callable[[Any], bool], max_s: float, step: float = 0.05
    ) -> list[LandedState]:
        """Run until ``done(state)``; returns the landed states passed through, in order."""
        seen: list[LandedState] = [self.state.landed_state]
        for _ in range(math.ceil(max_s / step)):
            self._tick(step)
            if seen[-1] != self.state.landed_state:
                seen.append(self.state.landed_state)
            if done(self.state):
                return seen
        raise AssertionError(f"not done after {max_s} s: {self.vehicle.truth()}")

    def track(
        self, done: Callable[[Any], bool], max_s: float, step: float = 0.05
    ) -> list[tuple[float, float, float, float]]:
        """Run until ``done(state)``; returns (north, east, alt, distance home) at each step."""
        points = []
        for _ in range(math.ceil(max_s / step)):
            self._tick(step)
            b = self.state.body
            points.append((b.n, b.e, b.alt, self.state.dist_home_xy()))
            if done(self.state):
                return points
        raise AssertionError(f"not done after {max_s} s: {self.vehicle.truth()}")

    def send_param(self, name: str, value: float) -> None:
        """PARAM_SET with the parameter's own type (INT32 sent bytewise, as MAVSDK does for PX4)."""
        param = self.state.params.wire(name)
        self.send(
            mavlink.MAVLink_param_set_message(
                1, 1, name.encode(), encode_value(replace(param, value=value)), param.type
            )
        )

    def messages(self, name: str | None = None) -> list[Any]:
        """Every message sent so far (of type ``name``), parsed once."""
        for data in self.capture.datagrams[self._seen :]:
            self.received.extend(self._parser.parse_buffer(data) or [])
        self._seen = len(self.capture.datagrams)
        return [m for m in self.received if name is None or m.get_type() == name]

    def last(self, name: str) -> Any:
        found = self.messages(name)
        assert found, f"no {name} sent"
        return found[-1]

    def clear(self) -> None:
        self.messages()
        self.received.clear()

    def command(self, command: int, *params: float, frame: int | None = None, **xyz: Any) -> int:
        """Send COMMAND_LONG (or COMMAND_INT when ``frame`` is given); return the ACK result."""
        self.clear()
        p = list(params) + [0.0] * (7 - len(params))
        if frame is None:
            self.send(mavlink.MAVLink_command_long_message(1, 1, command, 0, *p))
        else:
            x, y, z = xyz.get("x", 0), xyz.get("y", 0), xyz.get("z", 0.0)
            self.send(
                mavlink.MAVLink_command_int_message(1, 1, frame, command, 0, 0, *p[:4], x, y, z)
            )
        acks = [m for m in self.messages("COMMAND_ACK") if m.command == command]
        assert acks, f"no COMMAND_ACK for {command}"
        return int(acks[-1].result)

    def answers(self, command: int, *params: float) -> list[int]:
        """Send COMMAND_LONG; every COMMAND_ACK result it got (none: unanswered)."""
        self.clear()
        p = list(params) + [0.0] * (7 - len(params))
        self.send(mavlink.MAVLink_command_long_message(1, 1, command, 0, *p))
        self.run(0.5)
        return [int(m.result) for m in self.messages("COMMAND_ACK") if m.command == command]

    def arm(self) -> int:
        return self.command(400, 1)

    def set_mode(self, main: int, sub: int) -> int:
        return self.command(176, 1, main, sub)

    def upload(self, items: list[Any], mission_type: int = 0) -> int:
        """Upload MISSION_ITEM_INTs through the handshake; return the MISSION_ACK type."""
        self.clear()
        self.send(mavlink.MAVLink_mission_count_message(1, 1, len(items), mission_type))
        for item in items:
            requests = self.messages("MISSION_REQUEST_INT")
            assert requests and requests[-1].seq == item.seq, "vehicle did not ask for the item"
            self.send(item)
        return int(self.last("MISSION_ACK").type)


def waypoint(seq: int, lat: float, lon: float, alt: float, command: int = 16, **p: float) -> Any:
    """A MISSION_ITEM_INT in frame 6 (relative altitude)."""
    return mavlink.MAVLink_mission_item_int_message(
        1, 1, seq, 6, command, int(seq == 0), 1,
        p.get("p1", 0.0), p.get("p2", 0.0), p.get("p3", 0.0), p.get("p4", math.nan),
        round(lat * 1e7), round(lon * 1e7), alt, 0,
    )  # fmt: skip
