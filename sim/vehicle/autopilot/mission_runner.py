"""Carries out the uploaded mission as PX4's navigator does for a multicopter.

Started on the ground, the mission first climbs vertically to the first waypoint's altitude
(at least MIS_TAKEOFF_ALT). Waypoints are reached inside their acceptance radius (item param2,
else NAV_ACC_RAD) and NAV_MC_ALT_RAD; the vehicle slows for corners. NAV_LOITER_TIME and a
waypoint's hold time hover there. NAV_RETURN_TO_LAUNCH switches to RTL; NAV_LAND lands and ends
the mission. DO_CHANGE_SPEED and DO_JUMP are obeyed; DO_SET_ROI_LOCATION sets the region of
interest the vehicle yaws to face (an airframe without a gimbal, like PX4's SIH) and
DO_SET_ROI_NONE clears it; camera and gimbal items are passed over.
Every item but DO_JUMP is reported reached. After the last item PX4 says "Mission finished,
loitering" and switches to hold over the last waypoint; MISSION_CURRENT reports it complete.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import IntEnum

from edge.flight.mavlink_enums import (
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_CMD_DO_JUMP,
    MAV_CMD_DO_SET_ROI_LOCATION,
    MAV_CMD_DO_SET_ROI_NONE,
    MAV_CMD_NAV_DELAY,
    MAV_CMD_NAV_LAND,
    MAV_CMD_NAV_LOITER_TIME,
    MAV_CMD_NAV_LOITER_UNLIM,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_NAV_WAYPOINT,
    MAV_SEVERITY_INFO,
)
from sim.vehicle.autopilot.mission_store import MissionItem, MissionStore
from sim.vehicle.autopilot.modes import FlightMode
from sim.vehicle.autopilot.vehicle_state import Notifier, VehicleState
from sim.vehicle.physics.body import Setpoint

__all__ = ["MissionRunner", "MissionState"]

MIN_ALT_M = 1.0


class MissionState(IntEnum):
    """MISSION_STATE as MISSION_CURRENT carries it."""

    NO_MISSION = 1
    NOT_STARTED = 2
    ACTIVE = 3
    PAUSED = 4
    COMPLETE = 5


class MissionRunner:
    """The mission part of the navigator.

    Args:
        state: the vehicle's shared state.
        store: the uploaded lists.
        notify: where MISSION_ITEM_REACHED and MISSION_CURRENT go.
        on_rtl: called for a NAV_RETURN_TO_LAUNCH item.
        on_done: called when the last item is done (the navigator then holds).
    """

    def __init__(
        self,
        state: VehicleState,
        store: MissionStore,
        notify: Notifier,
        on_rtl: Callable[[], None],
        on_done: Callable[[], None],
    ) -> None:
        self.s = state
        self.store = store
        self.notify = notify
        self.on_rtl = on_rtl
        self.on_done = on_done
        self.speed: float | None = None
        self.started = False
        self.complete = False
        self.phase = "items"
        self._version = -1
        self._anchor: tuple[float, float] | None = None
        self._waited: float | None = None
        self._descending = False
        self._takeoff_d = 0.0
        self._jumps: dict[int, int] = {}

    # ------------------------------------------------------------ status
    @property
    def state(self) -> MissionState:
        if not self.store.items():
            return MissionState.NO_MISSION
        if self.complete:
            return MissionState.COMPLETE
        if not self.started:
            return MissionState.NOT_STARTED
        return MissionState.ACTIVE if self.s.mode is FlightMode.MISSION else MissionState.PAUSED

    def in_takeoff(self) -> bool:
        if self.s.mode is not FlightMode.MISSION:
            return False
        item = self._item()
        return self.phase == "takeoff" or (item is not None and item.command == MAV_CMD_NAV_TAKEOFF)

    def in_landing(self) -> bool:
        item = self._item()
        active = self.s.mode is FlightMode.MISSION and item is not None
        return active and item is not None and item.command == MAV_CMD_NAV_LAND and self._descending

    def wants_takeoff(self) -> bool:
        """Whether a landed, armed vehicle in mission mode should climb away."""
        return bool(self.store.items()) and not self.complete

    # --------------------------------------------------------- lifecycle
    def enter(self) -> None:
        """Mission mode engaged: restart a new or finished mission, else resume."""
        if self._version != self.store.version or self.complete:
            self._restart()
        self.started = True
        self.phase = "takeoff" if self.s.landed else "items"
        if not self.s.armed:  # selected on the ground: PX4 says nothing until it flies
            return
        self.notify.statustext(MAV_SEVERITY_INFO, "Executing Mission")
        first = next((it for it in self.store.items() if it.has_position), None)
        if first is not None:
            alt = first.alt_rel(self.s.origin.alt_amsl)
            if alt > self.s.body.alt + self.s.params["NAV_MC_ALT_RAD"]:
                self.notify.statustext(MAV_SEVERITY_INFO, f"Climb to {alt:.1f} meters above home")
        self.notify.mission_current()

    def _restart(self) -> None:
        self._version = self.store.version
        if self.complete:
            self.store.current = 0
        self.complete = False
        self.speed = None
        self._jumps.clear()
        self._begin_item()

    def uploaded(self) -> None:
        """A new mission replaced the old one."""
        self.started = self.complete = False
        if self.s.mode is FlightMode.MISSION:
            self._restart()
            self.started = True
            self.phase = "takeoff" if self.s.landed else "items"

    def jump_to_current(self) -> None:
        """The current item was set from outside: fly it from here."""
        self.complete = False
        self._begin_item()

    def on_landed(self) -> None:
        item = self._item()
        if (
            self.s.mode is FlightMode.MISSION
            and item is not None
            and item.command == MAV_CMD_NAV_LAND
        ):
            self.notify.mission_reached(item.seq)
            self._finish()

    def _begin_item(self) -> None:
        self._anchor = (self.s.body.n, self.s.body.e)
        self._waited = None
        self._descending = False

    def _advance(self, to: int | None = None) -> None:
        self.store.current = self.store.current + 1 if to is None else to
        self._begin_item()
        if self._item() is not None:  # past the end, _finish reports the mission complete
            self.notify.mission_current()

    def _finish(self) -> None:
        """Mission over: PX4 loiters at the last waypoint (the navigator switches to hold)."""
        self.complete = True
        self.store.current = max(0, len(self.store.items()) - 1)
        self._anchor = self.last_point()
        if self.s.mode is FlightMode.MISSION:
            self.on_done()
        self.notify.mission_current()

    def last_point(self) -> tuple[float, float]:
        """North/east of the mission's last waypoint, or of the vehicle without one."""
        last = next((it for it in reversed(self.store.items()) if it.has_position), None)
        if last is None:
            return self.s.body.n, self.s.body.e
        n, e, _ = self._target(last)
        return n, e

    def _item(self) -> MissionItem | None:
        items = self.store.items()
        return items[self.store.current] if 0 <= self.store.current < len(items) else None

    # ---------------------------------------------------------- flying
    def setpoint(self, dt: float) -> Setpoint:
        """The setpoint for this step, moving on through items that are done."""
        if self._version != self.store.version:
            self._restart()
        if self.complete:
            return self._hold()
        if self.phase == "takeoff":
            self._run_do_items(dt)  # PX4 carries out leading DO items before it climbs
            sp = self._sp_takeoff()
            if sp is not None:
                return sp
        for _ in range(64):
            item = self._item()
            if item is None:
                self._finish()
                return self._hold()
            sp = self._run(item, dt)
            if sp is not None:
                return sp
        return self._hold()

    def _run_do_items(self, dt: float) -> None:
        for _ in range(64):
            item = self._item()
            if item is None or item.is_nav or item.command == MAV_CMD_NAV_RETURN_TO_LAUNCH:
                return
            if self._run(item, dt) is not None:
                return

    def _hold(self) -> Setpoint:
        b = self.s.body
        n, e = self._anchor or (b.n, b.e)
        return Setpoint("position", n, e, min(b.d, -MIN_ALT_M), limits=self.s.limits())

    def _sp_takeoff(self) -> Setpoint | None:
        s = self.s
        if s.landed or self._takeoff_d == 0.0:
            first = next((it for it in self.store.items() if it.has_position), None)
            alt = first.alt_rel(s.origin.alt_amsl) if first else 0.0
            self._takeoff_d = -max(s.params["MIS_TAKEOFF_ALT"], alt, MIN_ALT_M)
        if s.body.d <= self._takeoff_d + s.params["NAV_MC_ALT_RAD"]:
            self.phase = "items"
            self._takeoff_d = 0.0
            self._begin_item()
            return None
        lim = s.limits()
        lim.up_speed = s.takeoff_speed()
        n, e = self._anchor or (s.body.n, s.body.e)
        return Setpoint("position", n, e, self._takeoff_d, limits=lim)

    def _run(self, item: MissionItem, dt: float) -> Setpoint | None:
        cmd = item.command
        if cmd == MAV_CMD_DO_CHANGE_SPEED:
            if item.param2 > 0:
                self.speed = item.param2
            elif item.param2 == -2:
                self.speed = None
        elif cmd == MAV_CMD_DO_JUMP:  # PX4 does not report a jump as reached
            left = self._jumps.setdefault(item.seq, int(item.param2))
            if left != 0:
                self._jumps[item.seq] = left - 1 if left > 0 else left
            self._advance(int(item.param1) if left != 0 else None)
            return None
        elif cmd == MAV_CMD_DO_SET_ROI_LOCATION:
            self.s.roi = self.s.local(item.lat, item.lon)
        elif cmd == MAV_CMD_DO_SET_ROI_NONE:
            self.s.roi = None
        elif cmd == MAV_CMD_NAV_DELAY:
            if not self._wait(dt, item.param1):
                return self._hold()
        elif cmd == MAV_CMD_NAV_RETURN_TO_LAUNCH:
            self.notify.mission_reached(item.seq)
            self.complete = True
            self.notify.statustext(MAV_SEVERITY_INFO, "Mission finished, loitering")
            self.on_rtl()
            return self._hold()
        elif item.is_nav:
            return self._fly(item, dt)
        self._reached(item)
        return None

    def _wait(self, dt: float, seconds: float) -> bool:
        self._waited = (self._waited or 0.0) + dt
        return self._waited >= seconds

    def _target(self, item: MissionItem) -> tuple[float, float, float]:
        s = self.s
        if item.has_position:
            n, e = s.local(item.lat, item.lon)
        else:
            n, e = self._anchor or (s.body.n, s.body.e)
        if not math.isfinite(item.z):
            return n, e, s.body.d
        return n, e, -max(MIN_ALT_M, item.alt_rel(s.origin.alt_amsl))

    def _fly(self, item: MissionItem, dt: float) -> Setpoint | None:
        s, p = self.s, self.s.params
        n, e, d = self._target(item)
        lim = s.limits(self.speed)
        if item.command == MAV_CMD_NAV_TAKEOFF:
            lim.up_speed = s.takeoff_speed()
            n, e = self._anchor or (n, e)
            if s.body.d <= d + p["NAV_MC_ALT_RAD"]:
                self._reached(item)
                return None
            return Setpoint("position", n, e, d, limits=lim)
        if item.command == MAV_CMD_NAV_LAND:
            return self._land(item, n, e)
        dist = math.hypot(n - s.body.n, e - s.body.e)
        radius = item.param2 if item.param2 > 0 else p["NAV_ACC_RAD"]
        if self._waited is not None or (
            dist <= radius and abs(d - s.body.d) <= p["NAV_MC_ALT_RAD"]
        ):
            if item.command == MAV_CMD_NAV_LOITER_UNLIM:
                return Setpoint("position", n, e, d, limits=lim)
            hold = (
                item.param1
                if item.command in (MAV_CMD_NAV_WAYPOINT, MAV_CMD_NAV_LOITER_TIME)
                else 0.0
            )
            if self._wait(dt, max(0.0, hold)):
                self._reached(item)
                return None
            return Setpoint("position", n, e, d, limits=lim)
        end = self._corner_speed(item, n, e, lim.xy_speed)
        return Setpoint("position", n, e, d, end_speed=end, limits=lim)

    def _land(self, item: MissionItem, n: float, e: float) -> Setpoint:
        s = self.s
        lim = s.limits(self.speed)
        far = math.hypot(n - s.body.n, e - s.body.e) > 1.0 or s.body.ground_speed > 0.5
        if not self._descending and item.has_position and far:
            return Setpoint("position", n, e, s.body.d, limits=lim)
        self._descending = True
        lim.down_speed = s.land_speed()
        return Setpoint("position", n, e, 5.0, limits=lim)

    def _reached(self, item: MissionItem) -> None:
        self.notify.mission_reached(item.seq)
        self._advance()

    def _corner_speed(self, item: MissionItem, n: float, e: float, speed: float) -> float:
        """Speed to pass ``item`` with: slower the sharper the turn, zero where it stops."""
        if item.command != MAV_CMD_NAV_WAYPOINT or item.param1 > 0:
            return 0.0
        nxt = next(
            (
                it
                for it in self.store.items()[item.seq + 1 :]
                if it.is_nav or it.command == MAV_CMD_NAV_RETURN_TO_LAUNCH
            ),
            None,
        )
        if nxt is None or not nxt.has_position or nxt.command == MAV_CMD_NAV_LAND:
            return 0.0
        b = self.s.body
        nn, ne = self.s.local(nxt.lat, nxt.lon)
        a_in = math.atan2(e - b.e, n - b.n)
        a_out = math.atan2(ne - e, nn - n)
        turn = abs((a_out - a_in + math.pi) % (2 * math.pi) - math.pi)
        return speed * max(0.0, math.cos(turn)) ** 2
