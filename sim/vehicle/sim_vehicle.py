"""One sim vehicle: the parts wired together, its main loop, and its ground-truth snapshot.

Physics runs in simulated time (speed factor x wall time) in steps of about 20 ms of wall
time; messages go out on PX4's wall-clock schedule, so a ground station sees PX4's timing at
any speed factor.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from edge.flight.mavlink_enums import MAV_CMD_DO_SET_MODE, MAV_MISSION_TYPE_MISSION, MAV_TYPE_GCS
from edge.geo import LatLon, from_local_en
from sim.vehicle.autopilot.failsafes import Failsafes
from sim.vehicle.autopilot.mission_store import MissionStore
from sim.vehicle.autopilot.mode_switch import ModeSwitch
from sim.vehicle.autopilot.modes import FlightMode
from sim.vehicle.autopilot.navigator import Navigator
from sim.vehicle.autopilot.params import ParamStore
from sim.vehicle.autopilot.vehicle_state import VehicleState
from sim.vehicle.config import VehicleConfig
from sim.vehicle.faults import FaultState
from sim.vehicle.mavlink import messages
from sim.vehicle.mavlink.command_protocol import CommandHandler
from sim.vehicle.mavlink.messages import MSG, Message, mavlink
from sim.vehicle.mavlink.mission_protocol import MissionProtocol
from sim.vehicle.mavlink.param_protocol import ParamProtocol
from sim.vehicle.mavlink.sensor_messages import sensor_builders
from sim.vehicle.mavlink.streams import Telemetry
from sim.vehicle.mavlink.udp_link import Address, MavlinkLink
from sim.vehicle.physics.battery import Battery

__all__ = ["SimVehicle"]

logger = logging.getLogger(__name__)

PHYSICS_PERIOD_S = 0.02
MIN_SLEEP_S = 0.004
REACHED_REPEAT_S = 1.0


class SimVehicle:
    """A PX4-compatible vehicle on one UDP port.

    Args:
        config: where it is, its ports, speed factor, faults and parameter overrides.
        wall: the wall clock (``time.monotonic``).
    """

    def __init__(self, config: VehicleConfig, wall: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.wall = wall
        self.speed_factor = config.speed_factor
        self.sysid = config.system_id
        params = ParamStore({"MAV_SYS_ID": self.sysid, **config.params})
        battery = Battery(config.airframe)
        battery.set_pct(config.battery_pct)
        self.state = VehicleState(origin=config.home, params=params, battery=battery)
        self.set_wind(config.wind_speed_mps, config.wind_from_deg)
        self.store = MissionStore()
        self.faults = FaultState(self.state, wall)
        self.link = MavlinkLink(
            self.sysid, (config.host, config.remote_port), self._on_message, self.faults.link_down
        )
        self.nav = Navigator(self.state, self.store, self, wall)
        self.telemetry = Telemetry(
            self.state,
            self.sysid,
            {
                MSG.SYS_STATUS: self._sys_status,
                MSG.MISSION_CURRENT: self._mission_current,
                MSG.ORBIT_EXECUTION_STATUS: self._orbit_status,
                **sensor_builders(self.state, self.nav.target, lambda: int(wall() * 1e9)),
            },
        )
        self.modes = ModeSwitch(self.state, self.nav, self, wall, config.mission_start_delay_s)
        self.commands = CommandHandler(
            self.state, self.nav, self.telemetry, self, self.link.send, wall,
            config.frame_rule, self.modes, self.arm_refusal, self._current_changed,
        )  # fmt: skip
        self.missions = MissionProtocol(
            self.store, self.sysid, self.link.send, wall, self._mission_changed,
            self._current_changed,
        )  # fmt: skip
        self.param_protocol = ParamProtocol(params, self.sysid, self.link.send)
        self.failsafes = Failsafes(self.state, self.nav, self, wall)
        for fault in config.faults:
            self.faults.inject(fault)
        self._last_reached: int | None = None
        self._reached_repeat_at = 0.0
        self._text_id = 0
        self.started = wall()

    # ------------------------------------------------------------- notify
    def statustext(self, severity: int, text: str) -> None:
        logger.info("vehicle %d: %s", self.sysid, text)
        self._text_id = self._text_id % 65535 + 1
        for msg in messages.statustexts(severity, text, self._text_id):
            self.link.send(msg)

    def mission_reached(self, seq: int) -> None:
        """Send MISSION_ITEM_REACHED now; like PX4, repeat the last one every second."""
        self.link.send(mavlink.MAVLink_mission_item_reached_message(seq))
        self._last_reached = seq
        self._reached_repeat_at = self.wall() + REACHED_REPEAT_S

    def mission_current(self) -> None:
        self.link.send(self._mission_current())

    # -------------------------------------------------------------- state
    def set_wind(self, speed_mps: float, from_deg: float) -> None:
        """Wind blowing from ``from_deg`` (degrees true) at ``speed_mps``."""
        to = math.radians(from_deg + 180.0)
        self.state.body.wind_n = speed_mps * math.cos(to)
        self.state.body.wind_e = speed_mps * math.sin(to)

    def truth(self) -> dict[str, Any]:
        """Ground truth for tests and tools (not what the vehicle reports)."""
        s, b = self.state, self.state.body
        lat, lon = s.latlon()
        home = s.home_latlon()
        return {
            "sysid": self.sysid,
            "lat": lat, "lon": lon, "alt_amsl_m": s.alt_amsl, "alt_rel_m": b.alt,
            "north_m": b.n, "east_m": b.e, "vn": b.vn, "ve": b.ve, "vd": b.vd,
            "heading_deg": math.degrees(b.yaw) % 360.0, "ground_speed_mps": b.ground_speed,
            "airspeed_mps": b.airspeed, "home_lat": home.lat, "home_lon": home.lon,
            "home_dist_m": s.dist_home_xy(), "armed": s.armed, "mode": s.mode.value,
            "landed": s.landed, "landed_state": s.landed_state.name.lower(),
            "battery_pct": s.battery.pct, "battery_wh": s.battery.remaining_wh,
            "battery_used_wh": s.battery.consumed_wh, "gps_ok": s.gps_ok,
            "failsafe": s.failsafe, "mission_current": self.store.current,
            "mission_count": len(self.store.items()), "mission_state": int(self.nav.mission.state),
            "sim_time_s": s.sim_time, "wall_time_s": self.wall() - self.started,
            "speed_factor": self.speed_factor, "faults": self.faults.active(),
            "link": self.link.stats.as_dict(), "data_link_lost": self.failsafes.link_lost,
        }  # fmt: skip

    # ----------------------------------------------------------- builders
    def arm_refusal(self) -> str | None:
        """Why the pre-arm checks refuse arming now, ``None`` when they pass."""
        gcs_needed = self.state.params.get_int("NAV_DLL_ACT") != 0
        return self.nav.arm_refusal(
            self.faults.arm_refusal(),
            self.modes.mission_valid(),
            gcs_missing=gcs_needed and self.failsafes.link_missing,
        )

    def _sys_status(self) -> Message:
        armable = self.arm_refusal() is None
        return messages.sys_status(self.state, armable)

    def _mission_current(self) -> Message:
        in_mission = self.state.mode is FlightMode.MISSION
        total = len(self.store.items())
        return messages.mission_current(
            self.store.current, total, int(self.nav.mission.state), in_mission
        )

    def _orbit_status(self) -> Message | None:
        o = self.nav.orbit
        if self.state.mode is not FlightMode.ORBIT or o is None:
            return None
        centre = from_local_en(LatLon(self.config.home.lat, self.config.home.lon), o.e, o.n)
        alt = self.config.home.alt_amsl - o.d
        return messages.orbit_status(self.state, o.radius, centre.lat, centre.lon, alt)

    def _mission_changed(self, kind: int) -> None:
        if kind == MAV_MISSION_TYPE_MISSION:
            self.modes.mission_uploaded(len(self.store.items()))
            self._last_reached = None
            self.nav.mission.uploaded()

    def _current_changed(self) -> None:
        self.nav.mission.jump_to_current()
        self.mission_current()

    # ----------------------------------------------------------- incoming
    def _on_message(self, msg: Message, addr: Address) -> None:
        name = msg.get_type()
        if name == "HEARTBEAT":
            if msg.type == MAV_TYPE_GCS:
                self.failsafes.gcs_heartbeat()
        elif name in ("COMMAND_LONG", "COMMAND_INT"):
            if msg.target_system in (0, self.sysid):
                self.commands.handle(msg)
        elif self.missions.handles(name):
            self.missions.handle(msg)
        elif self.param_protocol.handles(name):
            self.param_protocol.handle(msg)
        elif name == "SET_MODE":
            self._set_mode_message(msg)
        elif name == "PING":
            self._ping(msg)
        elif name == "TIMESYNC":
            self._timesync(msg)

    def _set_mode_message(self, msg: Message) -> None:
        if msg.target_system != self.sysid:
            return
        main, sub = (msg.custom_mode >> 16) & 0xFF, (msg.custom_mode >> 24) & 0xFF
        fake = mavlink.MAVLink_command_long_message(
            self.sysid, 1, MAV_CMD_DO_SET_MODE, 0, msg.base_mode, main, sub, 0, 0, 0, 0
        )
        fake._header = msg._header
        self.commands.handle(fake)

    def _ping(self, msg: Message) -> None:
        if msg.target_system == 0 and msg.target_component == 0:
            self.link.send(
                mavlink.MAVLink_ping_message(
                    msg.time_usec, msg.seq, msg.get_srcSystem(), msg.get_srcComponent()
                )
            )

    def _timesync(self, msg: Message) -> None:
        if msg.tc1 == 0:
            now_ns = int(self.wall() * 1e9)
            self.link.send(mavlink.MAVLink_timesync_message(now_ns, msg.ts1))

    # --------------------------------------------------------------- loop
    def step(self, now: float, dt_wall: float) -> None:
        """Advance physics by ``dt_wall`` of wall time and run every check."""
        dt = dt_wall * self.speed_factor
        self.state.sim_time += dt
        self.faults.tick(now)
        self.nav.step(dt)
        s = self.state
        flying = s.armed and not s.landed
        s.battery.drain(
            dt, armed=s.armed, in_air=flying, airspeed=s.body.airspeed, climb=-s.body.vd
        )
        self.failsafes.check(dt)
        if not s.armed:
            s.failsafe = None

    def emit(self, now: float) -> None:
        """Send every message that is due, and repeat the last MISSION_ITEM_REACHED."""
        for msg in self.telemetry.due(now):
            self.link.send(msg)
        if self._last_reached is not None and now >= self._reached_repeat_at:
            self._reached_repeat_at = now + REACHED_REPEAT_S
            self.link.send(mavlink.MAVLink_mission_item_reached_message(self._last_reached))
        self.missions.tick()

    async def run(self, on_ready: Callable[[dict[str, int]], None] | None = None) -> None:
        """Bind the port and fly until cancelled."""
        from sim.vehicle.control import serve_control

        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self.link, local_addr=(self.config.host, self.config.bind_port)
        )
        try:
            async with serve_control(self) as control_port:
                if on_ready is not None:
                    on_ready(
                        {"mavlink_port": self.link.local_port, "control_port": control_port,
                         "mavsdk_port": self.config.remote_port, "sysid": self.sysid}
                    )  # fmt: skip
                await self._loop()
        finally:
            transport.close()

    async def _loop(self) -> None:
        last = self.wall()
        errors = 0
        while True:
            now = self.wall()
            try:
                if now - last >= PHYSICS_PERIOD_S:
                    self.step(now, min(now - last, 0.5))
                    last = now
                self.emit(now)
            except Exception:  # keep flying: a bug must not take the vehicle down
                errors += 1
                if errors <= 10:
                    logger.exception("vehicle %d: step failed", self.sysid)
            wake = min(self.telemetry.next_due(), last + PHYSICS_PERIOD_S)
            # at least MIN_SLEEP_S: streams due within a few milliseconds go out together
            await asyncio.sleep(max(MIN_SLEEP_S, wake - self.wall()))
