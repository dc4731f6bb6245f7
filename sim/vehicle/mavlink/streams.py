"""The sim vehicle's message streams: PX4's rates on the API link, changeable per message.

Rates are wall-clock, whatever the speed factor, so a ground station sees PX4's timing.
SET_MESSAGE_INTERVAL changes a stream (-1 stops it, 0 restores PX4's rate) and
REQUEST_MESSAGE sends one message now.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sim.vehicle.autopilot.vehicle_state import VehicleState
from sim.vehicle.mavlink import messages
from sim.vehicle.mavlink.messages import MSG, Message

__all__ = ["PX4_RATES_HZ", "Telemetry"]

# PX4's API-link ("onboard") rates, Hz.
PX4_RATES_HZ: dict[int, float] = {
    MSG.ATTITUDE: 100.0,
    MSG.ATTITUDE_QUATERNION: 50.0,
    MSG.GLOBAL_POSITION_INT: 50.0,
    MSG.LOCAL_POSITION_NED: 30.0,
    MSG.ALTITUDE: 10.0,
    MSG.VFR_HUD: 10.0,
    MSG.GPS_RAW_INT: 8.0,
    MSG.SYS_STATUS: 5.0,
    MSG.ORBIT_EXECUTION_STATUS: 5.0,
    MSG.HEARTBEAT: 1.0,
    MSG.EXTENDED_SYS_STATE: 5.0,
    MSG.MISSION_CURRENT: 1.0,
    MSG.SYSTEM_TIME: 1.0,
    MSG.HOME_POSITION: 0.5,
    MSG.BATTERY_STATUS: 0.5,
    # the rest of the streams, built in sensor_messages
    MSG.ODOMETRY: 30.0,
    MSG.HIGHRES_IMU: 50.0,
    MSG.ATTITUDE_TARGET: 10.0,
    MSG.POSITION_TARGET_LOCAL_NED: 10.0,
    MSG.SERVO_OUTPUT_RAW: 10.0,
    MSG.DISTANCE_SENSOR: 10.0,
    MSG.TIMESYNC: 10.0,  # a request, as PX4 sends
    MSG.SCALED_PRESSURE: 1.0,
    MSG.ESTIMATOR_STATUS: 1.0,
    MSG.VIBRATION: 0.5,
}
# Streams PX4 stops sending while the estimator has no global position.
NEEDS_POSITION = frozenset({MSG.GLOBAL_POSITION_INT, MSG.LOCAL_POSITION_NED})
MIN_INTERVAL_S = 0.002


@dataclass
class _Stream:
    interval: float  # seconds; 0 = off
    due: float = 0.0


class Telemetry:
    """Builds each message from the vehicle state and says which are due.

    Args:
        state: the vehicle's shared state.
        sysid: the vehicle's system id (for AUTOPILOT_VERSION).
        builders: extra message builders by id, on top of the ones from state alone
            (the vehicle adds SYS_STATUS, MISSION_CURRENT and ORBIT_EXECUTION_STATUS).
    """

    def __init__(
        self,
        state: VehicleState,
        sysid: int,
        builders: dict[int, Callable[[], Message | None]],
    ) -> None:
        s = state
        self._builders: dict[int, Callable[[], Message | None]] = {
            MSG.HEARTBEAT: lambda: messages.heartbeat(s),
            MSG.SYSTEM_TIME: lambda: messages.system_time(s),
            MSG.GPS_RAW_INT: lambda: messages.gps_raw_int(s),
            MSG.ATTITUDE: lambda: messages.attitude(s),
            MSG.ATTITUDE_QUATERNION: lambda: messages.attitude_quaternion(s),
            MSG.LOCAL_POSITION_NED: lambda: messages.local_position_ned(s),
            MSG.GLOBAL_POSITION_INT: lambda: messages.global_position_int(s),
            MSG.VFR_HUD: lambda: messages.vfr_hud(s),
            MSG.ALTITUDE: lambda: messages.altitude(s),
            MSG.BATTERY_STATUS: lambda: messages.battery_status(s),
            MSG.AUTOPILOT_VERSION: lambda: messages.autopilot_version(sysid),
            MSG.HOME_POSITION: lambda: messages.home_position(s),
            MSG.EXTENDED_SYS_STATE: lambda: messages.extended_sys_state(s),
            **builders,
        }
        self.state = state
        self._streams = {mid: _Stream(1.0 / hz) for mid, hz in PX4_RATES_HZ.items()}

    def build(self, msg_id: int) -> Message | None:
        """One message now, ``None`` when the sim does not know it."""
        builder = self._builders.get(msg_id)
        return builder() if builder else None

    def set_interval(self, msg_id: int, interval_us: float) -> bool:
        """SET_MESSAGE_INTERVAL; ``False`` for a message the sim cannot stream."""
        if msg_id not in self._builders or msg_id == MSG.AUTOPILOT_VERSION:
            return False
        if interval_us == 0:
            hz = PX4_RATES_HZ.get(msg_id, 0.0)
            interval = 1.0 / hz if hz else 0.0
        elif interval_us < 0:
            interval = 0.0
        else:
            interval = max(MIN_INTERVAL_S, interval_us * 1e-6)
        stream = self._streams.setdefault(msg_id, _Stream(interval))
        stream.interval = interval
        stream.due = 0.0  # the new rate starts now, not after the next message at the old one
        return True

    def interval(self, msg_id: int) -> float:
        """Seconds between two messages of a stream, 0 when it is off."""
        stream = self._streams.get(msg_id)
        return stream.interval if stream else 0.0

    def due(self, now: float) -> Iterator[Message]:
        """The messages whose time has come at wall time ``now``."""
        gps_ok = self.state.gps_ok
        for msg_id, stream in self._streams.items():
            if stream.interval <= 0 or now < stream.due:
                continue
            stream.due += stream.interval
            if stream.due <= now:  # fell more than one interval behind: start afresh
                stream.due = now + stream.interval
            if not gps_ok and msg_id in NEEDS_POSITION:
                continue
            msg = self._builders[msg_id]()
            if msg is not None:
                yield msg

    def next_due(self) -> float:
        """Wall time of the next message due."""
        return min(
            (s.due for s in self._streams.values() if s.interval > 0),
            default=math.inf,
        )
