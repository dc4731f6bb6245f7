"""Flying the vehicle: the :class:`Vehicle` seam, mission building, and the MAVSDK adapter."""

from edge.flight.mission import (
    Land,
    Loiter,
    LookAhead,
    LookAt,
    MissionPlan,
    Orbit,
    RawItem,
    Step,
    Waypoint,
)
from edge.flight.vehicle import FlightMode, Vehicle, VehicleState

__all__ = [
    "FlightMode",
    "Land",
    "Loiter",
    "LookAhead",
    "LookAt",
    "MissionPlan",
    "Orbit",
    "RawItem",
    "Step",
    "Vehicle",
    "VehicleState",
    "Waypoint",
]
