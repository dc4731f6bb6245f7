"""The MAVLink messages the sim vehicle sends, built from its state with PX4's units and flags."""

from __future__ import annotations

import math
import time
from typing import Any, TypeAlias

from pymavlink.dialects.v20 import common as mavlink

from edge.flight.mavlink_enums import (
    MAV_AUTOPILOT_PX4,
    MAV_STATE_ACTIVE,
    MAV_STATE_CRITICAL,
    MAV_STATE_STANDBY,
    MAV_TYPE_QUADROTOR,
)
from sim.vehicle.autopilot.modes import base_mode, custom_mode
from sim.vehicle.autopilot.vehicle_state import VehicleState
from sim.vehicle.physics.battery import ChargeState

__all__ = ["MSG", "Message", "mavlink"]

# pymavlink is untyped: a message is any of its generated classes.
Message: TypeAlias = Any

# SYS_STATUS sensor bits exactly as PX4 SITL (SIH quad) reports them when all is well.
GPS, BATTERY, PREARM = 0x20, 0x2000000, 0x10000000
SENSORS_PRESENT = 0x200402F
SENSORS_ENABLED = 0x201402F
SENSORS_HEALTHY = 0x1320C83F
SYSTEM_LOAD = 137  # per mille

# AUTOPILOT_VERSION capabilities: PX4's 0xE8FF without FTP (0x20), which the sim does not serve.
CAPABILITIES = 0xE8FF & ~0x20
PX4_VERSION = (1 << 24) | (17 << 16) | 0x40  # 1.17.0 alpha, as PX4 main reports itself
STATUSTEXT_CHUNK = 50

UINT16_MAX = 65535


class MSG:
    """Message ids the sim streams or answers with."""

    HEARTBEAT = 0
    SYS_STATUS = 1
    SYSTEM_TIME = 2
    GPS_RAW_INT = 24
    ATTITUDE = 30
    ATTITUDE_QUATERNION = 31
    LOCAL_POSITION_NED = 32
    GLOBAL_POSITION_INT = 33
    MISSION_CURRENT = 42
    VFR_HUD = 74
    ALTITUDE = 141
    BATTERY_STATUS = 147
    AUTOPILOT_VERSION = 148
    HOME_POSITION = 242
    EXTENDED_SYS_STATE = 245
    ORBIT_EXECUTION_STATUS = 360
    # the rest of PX4's API-link streams (sensor_messages)
    SCALED_PRESSURE = 29
    SERVO_OUTPUT_RAW = 36
    ATTITUDE_TARGET = 83
    POSITION_TARGET_LOCAL_NED = 85
    HIGHRES_IMU = 105
    TIMESYNC = 111
    DISTANCE_SENSOR = 132
    ESTIMATOR_STATUS = 230
    VIBRATION = 241
    ODOMETRY = 331


def clamp_int(x: float, lo: int, hi: int) -> int:
    """``x`` rounded into ``[lo, hi]`` (NaN becomes 0), so struct packing never fails."""
    if not math.isfinite(x):
        return 0 if lo <= 0 <= hi else lo
    return max(lo, min(hi, round(x)))


def _i16(x: float) -> int:
    return clamp_int(x, -32768, 32767)


def _i32(x: float) -> int:
    return clamp_int(x, -(2**31), 2**31 - 1)


def _u16(x: float) -> int:
    return clamp_int(x, 0, UINT16_MAX)


def boot_ms(s: VehicleState) -> int:
    return clamp_int(s.sim_time * 1000.0, 0, 2**32 - 1)


def heartbeat(s: VehicleState) -> Message:
    status = MAV_STATE_STANDBY
    if s.armed:
        status = MAV_STATE_CRITICAL if s.failsafe else MAV_STATE_ACTIVE
    return mavlink.MAVLink_heartbeat_message(
        MAV_TYPE_QUADROTOR,
        MAV_AUTOPILOT_PX4,
        base_mode(s.mode, s.armed),
        custom_mode(s.mode),
        status,
        3,
    )


def sys_status(s: VehicleState, armable: bool) -> Message:
    health = SENSORS_HEALTHY & ~(GPS | PREARM | BATTERY)
    if s.gps_ok:
        health |= GPS
    if armable or s.armed:
        health |= PREARM
    p = s.params
    level = s.battery.charge_state(p["BAT_LOW_THR"], p["BAT_CRIT_THR"], p["BAT_EMERGEN_THR"])
    if level < ChargeState.LOW:  # PX4 drops the battery health bit from the low level on
        health |= BATTERY
    b = s.battery
    return mavlink.MAVLink_sys_status_message(
        SENSORS_PRESENT, SENSORS_ENABLED, health, SYSTEM_LOAD,
        _u16(b.voltage * 1000), _i16(b.current_a * 100), clamp_int(b.pct, 0, 100),
        0, 0, 0, 0, 0, 0,
    )  # fmt: skip


def gps_raw_int(s: VehicleState) -> Message:
    lat, lon = s.latlon()
    b = s.body
    cog = math.degrees(math.atan2(b.ve, b.vn)) % 360.0
    fix, sats = (3, 10) if s.gps_ok else (1, 0)
    return mavlink.MAVLink_gps_raw_int_message(
        int(s.sim_time * 1e6), fix, _i32(lat * 1e7), _i32(lon * 1e7), _i32(s.alt_amsl * 1000),
        70, 110, _u16(b.ground_speed * 100), _u16(cog * 100), sats,
        _i32(s.alt_amsl * 1000), 700, 1100, 150, 0, 0,
    )  # fmt: skip


