"""PX4-like failsafes: low battery, lost data link and lost position, with PX4's parameters.

As measured on PX4 SITL (main, 2026-03):

- PX4 first holds for COM_FAIL_ACT_T seconds ("Failsafe activated: entering Hold for 5
  seconds"), then carries out the action ("Failsafe activated"), unless the pilot changed mode
  meanwhile. Landing for an emergency battery or lost position happens at once.
- Battery: BAT_LOW_THR says "Low battery" (the battery health bit drops); at BAT_CRIT_THR
  "Critical battery" and COM_LOW_BAT_ACT 2 lands, 3 (PX4 SITL's value) returns; at
  BAT_EMERGEN_THR "Emergency battery level" and both land. 0 only warns.
- Data link: no ground-station HEARTBEAT for COM_DL_LOSS_T seconds (wall clock) while flying
  starts NAV_DLL_ACT (1 hold, 2 return, 3 land; 5 and 6 land in the sim) unless COM_DLL_EXCEPT
  exempts the mode (bit 0 mission, bit 1 hold); 0 (PX4's default) does nothing. Arming needs
  the link when NAV_DLL_ACT is set. "GCS connection regained" when it is back.
- Position: without a GPS fix for a second in flight the vehicle descends in land mode,
  drifting with the wind. Arming needs a fix.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from edge.flight.mavlink_enums import (
    MAV_SEVERITY_CRITICAL,
    MAV_SEVERITY_EMERGENCY,
    MAV_SEVERITY_INFO,
    MAV_SEVERITY_WARNING,
)
from sim.vehicle.autopilot.modes import FlightMode
from sim.vehicle.autopilot.navigator import Navigator
from sim.vehicle.autopilot.vehicle_state import Notifier, VehicleState
from sim.vehicle.physics.battery import ChargeState

__all__ = ["Failsafes"]

POSITION_LOSS_DELAY_S = 1.0
_DLL_ACTIONS = {
    1: FlightMode.HOLD,
    2: FlightMode.RTL,
    3: FlightMode.LAND,
    5: FlightMode.LAND,
    6: FlightMode.LAND,
}


class Failsafes:
    """Watches battery, data link and position, and acts like PX4's commander.

    Args:
        state: the vehicle's shared state.
        nav: the flight logic that carries out the action.
        notify: where status texts go.
        wall: the wall clock.
    """

    def __init__(
        self,
        state: VehicleState,
        nav: Navigator,
        notify: Notifier,
        wall: Callable[[], float],
    ) -> None:
        self.s, self.nav, self.notify, self.wall = state, nav, notify, wall
        self.battery_level = ChargeState.OK
        self.link_lost = False
        self.last_gcs_heartbeat = -math.inf
        self._gps_lost_s = 0.0
        self._gps_acted = False
        self._pending: tuple[FlightMode, float] | None = None

    def gcs_heartbeat(self) -> None:
        """A ground station's HEARTBEAT arrived."""
        self.last_gcs_heartbeat = self.wall()

    @property
    def link_missing(self) -> bool:
        """No ground station now (never heard, or lost): PX4 will not arm with NAV_DLL_ACT set."""
        return self.link_lost or not math.isfinite(self.last_gcs_heartbeat)

    def check(self, dt: float) -> None:
        """Evaluate every failsafe after ``dt`` simulated seconds."""
        self._battery()
        self._datalink()
        self._position(dt)
        self._carry_out()

    @property
    def flying(self) -> bool:
        return self.s.armed and not self.s.landed

    def _act(self, mode: FlightMode, cause: str, at_once: bool = False) -> None:
        """Hold for COM_FAIL_ACT_T, then switch to ``mode`` (or switch at once)."""
        self.s.failsafe = cause
        delay = self.s.params["COM_FAIL_ACT_T"]
        if at_once or delay <= 0 or mode is FlightMode.HOLD:
            self._pending = None
            self.notify.statustext(MAV_SEVERITY_CRITICAL, "Failsafe activated")
            self.nav.set_mode(mode)
            return
        if self._pending is None:
            self.notify.statustext(
                MAV_SEVERITY_CRITICAL, f"Failsafe activated: entering Hold for {delay:.0f} seconds"
            )
            self.nav.set_mode(FlightMode.HOLD)
        self._pending = (mode, self.s.sim_time + delay)

    def _carry_out(self) -> None:
        if self._pending is None:
            return
        mode, due = self._pending
        if self.s.mode is not FlightMode.HOLD or not self.flying:
            self._pending = None  # the pilot took over, or it is down already
        elif self.s.sim_time >= due:
            self._pending = None
            self.notify.statustext(MAV_SEVERITY_CRITICAL, "Failsafe activated")
            self.nav.set_mode(mode)

    def _battery(self) -> None:
        p = self.s.params
        level = self.s.battery.charge_state(
            p["BAT_LOW_THR"], p["BAT_CRIT_THR"], p["BAT_EMERGEN_THR"]
        )
        if level <= self.battery_level:
            self.battery_level = level
            return
        self.battery_level = level
        action = self.s.params.get_int("COM_LOW_BAT_ACT")
        if level is ChargeState.LOW:
            self.notify.statustext(MAV_SEVERITY_WARNING, "Low battery")
        elif level is ChargeState.CRITICAL:
            self.notify.statustext(MAV_SEVERITY_CRITICAL, "Critical battery")
            if action in (1, 3) and self.flying:
                self._act(FlightMode.RTL, "battery critical")
            elif action == 2 and self.flying:
                self._act(FlightMode.LAND, "battery critical")
        elif level is ChargeState.EMERGENCY:
            self.notify.statustext(MAV_SEVERITY_EMERGENCY, "Emergency battery level")
            if action in (1, 2, 3) and self.flying:
                self._act(FlightMode.LAND, "battery emergency", at_once=True)

    def _datalink(self) -> None:
        if not math.isfinite(self.last_gcs_heartbeat):
            return
        p = self.s.params
        lost = self.wall() - self.last_gcs_heartbeat > p.get_int("COM_DL_LOSS_T")
        if lost == self.link_lost:
            return
        self.link_lost = lost
        if not lost:
            self.notify.statustext(MAV_SEVERITY_INFO, "GCS connection regained")
            return
        self.notify.statustext(MAV_SEVERITY_CRITICAL, "Connection to ground station lost")
        mode = _DLL_ACTIONS.get(p.get_int("NAV_DLL_ACT"))
        exempt = p.get_int("COM_DLL_EXCEPT")
        if (exempt & 1 and self.s.mode is FlightMode.MISSION) or (
            exempt & 2 and self.s.mode is FlightMode.HOLD
        ):
            return
        if mode is not None and self.flying:
            self._act(mode, "data link lost")

    def _position(self, dt: float) -> None:
        if self.s.gps_ok:
            self._gps_lost_s = 0.0
            self._gps_acted = False
            return
        self._gps_lost_s += dt
        if not self._gps_acted and self._gps_lost_s >= POSITION_LOSS_DELAY_S and self.flying:
            self._gps_acted = True
            self._act(FlightMode.LAND, "no global position", at_once=True)
