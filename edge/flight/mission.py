"""Missions as the sortie thinks of them (steps) and as MAVLink carries them (raw items).

A :class:`MissionPlan` is a list of steps: fly to a waypoint, orbit a point, hover for a time,
land, face a region of interest (DO_SET_ROI_LOCATION: an autopilot yaws the airframe, or points
its gimbal, at the point until DO_SET_ROI_NONE clears it). :meth:`MissionPlan.items` turns it
into MISSION_ITEM_INT fields. An orbit has two forms:
``loiter_turns`` (one NAV_LOITER_TURNS item) and ``ring`` (waypoints on the circle repeated
with DO_JUMP), which every PX4 accepts; the adapter falls back from the first to the second
when a vehicle refuses the upload.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from edge.flight.mavlink_enums import (
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_CMD_DO_JUMP,
    MAV_CMD_DO_SET_ROI_LOCATION,
    MAV_CMD_DO_SET_ROI_NONE,
    MAV_CMD_NAV_LAND,
    MAV_CMD_NAV_LOITER_TIME,
    MAV_CMD_NAV_LOITER_TURNS,
    MAV_CMD_NAV_WAYPOINT,
    MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
    MAV_FRAME_MISSION,
)
from edge.geo import LatLon, bearing_deg, destination

__all__ = [
    "Land",
    "Loiter",
    "LookAhead",
    "LookAt",
    "MissionPlan",
    "Orbit",
    "RawItem",
    "Step",
    "Waypoint",
    "orbit_entry",
]

RING_POINTS = 12


@dataclass(frozen=True)
class Waypoint:
    """Fly to a point at an altitude above home."""

    point: LatLon
    alt_rel_m: float
    speed_mps: float | None = None


@dataclass(frozen=True)
class Orbit:
    """Circle a point, clockwise, for ``turns`` laps (the edge ends it earlier by time)."""

    center: LatLon
    radius_m: float
    alt_rel_m: float
    speed_mps: float
    turns: float = 1.0
    start_deg: float = 0.0


@dataclass(frozen=True)
class Loiter:
    """Hover over a point for ``seconds``."""

    point: LatLon
    alt_rel_m: float
    seconds: float


@dataclass(frozen=True)
class Land:
    """Descend and land on a point."""

    point: LatLon


@dataclass(frozen=True)
class LookAt:
    """From here on, face ``point`` (the region of interest) whatever the path flown."""

    point: LatLon


@dataclass(frozen=True)
class LookAhead:
    """Clear the region of interest: face the way the drone flies again."""


Step = Waypoint | Orbit | Loiter | Land | LookAt | LookAhead


@dataclass(frozen=True)
class RawItem:
    """The fields of one MISSION_ITEM_INT (``seq`` and ``current`` are set at upload)."""

    command: int
    frame: int = MAV_FRAME_MISSION
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    x: int = 0
    y: int = 0
    z: float = 0.0
    autocontinue: int = 1


def _located(command: int, point: LatLon, alt: float, *params: float) -> RawItem:
    p = [*params, 0.0, 0.0, 0.0, 0.0][:4]
    return RawItem(
        command,
        MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
        p[0],
        p[1],
        p[2],
        p[3],
        round(point.lat * 1e7),
        round(point.lon * 1e7),
        float(alt),
    )


def _speed(mps: float) -> RawItem:
    return RawItem(MAV_CMD_DO_CHANGE_SPEED, MAV_FRAME_MISSION, 1.0, float(mps), -1.0)


def orbit_entry(center: LatLon, radius_m: float, coming_from: LatLon) -> LatLon:
    """Where a drone arriving from ``coming_from`` joins the circle: its nearest point."""
    if coming_from == center:
        return destination(center, 0.0, radius_m)
    return destination(center, bearing_deg(center, coming_from), radius_m)


@dataclass(frozen=True)
class MissionPlan:
    """Steps of one mission and how to encode its orbits.

    Args:
        steps: what to fly, in order.
        orbit_style: ``loiter_turns`` or the portable ``ring``.
        acceptance_m: waypoint acceptance radius.
    """

    steps: tuple[Step, ...]
    orbit_style: Literal["loiter_turns", "ring"] = "loiter_turns"
    acceptance_m: float = 5.0

    def with_style(self, style: Literal["loiter_turns", "ring"]) -> MissionPlan:
        """The same steps with another orbit encoding."""
        return replace(self, orbit_style=style)

    @property
    def has_orbit(self) -> bool:
        return any(isinstance(s, Orbit) for s in self.steps)

    def items(self) -> list[RawItem]:
        """The raw items, in upload order."""
        return [item for chunk in self._chunks() for item in chunk]

    def step_start(self, step: int) -> int:
        """Raw index of the first item of step ``step`` (``len(items)`` past the end)."""
        index = 0
        for i, chunk in enumerate(self._chunks()):
            if i == step:
                return index
            index += len(chunk)
        return index

    def step_of(self, raw_index: int) -> int:
        """The step a raw item belongs to (``len(steps)`` once past the last)."""
        index = 0
        for i, chunk in enumerate(self._chunks()):
            index += len(chunk)
            if raw_index < index:
                return i
        return len(self.steps)

    def _chunks(self) -> list[list[RawItem]]:
        chunks: list[list[RawItem]] = []
        speed: float | None = None
        start = 0
        for step in self.steps:
            chunk: list[RawItem] = []
            want = _step_speed(step)
            if want is not None and want != speed:
                chunk.append(_speed(want))
                speed = want
            chunk.extend(self._encode(step, start + len(chunk)))
            chunks.append(chunk)
            start += len(chunk)
        return chunks

    def _encode(self, step: Step, first_index: int) -> list[RawItem]:
        if isinstance(step, Waypoint):
            return [
                _located(
                    MAV_CMD_NAV_WAYPOINT, step.point, step.alt_rel_m, 0.0, self.acceptance_m, 0.0
                )
            ]
        if isinstance(step, Loiter):
            return [_located(MAV_CMD_NAV_LOITER_TIME, step.point, step.alt_rel_m, step.seconds)]
        if isinstance(step, Land):
            return [_located(MAV_CMD_NAV_LAND, step.point, 0.0, 0.0, 0.0, 0.0, math.nan)]
        if isinstance(step, LookAt):
            return [_located(MAV_CMD_DO_SET_ROI_LOCATION, step.point, 0.0)]
        if isinstance(step, LookAhead):
            return [RawItem(MAV_CMD_DO_SET_ROI_NONE)]
        if self.orbit_style == "loiter_turns":
            return [
                _located(
                    MAV_CMD_NAV_LOITER_TURNS,
                    step.center,
                    step.alt_rel_m,
                    step.turns,
                    0.0,
                    step.radius_m,
                )
            ]
        return _ring(step, first_index, self.acceptance_m)


def _step_speed(step: Step) -> float | None:
    if isinstance(step, Waypoint):
        return step.speed_mps
    if isinstance(step, Orbit):
        return step.speed_mps
    return None


def _ring(orbit: Orbit, first_index: int, acceptance_m: float) -> list[RawItem]:
    """An orbit as waypoints on the circle, clockwise, looped with DO_JUMP."""
    points = max(6, min(RING_POINTS, int(2 * math.pi * orbit.radius_m / max(acceptance_m, 1.0))))
    acceptance = min(acceptance_m, orbit.radius_m * math.sin(math.pi / points))
    items = [
        _located(
            MAV_CMD_NAV_WAYPOINT,
            destination(orbit.center, orbit.start_deg + 360.0 * k / points, orbit.radius_m),
            orbit.alt_rel_m,
            0.0,
            acceptance,
            0.0,
        )
        for k in range(points)
    ]
    repeats = max(1, math.ceil(orbit.turns))
    items.append(RawItem(MAV_CMD_DO_JUMP, MAV_FRAME_MISSION, float(first_index), float(repeats)))
    return items
