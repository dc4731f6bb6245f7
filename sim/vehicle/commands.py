"""COMMAND_LONG / COMMAND_INT handling: every command gets a COMMAND_ACK, as PX4 answers it.

COMMAND_INT frames follow ``frame_rule``: ``"global_int_only"`` (PX4 main since 2026-02: only
MAV_FRAME_GLOBAL_INT, anything else is answered COMMAND_UNSUPPORTED_MAV_FRAME, 9) or
``"any_global"`` (older PX4: the four global frames, relative ones meaning altitude above home).
DO_SET_MODE is acknowledged twice, as PX4 main does: ACCEPTED on receipt, then ACCEPTED or
TEMPORARILY_REJECTED with "Switching to ... is currently not available" (a mission being
checked right after its upload is one such case, see :mod:`sim.vehicle.modeswitch`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sim.vehicle.modes import FlightMode, mode_from_custom
from sim.vehicle.modeswitch import ModeSwitch
from sim.vehicle.navigator import Navigator, Orbit
from sim.vehicle.state import Notifier, Severity, VehicleState
from sim.vehicle.telemetry import Telemetry
from sim.vehicle.wire import Message, command_ack

__all__ = ["CommandHandler", "Result"]


class Result:
    """MAV_RESULT values."""

    ACCEPTED = 0
    TEMPORARILY_REJECTED = 1
    DENIED = 2
    UNSUPPORTED = 3
    FAILED = 4
    COMMAND_UNSUPPORTED_MAV_FRAME = 9  # PX4 main's answer to a COMMAND_INT in another frame


INT32_MAX = 2**31 - 1
FRAME_GLOBAL, FRAME_REL, FRAME_GLOBAL_INT, FRAME_REL_INT = 0, 3, 5, 6
FORCE_MAGIC = 21196
POSITIONED = frozenset({22, 34, 179, 192})  # takeoff, orbit, set home, reposition
ORBIT_DEFAULT_RADIUS = 10.0
ORBIT_DEFAULT_SPEED = 5.0


@dataclass
class Command:
    """A COMMAND_LONG or COMMAND_INT with its position decoded (``None`` where not given)."""

    command: int
    params: tuple[float, float, float, float]
    lat: float | None
    lon: float | None
    alt: float | None
    relative_alt: bool
    frame: int | None
    source: tuple[int, int]

    @property
    def position_ok(self) -> bool:
        """Whether a given position is on the earth and a given altitude is plausible."""
        if self.lat is not None and not (-90.0 <= self.lat <= 90.0):
            return False
        if self.lon is not None and not (-180.0 <= self.lon <= 180.0):
            return False
        return self.alt is None or abs(self.alt) < 100_000.0

    @staticmethod
    def from_message(msg: Message) -> Command:
        p = (msg.param1, msg.param2, msg.param3, msg.param4)
        src = (msg.get_srcSystem(), msg.get_srcComponent())
        if msg.get_type() == "COMMAND_INT":
            lat = None if msg.x in (INT32_MAX, 0) and msg.y in (INT32_MAX, 0) else msg.x * 1e-7
            lon = None if lat is None else msg.y * 1e-7
            alt = msg.z if math.isfinite(msg.z) else None
            rel = msg.frame in (FRAME_REL, FRAME_REL_INT)
            return Command(msg.command, p, lat, lon, alt, rel, msg.frame, src)
        lat, lon = msg.param5, msg.param6
        given = math.isfinite(lat) and math.isfinite(lon) and not (lat == 0 and lon == 0)
        alt = msg.param7 if math.isfinite(msg.param7) else None
        return Command(
            msg.command, p, lat if given else None, lon if given else None, alt, False, None, src
        )


class CommandHandler:
    """Carries out commands and acknowledges each one.

    Args:
        state: the vehicle's shared state.
        nav: the flight logic.
        telemetry: the message streams (for SET_MESSAGE_INTERVAL and REQUEST_MESSAGE).
        notify: where status texts go.
        send: sends a message to the ground station.
        wall: the wall clock.
        frame_rule: which COMMAND_INT frames are accepted.
        modes: judges and carries out mode changes.
        arm_refusal: why the pre-arm checks refuse arming now, ``None`` when they pass.
        on_mission_current: called after DO_SET_MISSION_CURRENT changed the item.
    """

    def __init__(
        self,
        state: VehicleState,
        nav: Navigator,
        telemetry: Telemetry,
        notify: Notifier,
        send: Callable[[Message], None],
        wall: Callable[[], float],
        frame_rule: str,
        modes: ModeSwitch,
        arm_refusal: Callable[[], str | None],
        on_mission_current: Callable[[], None],
    ) -> None:
        self.s, self.nav, self.telemetry, self.notify = state, nav, telemetry, notify
        self.send, self.wall = send, wall
        self.frame_rule = frame_rule
        self.modes = modes
        self.arm_refusal = arm_refusal
        self.on_mission_current = on_mission_current
        self._handlers: dict[int, Callable[[Command], int | None]] = {
            400: self._arm_disarm,
            22: self._takeoff,
            21: self._land,
            20: self._rtl,
            176: self._set_mode,
            300: self._mission_start,
            192: self._reposition,
            34: self._orbit,
            178: self._change_speed,
            179: self._set_home,
            224: self._set_mission_current,
            511: self._set_interval,
            512: self._request_message,
            520: lambda c: self._request(148),
            410: lambda c: self._request(242),
            185: lambda c: Result.DENIED,
            246: lambda c: Result.DENIED,
        }

    def handle(self, msg: Message) -> None:
        """Carry out one COMMAND_LONG / COMMAND_INT addressed to this vehicle and ACK it."""
        cmd = Command.from_message(msg)
        if cmd.frame is not None and not self._frame_ok(cmd.frame):
            result: int | None = Result.COMMAND_UNSUPPORTED_MAV_FRAME
        else:
            handler = self._handlers.get(cmd.command)
            if handler is None:
                result = Result.UNSUPPORTED
            elif cmd.command in POSITIONED and not cmd.position_ok:
                result = Result.DENIED
            else:
                result = handler(cmd)
        if result is not None:
            self.ack(cmd.command, result, cmd.source)

    def ack(self, command: int, result: int, to: tuple[int, int]) -> None:
        self.send(command_ack(command, result, to[0], to[1]))

    def _frame_ok(self, frame: int) -> bool:
        if self.frame_rule == "global_int_only":
            return frame == FRAME_GLOBAL_INT
        return frame in (FRAME_GLOBAL, FRAME_REL, FRAME_GLOBAL_INT, FRAME_REL_INT)

    def _alt_rel(self, cmd: Command) -> float | None:
        if cmd.alt is None:
            return None
        return cmd.alt if cmd.relative_alt else cmd.alt - self.s.origin.alt_amsl

    # ----------------------------------------------------------- arming
    def _arm_disarm(self, cmd: Command) -> int:
        force = cmd.params[1] == FORCE_MAGIC
        if cmd.params[0] >= 0.5:
            reason = None if force else self.arm_refusal()
            if reason:
                self.notify.statustext(Severity.CRITICAL, reason)
                return Result.TEMPORARILY_REJECTED
            self.nav.arm()
            return Result.ACCEPTED
        if not self.s.landed and not force:
            self.notify.statustext(Severity.CRITICAL, "Disarming denied: not landed")
            return Result.TEMPORARILY_REJECTED
        self.nav.disarm()
        return Result.ACCEPTED

    # ------------------------------------------------------------ modes
    def _unavailable(self, mode: FlightMode) -> int:
        self.notify.statustext(
            Severity.CRITICAL, f"Switching to {mode.px4_name} is currently not available"
        )
        return Result.TEMPORARILY_REJECTED

    def _set_mode(self, cmd: Command) -> int | None:
        """DO_SET_MODE: PX4 acknowledges receipt at once and then the outcome, so two ACKs."""
        base, main, sub = cmd.params[0], cmd.params[1], cmd.params[2]
        if not (math.isfinite(base) and math.isfinite(main) and math.isfinite(sub)):
            return Result.DENIED
        mode = mode_from_custom(int(main), int(sub)) if int(base) & 1 else None
        if mode is None:
            return Result.DENIED
        self.ack(cmd.command, Result.ACCEPTED, cmd.source)
        return Result.ACCEPTED if self.modes.enter(mode) else Result.TEMPORARILY_REJECTED

    def _mission_start(self, cmd: Command) -> int | None:
        store, first = self.nav.mission.store, cmd.params[0]
        if not (self.s.gps_ok and self.modes.mission_valid()):
            self.notify.statustext(Severity.CRITICAL, "Mission start denied! No valid mission")
            return Result.DENIED
        if math.isfinite(first) and first >= 0 and not store.set_current(int(first)):
            return Result.DENIED
        return Result.ACCEPTED if self.modes.enter(FlightMode.MISSION) else Result.DENIED

    def _land(self, cmd: Command) -> int:
        if not self.modes.enter(FlightMode.LAND):
            return Result.TEMPORARILY_REJECTED
        self.notify.statustext(Severity.INFO, "Landing at current position")
        return Result.ACCEPTED

    def _rtl(self, cmd: Command) -> int:
        return Result.ACCEPTED if self.modes.enter(FlightMode.RTL) else Result.TEMPORARILY_REJECTED

    def _takeoff(self, cmd: Command) -> int:
        if not self.s.gps_ok:
            self._unavailable(FlightMode.TAKEOFF)
            return Result.TEMPORARILY_REJECTED
        self.nav.takeoff(self._alt_rel(cmd))
        return Result.ACCEPTED

    # ------------------------------------------------------ guided moves
    def _reposition(self, cmd: Command) -> int:
        if not self.s.gps_ok:
            return self._unavailable(FlightMode.HOLD)
        b = self.s.body
        n, e = (b.n, b.e) if cmd.lat is None else self.s.local(cmd.lat, cmd.lon or 0.0)
        alt = self._alt_rel(cmd)
        speed = cmd.params[0] if math.isfinite(cmd.params[0]) and cmd.params[0] > 0 else None
        self.nav.reposition(n, e, None if alt is None else -alt, speed)
        return Result.ACCEPTED

    def _orbit(self, cmd: Command) -> int:
        if not self.s.gps_ok:
            return self._unavailable(FlightMode.ORBIT)
        radius, speed = cmd.params[0], cmd.params[1]
        radius = radius if math.isfinite(radius) and abs(radius) >= 1.0 else ORBIT_DEFAULT_RADIUS
        radius = math.copysign(min(abs(radius), 1000.0), radius)
        speed = abs(speed) if math.isfinite(speed) and speed != 0 else ORBIT_DEFAULT_SPEED
        b = self.s.body
        n, e = (b.n, b.e) if cmd.lat is None else self.s.local(cmd.lat, cmd.lon or 0.0)
        alt = self._alt_rel(cmd)
        d = b.d if alt is None else -max(1.0, alt)
        self.nav.start_orbit(Orbit(n, e, d, radius, min(speed, self.s.params["MPC_XY_VEL_MAX"])))
        return Result.ACCEPTED

    def _change_speed(self, cmd: Command) -> int:
        speed = cmd.params[1]
        if not math.isfinite(speed):
            return Result.DENIED
        if speed > 0:
            self.nav.change_speed(min(speed, self.s.params["MPC_XY_VEL_MAX"]))
        return Result.ACCEPTED

    def _set_home(self, cmd: Command) -> int:
        if cmd.params[0] >= 0.5 or cmd.lat is None:
            self.s.home_n, self.s.home_e = self.s.body.n, self.s.body.e
        else:
            self.s.home_n, self.s.home_e = self.s.local(cmd.lat, cmd.lon or 0.0)
        return Result.ACCEPTED

    def _set_mission_current(self, cmd: Command) -> int:
        seq = cmd.params[0]
        if not math.isfinite(seq) or not self.nav.mission.store.set_current(int(seq)):
            return Result.DENIED
        self.on_mission_current()
        return Result.ACCEPTED

    # --------------------------------------------------------- messages
    def _set_interval(self, cmd: Command) -> int:
        msg_id, interval = cmd.params[0], cmd.params[1]
        if not (math.isfinite(msg_id) and math.isfinite(interval)):
            return Result.DENIED
        ok = self.telemetry.set_interval(int(msg_id), interval)
        return Result.ACCEPTED if ok else Result.FAILED

    def _request_message(self, cmd: Command) -> int:
        msg_id = cmd.params[0]
        if not math.isfinite(msg_id):
            return Result.DENIED
        return self._request(int(msg_id))

    def _request(self, msg_id: int) -> int:
        msg = self.telemetry.build(msg_id)
        if msg is None:
            return Result.DENIED
        self.send(msg)
        return Result.ACCEPTED
