"""The rest of PX4's API-link streams: odometry, IMU, baro, range finder, targets, outputs, health.

MAVSDK shows these through ``odometry``, ``imu``, ``scaled_pressure``, ``distance_sensor`` and
``actuator_output_status``; PX4 SITL sends them whether anyone listens or not, so the sim does
too (the cost is in ``outrider bench sim``). Their rates are in :mod:`sim.vehicle.mavlink.streams`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sim.vehicle.autopilot.vehicle_state import VehicleState
from sim.vehicle.mavlink.messages import MSG, Message, boot_ms, clamp_int, mavlink
from sim.vehicle.physics.body import GRAVITY

__all__ = ["sensor_builders"]

NAN21 = [math.nan] * 21
SEA_LEVEL_HPA = 1013.25
RANGE_MAX_M = 100.0


def _quaternion(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (
        cr * cp * cy + sr * sp * sy,
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
    )


def _usec(s: VehicleState) -> int:
    return int(s.sim_time * 1e6)


def _pressure_hpa(alt_amsl: float) -> float:
    return float(SEA_LEVEL_HPA * (1.0 - 2.25577e-5 * alt_amsl) ** 5.25588)


def odometry(s: VehicleState) -> Message:
    b = s.body
    cy, sy = math.cos(b.yaw), math.sin(b.yaw)
    fwd, right = b.vn * cy + b.ve * sy, -b.vn * sy + b.ve * cy
    return mavlink.MAVLink_odometry_message(
        _usec(s), 1, 12, b.n, b.e, b.d, _quaternion(b.roll, b.pitch, b.yaw),
        fwd, right, b.vd, 0.0, 0.0, b.yaw_rate, NAN21, NAN21, 0, 6, 100,
    )  # fmt: skip


def highres_imu(s: VehicleState) -> Message:
    b = s.body
    press = _pressure_hpa(s.alt_amsl)
    return mavlink.MAVLink_highres_imu_message(
        _usec(s), -GRAVITY * math.sin(b.pitch), GRAVITY * math.sin(b.roll),
        -GRAVITY * math.cos(b.roll) * math.cos(b.pitch), 0.0, 0.0, b.yaw_rate,
        0.21 * math.cos(b.yaw), -0.21 * math.sin(b.yaw), 0.43, press, 0.0, s.alt_amsl,
        35.0, 0x1FFF, 0,
    )  # fmt: skip


def attitude_target(s: VehicleState) -> Message:
    b = s.body
    thrust = 0.0 if not s.armed else (0.1 if s.landed else 0.5)
    return mavlink.MAVLink_attitude_target_message(
        boot_ms(s), 0, _quaternion(b.roll, b.pitch, b.yaw), 0.0, 0.0, b.yaw_rate, thrust
    )


def position_target(s: VehicleState, target: tuple[float, float, float]) -> Message:
    b = s.body
    return mavlink.MAVLink_position_target_local_ned_message(
        boot_ms(s), 1, 0, *target, b.vn, b.ve, b.vd, 0.0, 0.0, 0.0, b.yaw, b.yaw_rate
    )


def servo_output_raw(s: VehicleState) -> Message:
    pwm = 1000 if not s.armed else (1100 if s.landed else 1500)
    return mavlink.MAVLink_servo_output_raw_message(
        _usec(s) & 0xFFFFFFFF, 0, pwm, pwm, pwm, pwm, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    )


def distance_sensor(s: VehicleState) -> Message:
    b = s.body
    tilt = math.cos(b.roll) * math.cos(b.pitch)
    dist = b.alt / tilt if tilt > 0.1 else RANGE_MAX_M
    return mavlink.MAVLink_distance_sensor_message(
        boot_ms(s), 10, int(RANGE_MAX_M * 100), clamp_int(min(dist, RANGE_MAX_M) * 100, 0, 65535),
        0, 0, 25, 0, 0.0, 0.0, (0.0, 0.0, 0.0, 0.0), 0,
    )  # fmt: skip


def scaled_pressure(s: VehicleState) -> Message:
    return mavlink.MAVLink_scaled_pressure_message(
        boot_ms(s), _pressure_hpa(s.alt_amsl), 0.0, 3500, 0
    )


def estimator_status(s: VehicleState) -> Message:
    flags = 0x3FF if s.gps_ok else 0x07  # attitude, velocity, positions... or attitude only
    return mavlink.MAVLink_estimator_status_message(
        _usec(s), flags, 0.05, 0.05, 0.05, 0.02, 0.0, 0.0, 0.7 if s.gps_ok else 999.0, 1.1
    )


def vibration(s: VehicleState) -> Message:
    return mavlink.MAVLink_vibration_message(_usec(s), 0.01, 0.01, 0.02, 0, 0, 0)


def timesync(wall_ns: int) -> Message:
    return mavlink.MAVLink_timesync_message(0, wall_ns)


def sensor_builders(
    s: VehicleState,
    target: Callable[[], tuple[float, float, float]],
    wall_ns: Callable[[], int],
) -> dict[int, Callable[[], Message | None]]:
    """Builders by message id for :class:`~sim.vehicle.mavlink.streams.Telemetry`."""
    return {
        MSG.ODOMETRY: lambda: odometry(s),
        MSG.HIGHRES_IMU: lambda: highres_imu(s),
        MSG.ATTITUDE_TARGET: lambda: attitude_target(s),
        MSG.POSITION_TARGET_LOCAL_NED: lambda: position_target(s, target()),
        MSG.SERVO_OUTPUT_RAW: lambda: servo_output_raw(s),
        MSG.DISTANCE_SENSOR: lambda: distance_sensor(s),
        MSG.TIMESYNC: lambda: timesync(wall_ns()),
        MSG.SCALED_PRESSURE: lambda: scaled_pressure(s),
        MSG.ESTIMATOR_STATUS: lambda: estimator_status(s),
        MSG.VIBRATION: lambda: vibration(s),
    }
