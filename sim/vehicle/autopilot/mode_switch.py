"""Mode requests judged as PX4's commander judges them, and the lag of mission validity.

On the ground and disarmed PX4 lets any mode be selected (the arming checks speak later);
armed, a mode must be flyable now: position for the automatic modes, sticks for the manual
ones, a valid mission for mission mode. PX4 checks an uploaded mission for a moment after the
upload; until then the previous plan's verdict stands, so the first mission of a flight is
refused if started at once, while a replacement for a good mission starts straight away.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from edge.flight.mavlink_enums import (
    MAV_SEVERITY_CRITICAL,
)
from sim.vehicle.autopilot.modes import FlightMode
from sim.vehicle.autopilot.navigator import Navigator
from sim.vehicle.autopilot.vehicle_state import Notifier, VehicleState

__all__ = ["ModeSwitch"]


class ModeSwitch:
    """Decides and carries out mode changes.

    Args:
        state: the vehicle's shared state.
        nav: the flight logic.
        notify: where refusals are reported.
        wall: the wall clock (the mission check runs in wall time).
        mission_check_s: how long PX4 takes to accept an uploaded mission.
    """

    def __init__(
        self,
        state: VehicleState,
        nav: Navigator,
        notify: Notifier,
        wall: Callable[[], float],
        mission_check_s: float,
    ) -> None:
        self.s, self.nav, self.notify, self.wall = state, nav, notify, wall
        self.mission_check_s = mission_check_s
        self._uploaded_at = -math.inf
        self._plan_valid = False
        self._previous_valid = False

    def mission_uploaded(self, count: int) -> None:
        """A new plan of ``count`` items replaced the old one (0: cleared)."""
        self._previous_valid = self.mission_valid()
        self._plan_valid = count > 0
        self._uploaded_at = self.wall()

    def mission_valid(self) -> bool:
        """PX4's verdict on the mission now (the previous one while the new one is checked)."""
        if self.wall() - self._uploaded_at < self.mission_check_s:
            return self._previous_valid
        return self._plan_valid

    def refusal(self, mode: FlightMode) -> str | None:
        """Why ``mode`` cannot be entered now, ``None`` when it can."""
        if not self.s.armed or mode is self.s.mode:
            return None
        # land needs no position: without one PX4 descends where it is
        available = mode.flyable and (self.s.gps_ok or mode is FlightMode.LAND)
        if mode is FlightMode.MISSION:
            available = available and self.mission_valid()
        if available:
            return None
        return f"Switching to {mode.px4_name} is currently not available"

    def enter(self, mode: FlightMode) -> bool:
        """Enter ``mode`` or report why not; ``True`` when the mode changed."""
        reason = self.refusal(mode)
        if reason is not None:
            self.notify.statustext(MAV_SEVERITY_CRITICAL, reason)
            return False
        self.nav.set_mode(mode)
        return True
