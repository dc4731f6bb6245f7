"""The sim vehicle's shared state and the small interfaces its parts talk through."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from edge.geo import LatLon, from_local_en, to_local_en
from sim.vehicle.autopilot.modes import FlightMode, LandedState
from sim.vehicle.autopilot.params import ParamStore
from sim.vehicle.physics.battery import Battery
from sim.vehicle.physics.body import Body, Limits

__all__ = ["Home", "Notifier", "VehicleState"]


class Home(BaseModel):
    """Where the vehicle starts and returns to: WGS84 degrees and metres above mean sea level.

    It is the origin of the local frame every position of the vehicle is measured in.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    lat: float = Field(47.397742, ge=-89.0, le=89.0)
    lon: float = Field(8.545594, ge=-180.0, le=180.0)
    alt_amsl: float = Field(489.4, ge=-500.0, le=9000.0)


class Notifier(Protocol):
    """Where the flight logic reports what a ground station must hear about at once."""

    def statustext(self, severity: int, text: str) -> None:
        """Send a STATUSTEXT."""

    def mission_reached(self, seq: int) -> None:
        """Send MISSION_ITEM_REACHED for ``seq``."""

    def mission_current(self) -> None:
        """Send MISSION_CURRENT now (the current item or the mission state changed)."""


@dataclass
class VehicleState:
    """Everything true about the vehicle at one instant; positions are local to ``origin``."""

    origin: Home
    params: ParamStore
    battery: Battery
    body: Body = field(default_factory=Body)
    armed: bool = False
    mode: FlightMode = FlightMode.HOLD
    landed: bool = True
    landed_state: LandedState = LandedState.ON_GROUND
    home_n: float = 0.0
    home_e: float = 0.0
    gps_ok: bool = True
    failsafe: str | None = None
    sim_time: float = 0.0
    taken_off_since_arming: bool = False
    climb_started: float | None = None
    armed_at: float = 0.0
    roi: tuple[float, float] | None = None  # region of interest (north, east): yaw faces it

    @property
    def origin_latlon(self) -> LatLon:
        return LatLon(self.origin.lat, self.origin.lon)

    def latlon(self) -> LatLon:
        """Where the vehicle is now."""
        return from_local_en(self.origin_latlon, self.body.e, self.body.n)

    def home_latlon(self) -> LatLon:
        return from_local_en(self.origin_latlon, self.home_e, self.home_n)

    @property
    def alt_amsl(self) -> float:
        return self.origin.alt_amsl + self.body.alt

    def local(self, lat: float, lon: float) -> tuple[float, float]:
        """North and east metres of a WGS84 point from the origin."""
        east, north = to_local_en(self.origin_latlon, LatLon(lat, lon))
        return north, east

    def dist_home_xy(self) -> float:
        return math.hypot(self.body.n - self.home_n, self.body.e - self.home_e)

    def limits(self, xy_speed: float | None = None) -> Limits:
        """Speed and acceleration limits from PX4's MPC_* parameters."""
        p = self.params
        cruise = p["MPC_XY_CRUISE"] if xy_speed is None or xy_speed <= 0 else xy_speed
        return Limits(
            xy_speed=min(cruise, p["MPC_XY_VEL_MAX"]),
            up_speed=p["MPC_Z_V_AUTO_UP"],
            down_speed=p["MPC_Z_V_AUTO_DN"],
            acc_xy=p["MPC_ACC_HOR"],
            acc_up=p["MPC_ACC_UP_MAX"],
            acc_down=p["MPC_ACC_DOWN_MAX"],
            yaw_rate_deg=p["MPC_YAWRAUTO_MAX"],
        )

    def takeoff_speed(self) -> float:
        """MPC_TKO_SPEED once the motors have spun up (COM_SPOOLUP_TIME after arming) and
        PX4's thrust ramp (MPC_TKO_RAMP_T) has lifted the vehicle off: measured on PX4 SITL,
        the climb starts when the ramp ends."""
        p = self.params
        if self.climb_started is None:
            return p["MPC_TKO_SPEED"]
        start = max(self.climb_started, self.armed_at + p["COM_SPOOLUP_TIME"])
        if self.sim_time - start < p["MPC_TKO_RAMP_T"]:
            return 0.0
        return p["MPC_TKO_SPEED"]

    def land_speed(self) -> float:
        """PX4's descent speed when landing: fast high up, MPC_LAND_SPEED near the ground."""
        p = self.params
        alt, high, low = self.body.alt, p["MPC_LAND_ALT1"], p["MPC_LAND_ALT2"]
        fast, slow = p["MPC_Z_V_AUTO_DN"], p["MPC_LAND_SPEED"]
        if alt >= high:
            return fast
        if alt <= low or high <= low:
            return slow
        return slow + (fast - slow) * (alt - low) / (high - low)
