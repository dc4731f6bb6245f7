"""COMMAND_LONG / COMMAND_INT handling: every command gets a COMMAND_ACK, as PX4 answers it.

``frame_rule`` picks which PX4 it answers as:

- ``"any_frame"`` (PX4 main since 2026-05, measured on 2026-08-13): COMMAND_INT in any frame,
  its position scaled by 1e7 and its altitude always above mean sea level, whatever the frame
  says (so a relative-altitude frame sends the vehicle towards sea level); DO_SET_MODE is
  acknowledged once, with the outcome; REQUEST_AUTOPILOT_CAPABILITIES and GET_HOME_POSITION
  are unsupported (REQUEST_MESSAGE replaces them).
- ``"global_int_only"`` (2026-02 to 2026-05): COMMAND_INT only in MAV_FRAME_GLOBAL_INT,
  anything else answered MAV_RESULT_COMMAND_UNSUPPORTED_MAV_FRAME (9); DO_SET_MODE
  acknowledged twice, ACCEPTED on receipt and then the outcome.
- ``"any_global"`` (before): as ``global_int_only`` but the four global frames, relative ones
  meaning altitude above home.

A refused mode change is TEMPORARILY_REJECTED with "Switching to ... is currently not
available" (a mission being checked right after its upload is one such case, see
:mod:`sim.vehicle.autopilot.mode_switch`). The gimbal and mount commands get no answer at all,
as from PX4 without a gimbal (SIH has none): its commander leaves them to the gimbal module,
which does not run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from edge.flight.mavlink_enums import (
    MAV_CMD_COMPONENT_ARM_DISARM,
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_CMD_DO_FLIGHTTERMINATION,
    MAV_CMD_DO_GIMBAL_MANAGER_CONFIGURE,
    MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
    MAV_CMD_DO_MOUNT_CONFIGURE,
    MAV_CMD_DO_MOUNT_CONTROL,
    MAV_CMD_DO_ORBIT,
    MAV_CMD_DO_REPOSITION,
    MAV_CMD_DO_SET_HOME,
    MAV_CMD_DO_SET_MISSION_CURRENT,
    MAV_CMD_DO_SET_MODE,
    MAV_CMD_DO_SET_ROI_LOCATION,
    MAV_CMD_DO_SET_ROI_NONE,
    MAV_CMD_GET_HOME_POSITION,
    MAV_CMD_MISSION_START,
    MAV_CMD_NAV_LAND,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN,
    MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES,
    MAV_CMD_REQUEST_MESSAGE,
    MAV_CMD_SET_MESSAGE_INTERVAL,
    MAV_FRAME_GLOBAL_INT,
    MAV_RESULT_ACCEPTED,
    MAV_RESULT_COMMAND_UNSUPPORTED_MAV_FRAME,
    MAV_RESULT_DENIED,
    MAV_RESULT_FAILED,
    MAV_RESULT_TEMPORARILY_REJECTED,
    MAV_RESULT_UNSUPPORTED,
    MAV_SEVERITY_CRITICAL,
    MAV_SEVERITY_INFO,
)
from sim.vehicle.autopilot.mission_store import GLOBAL_FRAMES, RELATIVE_FRAMES
from sim.vehicle.autopilot.mode_switch import ModeSwitch
from sim.vehicle.autopilot.modes import FlightMode, mode_from_custom
from sim.vehicle.autopilot.navigator import Navigator, Orbit
from sim.vehicle.autopilot.vehicle_state import Notifier, VehicleState
from sim.vehicle.mavlink.messages import MSG, Message, command_ack
from sim.vehicle.mavlink.streams import Telemetry

__all__ = ["CommandHandler"]

INT32_MAX = 2**31 - 1
FORCE_MAGIC = 21196  # param2 of an arm/disarm that skips the checks (PX4 and ArduPilot)
POSITIONED = frozenset(
    {
        MAV_CMD_NAV_TAKEOFF,
        MAV_CMD_DO_ORBIT,
        MAV_CMD_DO_SET_HOME,
        MAV_CMD_DO_REPOSITION,
        MAV_CMD_DO_SET_ROI_LOCATION,
    }
)
NO_ANSWER = frozenset(
    {
        MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
        MAV_CMD_DO_GIMBAL_MANAGER_CONFIGURE,
        MAV_CMD_DO_MOUNT_CONTROL,
        MAV_CMD_DO_MOUNT_CONFIGURE,
    }
)
"""Commands PX4's commander leaves to a module SIH does not run (the gimbal): never answered."""
REMOVED_IN_ANY_FRAME = frozenset(
    {MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES, MAV_CMD_GET_HOME_POSITION}
)
"""Requests PX4 main dropped in 2026-05 (REQUEST_MESSAGE replaces them): unsupported there."""
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
            rel = msg.frame in RELATIVE_FRAMES
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
            MAV_CMD_COMPONENT_ARM_DISARM: self._arm_disarm,
            MAV_CMD_NAV_TAKEOFF: self._takeoff,
            MAV_CMD_NAV_LAND: self._land,
            MAV_CMD_NAV_RETURN_TO_LAUNCH: self._rtl,
            MAV_CMD_DO_SET_MODE: self._set_mode,
            MAV_CMD_MISSION_START: self._mission_start,
            MAV_CMD_DO_REPOSITION: self._reposition,
            MAV_CMD_DO_ORBIT: self._orbit,
            MAV_CMD_DO_CHANGE_SPEED: self._change_speed,
            MAV_CMD_DO_SET_HOME: self._set_home,
            MAV_CMD_DO_SET_MISSION_CURRENT: self._set_mission_current,
            MAV_CMD_DO_SET_ROI_LOCATION: self._set_roi,
            MAV_CMD_DO_SET_ROI_NONE: self._clear_roi,
            MAV_CMD_SET_MESSAGE_INTERVAL: self._set_interval,
            MAV_CMD_REQUEST_MESSAGE: self._request_message,
            MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES: lambda c: self._request(MSG.AUTOPILOT_VERSION),
            MAV_CMD_GET_HOME_POSITION: lambda c: self._request(MSG.HOME_POSITION),
            MAV_CMD_DO_FLIGHTTERMINATION: lambda c: MAV_RESULT_DENIED,
            MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN: lambda c: MAV_RESULT_DENIED,
        }

    def handle(self, msg: Message) -> None:
        """Carry out one COMMAND_LONG / COMMAND_INT addressed to this vehicle and ACK it."""
        cmd = Command.from_message(msg)
        if cmd.command in NO_ANSWER:
            return
        if self.frame_rule != "any_global":
            cmd.relative_alt = False  # PX4 main reads COMMAND_INT's z as AMSL in every frame
        if cmd.frame is not None and not self._frame_ok(cmd.frame):
            result: int | None = MAV_RESULT_COMMAND_UNSUPPORTED_MAV_FRAME
        elif self.frame_rule == "any_frame" and cmd.command in REMOVED_IN_ANY_FRAME:
            result = MAV_RESULT_UNSUPPORTED
        else:
            handler = self._handlers.get(cmd.command)
            if handler is None:
                result = MAV_RESULT_UNSUPPORTED
            elif cmd.command in POSITIONED and not cmd.position_ok:
                result = MAV_RESULT_DENIED
            else:
                result = handler(cmd)
        if result is not None:
            self.ack(cmd.command, result, cmd.source)

    def ack(self, command: int, result: int, to: tuple[int, int]) -> None:
        self.send(command_ack(command, result, to[0], to[1]))

    def _frame_ok(self, frame: int) -> bool:
        if self.frame_rule == "any_frame":
            return True
        if self.frame_rule == "global_int_only":
            return frame == MAV_FRAME_GLOBAL_INT
        return frame in GLOBAL_FRAMES

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
                self.notify.statustext(MAV_SEVERITY_CRITICAL, reason)
                return MAV_RESULT_TEMPORARILY_REJECTED
            self.nav.arm()
            return MAV_RESULT_ACCEPTED
        if not self.s.landed and not force:
            self.notify.statustext(MAV_SEVERITY_CRITICAL, "Disarming denied: not landed")
            return MAV_RESULT_TEMPORARILY_REJECTED
        self.nav.disarm()
        return MAV_RESULT_ACCEPTED

    # ------------------------------------------------------------ modes
    def _unavailable(self, mode: FlightMode) -> int:
        self.notify.statustext(
            MAV_SEVERITY_CRITICAL, f"Switching to {mode.px4_name} is currently not available"
        )
        return MAV_RESULT_TEMPORARILY_REJECTED

    def _set_mode(self, cmd: Command) -> int | None:
        """DO_SET_MODE: the outcome; PX4 before 2026-05 also acknowledged receipt first."""
        base, main, sub = cmd.params[0], cmd.params[1], cmd.params[2]
        if not (math.isfinite(base) and math.isfinite(main) and math.isfinite(sub)):
            return MAV_RESULT_DENIED
        mode = mode_from_custom(int(main), int(sub)) if int(base) & 1 else None
        if mode is None:
            return MAV_RESULT_DENIED
        if self.frame_rule != "any_frame":
            self.ack(cmd.command, MAV_RESULT_ACCEPTED, cmd.source)
        return MAV_RESULT_ACCEPTED if self.modes.enter(mode) else MAV_RESULT_TEMPORARILY_REJECTED

    def _mission_start(self, cmd: Command) -> int | None:
        store, first = self.nav.mission.store, cmd.params[0]
        if not (self.s.gps_ok and self.modes.mission_valid()):
            self.notify.statustext(MAV_SEVERITY_CRITICAL, "Mission start denied! No valid mission")
            return MAV_RESULT_DENIED
        if math.isfinite(first) and first >= 0 and not store.set_current(int(first)):
            return MAV_RESULT_DENIED
        return MAV_RESULT_ACCEPTED if self.modes.enter(FlightMode.MISSION) else MAV_RESULT_DENIED

    def _land(self, cmd: Command) -> int:
        if not self.modes.enter(FlightMode.LAND):
            return MAV_RESULT_TEMPORARILY_REJECTED
        self.notify.statustext(MAV_SEVERITY_INFO, "Landing at current position")
        return MAV_RESULT_ACCEPTED

    def _rtl(self, cmd: Command) -> int:
        return (
            MAV_RESULT_ACCEPTED
            if self.modes.enter(FlightMode.RTL)
            else MAV_RESULT_TEMPORARILY_REJECTED
        )

    def _takeoff(self, cmd: Command) -> int:
        if not self.s.gps_ok:
            self._unavailable(FlightMode.TAKEOFF)
            return MAV_RESULT_TEMPORARILY_REJECTED
        self.nav.takeoff(self._alt_rel(cmd))
        return MAV_RESULT_ACCEPTED

    # ------------------------------------------------------ guided moves
    def _reposition(self, cmd: Command) -> int:
        if not self.s.gps_ok:
            return self._unavailable(FlightMode.HOLD)
        b = self.s.body
        n, e = (b.n, b.e) if cmd.lat is None else self.s.local(cmd.lat, cmd.lon or 0.0)
        alt = self._alt_rel(cmd)
        speed = cmd.params[0] if math.isfinite(cmd.params[0]) and cmd.params[0] > 0 else None
        self.nav.reposition(n, e, None if alt is None else -alt, speed)
        return MAV_RESULT_ACCEPTED

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
        return MAV_RESULT_ACCEPTED

    def _change_speed(self, cmd: Command) -> int:
        speed = cmd.params[1]
        if not math.isfinite(speed):
            return MAV_RESULT_DENIED
        if speed > 0:
            self.nav.change_speed(min(speed, self.s.params["MPC_XY_VEL_MAX"]))
        return MAV_RESULT_ACCEPTED

    def _set_home(self, cmd: Command) -> int:
        if cmd.params[0] >= 0.5 or cmd.lat is None:
            self.s.home_n, self.s.home_e = self.s.body.n, self.s.body.e
        else:
            self.s.home_n, self.s.home_e = self.s.local(cmd.lat, cmd.lon or 0.0)
        return MAV_RESULT_ACCEPTED

    def _set_roi(self, cmd: Command) -> int:
        if cmd.lat is None or cmd.lon is None:
            return MAV_RESULT_DENIED
        self.s.roi = self.s.local(cmd.lat, cmd.lon)
        return MAV_RESULT_ACCEPTED

    def _clear_roi(self, cmd: Command) -> int:
        self.s.roi = None
        return MAV_RESULT_ACCEPTED

    def _set_mission_current(self, cmd: Command) -> int:
        seq = cmd.params[0]
        if not math.isfinite(seq) or not self.nav.mission.store.set_current(int(seq)):
            return MAV_RESULT_DENIED
        self.on_mission_current()
        return MAV_RESULT_ACCEPTED

    # --------------------------------------------------------- messages
    def _set_interval(self, cmd: Command) -> int:
        msg_id, interval = cmd.params[0], cmd.params[1]
        if not (math.isfinite(msg_id) and math.isfinite(interval)):
            return MAV_RESULT_DENIED
        ok = self.telemetry.set_interval(int(msg_id), interval)
        return MAV_RESULT_ACCEPTED if ok else MAV_RESULT_FAILED

    def _request_message(self, cmd: Command) -> int:
        msg_id = cmd.params[0]
        if not math.isfinite(msg_id):
            return MAV_RESULT_DENIED
        return self._request(int(msg_id))

    def _request(self, msg_id: int) -> int:
        msg = self.telemetry.build(msg_id)
        if msg is None:
            return MAV_RESULT_DENIED
        self.send(msg)
        return MAV_RESULT_ACCEPTED
