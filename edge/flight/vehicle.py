"""The vehicle as the sortie sees it: a typed snapshot of its state and the :class:`Vehicle` seam.

``edge.flight.mavsdk_vehicle.MavsdkVehicle`` is the real implementation (any PX4, or the sim
vehicle, through MAVSDK). The sortie logic only ever talks to this protocol, so it never sees a
MAVLink detail and can be read as a flight script.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from edge.flight.mission import MissionPlan
from edge.geo import LatLon, distance_m

__all__ = ["FlightMode", "Vehicle", "VehicleState"]


class FlightMode:
    """Flight mode names as MAVSDK reports them (``FlightMode`` enum member names)."""

    READY = "READY"
    TAKEOFF = "TAKEOFF"
    HOLD = "HOLD"
    MISSION = "MISSION"
    RETURN_TO_LAUNCH = "RETURN_TO_LAUNCH"
    LAND = "LAND"
    POSCTL = "POSCTL"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class VehicleState:
    """Everything the edge knows about the vehicle at one moment.

    ``heard_at`` is the event-loop time of the last message from the vehicle; ``None`` fields
    have not been reported yet.
    """

    connected: bool = False
    heard_at: float = -math.inf
    lat: float | None = None
    lon: float | None = None
    alt_rel_m: float | None = None
    alt_amsl_m: float | None = None
    heading_deg: float = 0.0
    ground_speed_mps: float = 0.0
    climb_mps: float = 0.0
    battery_pct: float | None = None
    flight_mode: str = FlightMode.UNKNOWN
    armed: bool = False
    in_air: bool = False
    in_air_known: bool = False
    gps_fix: int = 0
    satellites: int = 0
    global_position_ok: bool = False
    home_position_ok: bool = False
    armable: bool = False
    home: LatLon | None = None
    home_alt_amsl_m: float | None = None
    mission_current: int = -1
    mission_total: int = 0
    status_text: str = ""
    status_count: int = 0
    extras: dict[str, float] = field(default_factory=dict)

    @property
    def position(self) -> LatLon | None:
        if self.lat is None or self.lon is None:
            return None
        return LatLon(self.lat, self.lon)

    def distance_to(self, point: LatLon) -> float:
        """Horizontal distance to ``point``, infinite while the position is unknown."""
        here = self.position
        return math.inf if here is None else distance_m(here, point)

    def not_ready(self) -> list[str]:
        """Why the vehicle cannot take off now, in words; empty when it can."""
        reasons = []
        if not self.connected:
            reasons.append("no MAVLink link to the vehicle")
            return reasons
        if self.gps_fix < 3 or not self.global_position_ok:
            reasons.append(f"no 3D GPS fix (fix type {self.gps_fix})")
        if not self.home_position_ok or self.home is None:
            reasons.append("home position not set")
        if not self.armable:
            reasons.append("autopilot pre-arm checks fail")
        if self.armed or self.in_air:
            reasons.append("vehicle is already armed or flying")
        if self.battery_pct is None:
            reasons.append("battery level unknown")
        return reasons


class Vehicle(Protocol):
    """One autopilot, connected while the context is entered.

    Every method waits for the vehicle's answer within its own timeout and raises
    :class:`~edge.errors.FlightError` (``vehicle_refused``, ``vehicle_timeout``) or
    :class:`~edge.errors.LinkLostError` on failure; none of them hangs.
    """

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    @property
    def state(self) -> VehicleState:
        """The latest snapshot."""
        ...

    async def wait_for(
        self, predicate: Callable[[VehicleState], bool], *, timeout_s: float, what: str
    ) -> VehicleState:
        """Wait until a snapshot satisfies ``predicate``.

        Raises:
            FlightError: ``vehicle_timeout`` naming ``what`` when it does not happen in time.
        """
        ...

    async def next_state(self, timeout_s: float) -> VehicleState:
        """The next snapshot.

        Raises:
            LinkLostError: when nothing arrives within ``timeout_s``.
        """
        ...

    async def arm(self) -> None:
        """Arm the motors."""
        ...

    async def disarm(self) -> None:
        """Stop the motors (the autopilot refuses while flying)."""
        ...

    async def takeoff(self, alt_rel_m: float) -> None:
        """Take off towards ``alt_rel_m`` above home; returns once the autopilot accepts."""
        ...

    async def upload(self, plan: MissionPlan) -> MissionPlan:
        """Put a mission on the vehicle, falling back to a more portable form if refused.

        Returns:
            The plan as uploaded (its item indices are the ones progress reports use).
        """
        ...

    async def start_mission(self) -> None:
        """Fly the uploaded mission; returns once the vehicle is seen in mission mode."""
        ...

    async def hold(self) -> None:
        """Hover where it is; returns once seen in hold mode."""
        ...

    async def land(self) -> None:
        """Land where it is; returns once seen landing."""
        ...

    async def return_to_launch(self) -> None:
        """The autopilot's own return home; returns once seen in return mode."""
        ...
