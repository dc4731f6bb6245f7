"""Kinematic multicopter: a point mass following setpoints within PX4-like speed and accel limits.

Positions are metres north/east/down of the home position (the ground is ``down == 0``).
With a position fix the controller holds the ground track against the wind, so the wind only
changes the airspeed (and so the power drawn and the tilt); without one the vehicle drifts with
the wind, as PX4 does in its descend failsafe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Body", "Limits", "Setpoint"]

GRAVITY = 9.80665
# Tilt needed to hold 12 m/s airspeed is ~20 degrees on a small quad.
DRAG_ACCEL_PER_MPS2 = math.tan(math.radians(20.0)) * GRAVITY / 144.0
POSITION_GAIN = 1.2  # 1/s: horizontal speed demand per metre of error close to the target
ALTITUDE_GAIN = 0.75  # 1/s: the same vertically (PX4 eases into a new altitude)
BRAKING_SHARE = 0.4  # PX4's jerk-limited trajectories brake at well under MPC_ACC_HOR
VELOCITY_TAU_S = 0.35  # how quickly acceleration follows a velocity error
JERK = 4.0  # m/s^3, PX4's MPC_JERK_AUTO
MAX_STEP_S = 0.05


@dataclass
class Limits:
    """Speed and acceleration limits, m/s and m/s^2 (PX4's MPC_* parameters)."""

    xy_speed: float = 5.0
    up_speed: float = 3.0
    down_speed: float = 1.5
    acc_xy: float = 3.0
    acc_up: float = 4.0
    acc_down: float = 3.0
    yaw_rate_deg: float = 45.0


@dataclass
class Setpoint:
    """What the position controller flies to.

    ``kind`` is ``"position"`` (fly to ``n, e, d``, arriving at ``end_speed``), ``"velocity"``
    (hold ``vn, ve`` and climb to ``d``), ``"idle"`` (on the ground, motors idle or off) or
    ``"drift"`` (no position fix: level attitude, descend at ``vd``).
    """

    kind: str = "idle"
    n: float = 0.0
    e: float = 0.0
    d: float = 0.0
    vn: float = 0.0
    ve: float = 0.0
    vd: float = 0.0
    end_speed: float = 0.0
    yaw: float | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass
class Body:
    """The vehicle's true state: position, velocity and attitude."""

    n: float = 0.0
    e: float = 0.0
    d: float = 0.0
    vn: float = 0.0
    ve: float = 0.0
    vd: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0
    pitch: float = 0.0
    yaw_rate: float = 0.0
    wind_n: float = 0.0
    wind_e: float = 0.0
    acc_n: float = 0.0
    acc_e: float = 0.0
    acc_d: float = 0.0

    @property
    def alt(self) -> float:
        """Height above home, metres."""
        return -self.d

    @property
    def ground_speed(self) -> float:
        return math.hypot(self.vn, self.ve)

    @property
    def airspeed(self) -> float:
        return math.hypot(self.vn - self.wind_n, self.ve - self.wind_e)

    def step(self, dt: float, sp: Setpoint) -> None:
        """Advance ``dt`` simulated seconds towards ``sp`` (split into short steps)."""
        steps = max(1, math.ceil(dt / MAX_STEP_S))
        h = dt / steps
        for _ in range(steps):
            self._step(h, sp)

    def _step(self, h: float, sp: Setpoint) -> None:
        lim = sp.limits
        if sp.kind == "idle":
            self.vn = self.ve = self.vd = 0.0
            self.acc_n = self.acc_e = self.acc_d = 0.0
            self.roll = self.pitch = self.yaw_rate = 0.0
            return
        want_n, want_e, want_d = self._demand(sp)
        self._accelerate(want_n, want_e, want_d, lim, h)
        self.vn += self.acc_n * h
        self.ve += self.acc_e * h
        self.vd += self.acc_d * h
        self.n += self.vn * h
        self.e += self.ve * h
        self.d += self.vd * h
        if self.d >= 0.0:
            self.d = 0.0
            self.vd = min(self.vd, 0.0)
            self.acc_d = min(self.acc_d, 0.0)
            if sp.kind != "position" or sp.d >= 0.0:
                self.vn = self.ve = self.acc_n = self.acc_e = 0.0
        self._attitude(self.acc_n, self.acc_e, sp, h)

    def _accelerate(self, vn: float, ve: float, vd: float, lim: Limits, h: float) -> None:
        """Acceleration towards the demanded velocity, within accel and jerk limits."""
        an, ae = _limit2(
            (vn - self.vn) / VELOCITY_TAU_S, (ve - self.ve) / VELOCITY_TAU_S, lim.acc_xy
        )
        jn, je = _limit2(an - self.acc_n, ae - self.acc_e, JERK * h)
        self.acc_n += jn
        self.acc_e += je
        ad = max(-lim.acc_up, min(lim.acc_down, (vd - self.vd) / VELOCITY_TAU_S))
        self.acc_d += max(-JERK * h, min(JERK * h, ad - self.acc_d))

    def _demand(self, sp: Setpoint) -> tuple[float, float, float]:
        lim = sp.limits
        if sp.kind == "drift":
            return self.wind_n, self.wind_e, sp.vd
        vd = _approach(sp.d - self.d, lim.down_speed, lim.up_speed)
        if sp.kind == "velocity":
            return sp.vn, sp.ve, vd
        dn, de = sp.n - self.n, sp.e - self.e
        dist = math.hypot(dn, de)
        if dist < 1e-3:
            return 0.0, 0.0, vd
        speed = min(
            lim.xy_speed,
            math.sqrt(sp.end_speed**2 + 2.0 * lim.acc_xy * BRAKING_SHARE * dist),
            sp.end_speed + POSITION_GAIN * dist,
        )
        return dn / dist * speed, de / dist * speed, vd

    def _attitude(self, acc_n: float, acc_e: float, sp: Setpoint, h: float) -> None:
        target = sp.yaw
        if target is None and self.ground_speed > 1.0:
            target = math.atan2(self.ve, self.vn)
        if target is not None:
            err = (target - self.yaw + math.pi) % (2 * math.pi) - math.pi
            max_step = math.radians(sp.limits.yaw_rate_deg) * h
            turn = max(-max_step, min(max_step, err))
            self.yaw = (self.yaw + turn + math.pi) % (2 * math.pi) - math.pi
            self.yaw_rate = turn / h
        else:
            self.yaw_rate = 0.0
        air_n, air_e = self.vn - self.wind_n, self.ve - self.wind_e
        air = math.hypot(air_n, air_e)
        force_n = acc_n + DRAG_ACCEL_PER_MPS2 * air * air_n
        force_e = acc_e + DRAG_ACCEL_PER_MPS2 * air * air_e
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        forward = force_n * cy + force_e * sy
        right = -force_n * sy + force_e * cy
        self.pitch = -math.atan2(forward, GRAVITY)
        self.roll = math.atan2(right, GRAVITY)


def _approach(err: float, down: float, up: float) -> float:
    """Vertical speed demand (positive down) that eases into ``err`` metres away."""
    if err > 0:
        return min(down, ALTITUDE_GAIN * err)
    if err < 0:
        return -min(up, ALTITUDE_GAIN * -err)
    return 0.0


def _limit2(x: float, y: float, max_len: float) -> tuple[float, float]:
    length = math.hypot(x, y)
    if length <= max_len or length == 0.0:
        return x, y
    return x / length * max_len, y / length * max_len
