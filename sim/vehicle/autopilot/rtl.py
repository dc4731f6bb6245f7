"""PX4's return-to-launch and orbit for a multicopter, as setpoints for the kinematic body.

RTL (RTL_TYPE 0): climb where it is to RTL_RETURN_ALT (never below the present altitude; within
the acceptance radius of home, twice the distance home instead), fly home, descend to
RTL_DESCEND_ALT, wait RTL_LAND_DELAY (negative: forever) and land. PX4 SITL was seen to climb to
RTL_RETURN_ALT even 13 m from home, so RTL_CONE_ANG does not lower the return here. Orbit: fly
to the circle, then round it at the commanded speed facing the centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edge.flight.mavlink_enums import (
    MAV_SEVERITY_INFO,
)
from sim.vehicle.autopilot.vehicle_state import Notifier, VehicleState
from sim.vehicle.physics.body import Setpoint

__all__ = ["Orbit", "ReturnToLaunch", "land_setpoint", "orbit_setpoint"]

GROUND_BELOW_M = 5.0  # a landing aims below the ground so that it touches down at speed


@dataclass
class Orbit:
    """An orbit: centre (local metres), radius (positive clockwise), speed and height."""

    n: float
    e: float
    d: float
    radius: float
    speed: float


def land_setpoint(s: VehicleState, n: float, e: float) -> Setpoint:
    """Descend at PX4's landing speeds onto ``(n, e)``."""
    lim = s.limits()
    lim.down_speed = s.land_speed()
    return Setpoint("position", n, e, GROUND_BELOW_M, limits=lim)


def orbit_setpoint(s: VehicleState, o: Orbit) -> Setpoint:
    """Fly onto the circle, then round it facing the centre."""
    b, lim = s.body, s.limits()
    rn, re = b.n - o.n, b.e - o.e
    dist = math.hypot(rn, re)
    radius = abs(o.radius)
    yaw = math.atan2(-re, -rn)
    if dist < 1e-3 or abs(dist - radius) > 5.0:
        un, ue = (rn / dist, re / dist) if dist > 1e-3 else (1.0, 0.0)
        n, e = o.n + un * radius, o.e + ue * radius
        return Setpoint("position", n, e, o.d, end_speed=o.speed, yaw=yaw, limits=lim)
    un, ue = rn / dist, re / dist
    sign = 1.0 if o.radius >= 0 else -1.0
    tn, te = -ue * sign, un * sign  # clockwise seen from above when sign > 0
    corr = max(-3.0, min(3.0, -0.8 * (dist - radius)))
    speed = min(o.speed, math.sqrt(max(0.1, lim.acc_xy * 0.8 * radius)))
    vn, ve = tn * speed + un * corr, te * speed + ue * corr
    return Setpoint("velocity", d=o.d, vn=vn, ve=ve, yaw=yaw, limits=lim)


class ReturnToLaunch:
    """The phases of one return: climb, return, descend, loiter, land."""

    def __init__(self, state: VehicleState, notify: Notifier) -> None:
        self.s = state
        self.notify = notify
        self.phase = "done"
        self.return_d = 0.0
        self._waited = 0.0

    @property
    def landing(self) -> bool:
        return self.phase == "land"

    def start(self) -> None:
        """Plan the return from where the vehicle is now."""
        s, p = self.s, self.s.params
        dist = s.dist_home_xy()
        wanted = 2.0 * dist if dist <= p["NAV_ACC_RAD"] else p["RTL_RETURN_ALT"]
        self.return_d = -max(s.body.alt, wanted)
        self._waited = 0.0
        self.phase = "done" if s.landed else "climb"
        if not s.landed:
            self.notify.statustext(MAV_SEVERITY_INFO, "Returning to launch")
            alt = -self.return_d
            self.notify.statustext(
                MAV_SEVERITY_INFO,
                f"RTL: start return at {s.origin.alt_amsl + alt:.0f} m "
                f"({alt:.0f} m above destination)",
            )

    def setpoint(self, dt: float) -> Setpoint:
        s, p = self.s, self.s.params
        hn, he, lim = s.home_n, s.home_e, s.limits()
        if self.phase == "climb":
            if s.body.d <= self.return_d + p["NAV_MC_ALT_RAD"]:
                self.phase = "return"
            return Setpoint("position", s.body.n, s.body.e, self.return_d, limits=lim)
        if self.phase == "return":
            if s.dist_home_xy() <= 1.0 and s.body.ground_speed < 0.5:
                self.phase = "descend"
            return Setpoint("position", hn, he, self.return_d, limits=lim)
        if self.phase == "descend":
            target_d = max(self.return_d, -p["RTL_DESCEND_ALT"])
            if s.body.d >= target_d - p["NAV_MC_ALT_RAD"]:
                self.phase = "loiter"
            return Setpoint("position", hn, he, target_d, limits=lim)
        if self.phase == "loiter":
            self._waited += dt
            delay = p["RTL_LAND_DELAY"]
            if 0 <= delay <= self._waited:
                self.phase = "land"
                self.notify.statustext(MAV_SEVERITY_INFO, "RTL: land at destination")
            return Setpoint("position", hn, he, s.body.d, limits=lim)
        return land_setpoint(s, hn, he)