def attitude(s: VehicleState) -> Message:
    b = s.body
    return mavlink.MAVLink_attitude_message(
        boot_ms(s), b.roll, b.pitch, b.yaw, 0.0, 0.0, b.yaw_rate
    )


def attitude_quaternion(s: VehicleState) -> Message:
    b = s.body
    cr, sr = math.cos(b.roll / 2), math.sin(b.roll / 2)
    cp, sp = math.cos(b.pitch / 2), math.sin(b.pitch / 2)
    cy, sy = math.cos(b.yaw / 2), math.sin(b.yaw / 2)
    return mavlink.MAVLink_attitude_quaternion_message(
        boot_ms(s),
        cr * cp * cy + sr * sp * sy,
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        0.0, 0.0, b.yaw_rate, (0.0, 0.0, 0.0, 0.0),
    )  # fmt: skip


def local_position_ned(s: VehicleState) -> Message:
    b = s.body
    return mavlink.MAVLink_local_position_ned_message(boot_ms(s), b.n, b.e, b.d, b.vn, b.ve, b.vd)


def global_position_int(s: VehicleState) -> Message:
    lat, lon = s.latlon()
    b = s.body
    return mavlink.MAVLink_global_position_int_message(
        boot_ms(s), _i32(lat * 1e7), _i32(lon * 1e7), _i32(s.alt_amsl * 1000),
        _i32(b.alt * 1000), _i16(b.vn * 100), _i16(b.ve * 100), _i16(b.vd * 100),
        _u16(math.degrees(b.yaw) % 360.0 * 100) % 36000,
    )  # fmt: skip


def altitude(s: VehicleState) -> Message:
    alt = s.body.alt
    return mavlink.MAVLink_altitude_message(
        int(s.sim_time * 1e6), s.alt_amsl, s.alt_amsl, alt, alt, math.nan, alt
    )


def vfr_hud(s: VehicleState) -> Message:
    b = s.body
    throttle = 0 if not s.armed else (20 if s.landed else 50)
    return mavlink.MAVLink_vfr_hud_message(
        math.nan,  # a quad has no airspeed sensor: PX4 sends NaN
        b.ground_speed, clamp_int(math.degrees(b.yaw) % 360.0, 0, 359),
        throttle, s.alt_amsl, -b.vd,
    )  # fmt: skip


def extended_sys_state(s: VehicleState) -> Message:
    return mavlink.MAVLink_extended_sys_state_message(0, int(s.landed_state))


def home_position(s: VehicleState) -> Message:
    lat, lon = s.home_latlon()
    return mavlink.MAVLink_home_position_message(
        _i32(lat * 1e7), _i32(lon * 1e7), _i32(s.origin.alt_amsl * 1000),
        s.home_n, s.home_e, 0.0, (1.0, 0.0, 0.0, 0.0), 0.0, 0.0, 0.0,
        int(s.sim_time * 1e6),
    )  # fmt: skip


def battery_status(s: VehicleState) -> Message:
    b, p = s.battery, s.params
    level = b.charge_state(p["BAT_LOW_THR"], p["BAT_CRIT_THR"], p["BAT_EMERGEN_THR"])
    voltages = [_u16(b.voltage * 1000)] + [UINT16_MAX] * 9
    return mavlink.MAVLink_battery_status_message(
        0, 1, 1, 32767, voltages, _i16(b.current_a * 100), _i32(b.consumed_mah),
        _i32(b.consumed_wh * 36.0), clamp_int(b.pct, 0, 100), _i32(b.time_remaining_s()),
        int(level), (0, 0, 0, 0), 0, 0,
    )  # fmt: skip


def mission_current(seq: int, total: int, state: int, in_mission: bool) -> Message:
    return mavlink.MAVLink_mission_current_message(
        _u16(seq), _u16(total) if total else UINT16_MAX, state, 1 if in_mission else 2
    )


def system_time(s: VehicleState) -> Message:
    return mavlink.MAVLink_system_time_message(int(time.time() * 1e6), boot_ms(s))


def orbit_status(s: VehicleState, radius: float, lat: float, lon: float, alt: float) -> Message:
    return mavlink.MAVLink_orbit_execution_status_message(
        int(s.sim_time * 1e6), radius, 0, _i32(lat * 1e7), _i32(lon * 1e7), alt
    )


def autopilot_version(sysid: int) -> Message:
    uid = 0x4F55545249440000 + sysid
    return mavlink.MAVLink_autopilot_version_message(
        CAPABILITIES, PX4_VERSION, PX4_VERSION, 0, 0,
        [0] * 8, [0] * 8, [0] * 8, 0, 0, uid, [0] * 18,
    )  # fmt: skip


def statustexts(severity: int, text: str, chunk_id: int) -> list[Message]:
    """STATUSTEXT as PX4 sends it: a tab at the end, split into 50-character chunks that share
    an ``id`` when longer (``chunk_id`` is used only then)."""
    raw = (text + "\t").encode("ascii", "replace")
    chunks = [raw[i : i + STATUSTEXT_CHUNK] for i in range(0, len(raw), STATUSTEXT_CHUNK)]
    msg_id = chunk_id if len(chunks) > 1 else 0
    return [
        mavlink.MAVLink_statustext_message(severity, chunk, msg_id, seq)
        for seq, chunk in enumerate(chunks)
    ]


def command_ack(command: int, result: int, target_system: int, target_comp: int) -> Message:
    return mavlink.MAVLink_command_ack_message(
        clamp_int(command, 0, UINT16_MAX), result, 0, 0, target_system, target_comp
    )
