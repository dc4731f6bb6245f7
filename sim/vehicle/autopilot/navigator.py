"""PX4-like flight logic: what each mode flies, land detection, auto-disarm and arming checks.

The navigator turns the flight mode into a setpoint for the kinematic body once per physics
step, with PX4's multicopter behaviour and status texts: take-off spools up for
COM_SPOOLUP_TIME, ramps in over MPC_TKO_RAMP_T, climbs at MPC_TKO_SPEED and then holds; hold
brakes and stays (a reposition from the ground takes off first); RTL and orbit are in
:mod:`sim.vehicle.autopilot.rtl`; land descends at PX4's landing speeds. Landing is detected
after four seconds on the ground; the vehicle disarms itself COM_DISARM_LAND later and falls
back to hold.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from edge.flight.mavlink_enums import (
    MAV_SEVERITY_INFO,
    MAV_SEVERITY_WARNING,
)
from sim.vehicle.autopilot.mission_runner import MissionRunner
from sim.vehicle.autopilot.mission_store import MissionStore
from sim.vehicle.autopilot.modes import FlightMode, LandedState
from sim.vehicle.autopilot.rtl import Orbit, ReturnToLaunch, land_setpoint, orbit_setpoint
from sim.vehicle.autopilot.vehicle_state import Notifier, VehicleState
from sim.vehicle.physics.body import GRAVITY, Setpoint

__all__ = ["Navigator", "Orbit"]

logger = logging.getLogger(__name__)

LAND_DETECT_S = 4.0  # simulated seconds on the ground before PX4's detector says "landed"
AIRBORNE_ALT_M = 0.1


class Navigator:
    """Flies the current flight mode.

    Args:
        state: the vehicle's shared state.
        store: the uploaded mission.
        notify: where status texts and mission progress go.
        wall: the wall clock (timers a ground station races against run on it).
    """

    def __init__(
        self,
        state: VehicleState,
        store: MissionStore,
        notify: Notifier,
        wall: Callable[[], float],
    ) -> None:
        self.s = state
        self.notify = notify
        self.wall = wall
        self.mission = MissionRunner(
            state, store, notify, on_rtl=self.return_home, on_done=self._done
        )
        self.hold_target: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.hold_speed: float | None = None
        self.hold_climb = False
        self.takeoff_d = -2.5
        self.land_point = (0.0, 0.0)
        self.rtl = ReturnToLaunch(state, notify)
        self.orbit: Orbit | None = None
        self.last_setpoint = Setpoint("idle")
        self._ground_time = 0.0
        self._landed_time = 0.0
        self._armed_wall = 0.0

    # ---------------------------------------------------------------- arming
    def arm_refusal(
        self,
        refuse_reason: str | None = None,
        mission_valid: bool = True,
        gcs_missing: bool = False,
    ) -> str | None:
        """Why PX4 would refuse to arm now, ``None`` when the pre-arm checks pass."""
        s = self.s
        if refuse_reason:
            return refuse_reason
        if gcs_missing:
            return "Arming denied: no connection to the GCS"
        if not s.gps_ok:
            return "Arming denied: no global position"
        if s.battery.fraction <= s.params["BAT_CRIT_THR"]:
            return "Arming denied: battery level too low"
        if not s.mode.flyable:
            return "Arming denied: no manual control input"
        if s.mode in (FlightMode.RTL, FlightMode.LAND) and s.landed:
            return "Arming denied: mode not armable"
        if s.mode is FlightMode.MISSION and not mission_valid:
            return "Arming denied: no valid mission"
        return None

    def arm(self) -> None:
        """Arm (checks already passed): home moves to here, like PX4 sets it on arming."""
        s = self.s
        if s.armed:
            return
        s.armed = True
        s.taken_off_since_arming = False
        s.home_n, s.home_e = s.body.n, s.body.e
        s.armed_at = s.sim_time
        self._armed_wall = self.wall()
        self._landed_time = 0.0
        self.notify.statustext(MAV_SEVERITY_INFO, "Armed by external command")
        if s.mode is not FlightMode.TAKEOFF:
            self._enter(s.mode)

    def disarm(self, reason: str = "external command") -> None:
        s = self.s
        if not s.armed:
            return
        s.armed = False
        s.failsafe = None
        s.roi = None
        self.notify.statustext(MAV_SEVERITY_INFO, f"Disarmed by {reason}")
        if reason == "landing":
            self.set_mode(FlightMode.HOLD)  # PX4 falls back to hold once landed

    # ----------------------------------------------------------------- modes
    def set_mode(self, mode: FlightMode) -> None:
        """Switch flight mode and start flying it (asking for the present mode changes nothing,
        as on PX4: a mission is not restarted, a hold keeps its point)."""
        if mode is self.s.mode:
            return
        self.s.mode = mode
        self._enter(mode)

    def _enter(self, mode: FlightMode) -> None:
        s = self.s
        if mode is FlightMode.HOLD:
            self.hold_here()
        elif mode is FlightMode.TAKEOFF and s.landed:
            self.takeoff_d = -max(s.params["MIS_TAKEOFF_ALT"], 1.0)
        elif mode is FlightMode.LAND:
            self.land_point = (s.body.n, s.body.e)
        elif mode is FlightMode.RTL:
            self.rtl.start()
        elif mode is FlightMode.MISSION:
            self.mission.enter()

    def hold_here(self) -> None:
        """Hold where the vehicle comes to a stop."""
        b, a = self.s.body, max(0.5, self.s.params["MPC_ACC_HOR"])
        speed = b.ground_speed
        stop = speed * speed / (2.0 * a)
        n = b.n + (b.vn / speed * stop if speed > 0.1 else 0.0)
        e = b.e + (b.ve / speed * stop if speed > 0.1 else 0.0)
        self.hold_target = (n, e, min(b.d, -AIRBORNE_ALT_M) if not self.s.landed else b.d)
        self.hold_speed = None
        self.hold_climb = False

    def takeoff(self, alt_rel: float | None) -> None:
        """Takeoff mode to ``alt_rel`` above home, at least MIS_TAKEOFF_ALT (PX4's minimum)."""
        minimum = self.s.params["MIS_TAKEOFF_ALT"]
        if alt_rel is None:
            self.notify.statustext(
                MAV_SEVERITY_INFO, f"Using default takeoff altitude: {minimum:.1f} m"
            )
        elif alt_rel < minimum:
            self.notify.statustext(
                MAV_SEVERITY_WARNING, f"Using minimum takeoff altitude: {minimum:.1f} m"
            )
        target = minimum if alt_rel is None else max(alt_rel, minimum)
        self.set_mode(FlightMode.TAKEOFF)
        self.takeoff_d = -max(1.0, target)

    def reposition(self, n: float, e: float, d: float | None, speed: float | None) -> None:
        """Fly to a point and hold there (PX4's DO_REPOSITION switches to hold; from the
        ground it takes off to the point's altitude first)."""
        self.set_mode(FlightMode.HOLD)
        s = self.s
        floor = -max(s.params["MIS_TAKEOFF_ALT"], 1.0)
        if s.landed:
            self.hold_target = (n, e, floor if d is None else min(d, floor))
            self.hold_climb = s.armed
        else:
            # a point below the ground is flown down to it, and the landing is detected there
            self.hold_target = (n, e, s.body.d if d is None else min(d, 0.0))
        self.hold_speed = speed

    def start_orbit(self, orbit: Orbit) -> None:
        self.orbit = orbit
        self.set_mode(FlightMode.ORBIT)

    def land(self) -> None:
        self.set_mode(FlightMode.LAND)

    def return_home(self) -> None:
        self.set_mode(FlightMode.RTL)

    def _done(self) -> None:
        """The mission ended: PX4 says so and loiters at the last waypoint."""
        self.notify.statustext(MAV_SEVERITY_INFO, "Mission finished, loitering")
        n, e = self.mission.last_point()
        self.s.mode = FlightMode.HOLD
        self.hold_target = (n, e, min(self.s.body.d, -AIRBORNE_ALT_M))
        self.hold_speed = None
        self.hold_climb = False

    def change_speed(self, speed: float) -> None:
        """DO_CHANGE_SPEED: the ground speed of the present mode."""
        if self.s.mode is FlightMode.MISSION:
            self.mission.speed = speed
        elif self.s.mode is FlightMode.ORBIT and self.orbit is not None:
            self.orbit.speed = speed
        else:
            self.hold_speed = speed

    # ----------------------------------------------------------------- step
    def step(self, dt: float) -> None:
        """Fly ``dt`` simulated seconds."""
        s = self.s
        self.last_setpoint = self._setpoint(dt)
        s.body.step(dt, self.last_setpoint)
        if not s.armed and s.body.alt > 0.0:
            self._fall(dt)
        self._detect_land(dt)
        self._auto_disarm(dt)
        s.landed_state = self._landed_state()

    def target(self) -> tuple[float, float, float]:
        """Where the position controller is heading (north, east, down)."""
        sp, b = self.last_setpoint, self.s.body
        if sp.kind == "position":
            return sp.n, sp.e, min(sp.d, 0.0)
        return b.n, b.e, b.d

    def _fall(self, dt: float) -> None:
        b = self.s.body
        b.vd = min(b.vd + GRAVITY * dt, 30.0)
        b.d = min(0.0, b.d + b.vd * dt)

    def _setpoint(self, dt: float) -> Setpoint:
        s = self.s
        climb = self._wants_climb()
        if s.landed and not climb:
            s.climb_started = None
        elif s.landed and s.climb_started is None:
            s.climb_started = s.sim_time
        if not s.armed or (s.landed and not climb):
            return Setpoint("idle")
        if not s.gps_ok:
            return Setpoint("drift", vd=s.land_speed(), limits=s.limits())
        mode = s.mode
        if mode is FlightMode.TAKEOFF:
            return self._sp_takeoff()
        if mode is FlightMode.LAND:
            return land_setpoint(s, *self.land_point)
        if mode is FlightMode.RTL:
            return self.rtl.setpoint(dt)
        if mode is FlightMode.ORBIT and self.orbit is not None:
            return orbit_setpoint(s, self.orbit)
        if mode is FlightMode.MISSION:
            return self._facing_roi(self.mission.setpoint(dt))
        return self._sp_hold()

    def _facing_roi(self, sp: Setpoint) -> Setpoint:
        """A mission with a region of interest yaws to face it (PX4's mission heading with a
        ROI_LOCATION), but not on take-off or landing, nor from right above it."""
        s = self.s
        if s.roi is None or sp.kind != "position" or self.mission.in_takeoff():
            return sp
        if self.mission.in_landing():
            return sp
        dn, de = s.roi[0] - s.body.n, s.roi[1] - s.body.e
        if math.hypot(dn, de) <= s.params["NAV_ACC_RAD"]:
            return sp
        sp.yaw = math.atan2(de, dn)
        return sp

    def _sp_hold(self) -> Setpoint:
        s = self.s
        n, e, d = self.hold_target
        if self.hold_climb:
            lim = s.limits()
            lim.up_speed = s.takeoff_speed()
            if s.body.d > d + s.params["NAV_MC_ALT_RAD"]:
                return Setpoint("position", s.body.n, s.body.e, d, limits=lim)
            self.hold_climb = False
        return Setpoint("position", n, e, d, limits=s.limits(self.hold_speed))

    def _wants_climb(self) -> bool:
        mode = self.s.mode
        if mode is FlightMode.TAKEOFF:
            return True
        if mode is FlightMode.HOLD:
            return self.hold_climb
        return mode is FlightMode.MISSION and self.mission.wants_takeoff()

    def _sp_takeoff(self) -> Setpoint:
        s = self.s
        lim = s.limits()
        lim.up_speed = s.takeoff_speed()
        if s.body.alt >= -self.takeoff_d - s.params["NAV_MC_ALT_RAD"]:
            self.set_mode(FlightMode.HOLD)
            self.hold_target = (s.body.n, s.body.e, self.takeoff_d)
        return Setpoint("position", s.body.n, s.body.e, self.takeoff_d, limits=lim)

    # ------------------------------------------------------ landing, disarm
    def _detect_land(self, dt: float) -> None:
        s, b = self.s, self.s.body
        if s.landed:
            if s.armed and b.alt > AIRBORNE_ALT_M:
                s.landed = False
                s.taken_off_since_arming = True
                self._ground_time = 0.0
                self.notify.statustext(MAV_SEVERITY_INFO, "Takeoff detected")
            return
        if b.d >= -0.01 and b.vd > -0.05:
            self._ground_time += dt
            if self._ground_time >= LAND_DETECT_S:
                s.landed = True
                self._landed_time = 0.0
                self.notify.statustext(MAV_SEVERITY_INFO, "Landing detected")
                self.mission.on_landed()
        else:
            self._ground_time = 0.0

    def _auto_disarm(self, dt: float) -> None:
        s, p = self.s, self.s.params
        if not (s.armed and s.landed):
            return
        if s.taken_off_since_arming:
            self._landed_time += dt
            limit = p["COM_DISARM_LAND"]
            if 0 < limit <= self._landed_time:
                self.disarm("landing")
        else:
            limit = p["COM_DISARM_PRFLT"]
            if 0 < limit <= self.wall() - self._armed_wall:
                self.disarm("auto preflight disarming")

    def _landed_state(self) -> LandedState:
        s = self.s
        if s.landed:
            return LandedState.ON_GROUND
        if s.mode is FlightMode.TAKEOFF or self.mission.in_takeoff():
            return LandedState.TAKEOFF
        landing = s.mode is FlightMode.LAND or (s.mode is FlightMode.RTL and self.rtl.landing)
        if landing or self.mission.in_landing() or not s.gps_ok:
            return LandedState.LANDING
        return LandedState.IN_AIR
