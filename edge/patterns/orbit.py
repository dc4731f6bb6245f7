"""The orbit pattern: circle the target at a radius and speed, the camera turned inwards.

Unless the command sets it, the radius is the stand-off the dock's camera wants
(:mod:`edge.patterns.geometry`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar, Final, Literal, Self

from pydantic import Field

from edge.geo import bearing_deg
from edge.patterns.base import Approach, OnScenePattern

if TYPE_CHECKING:
    from edge.flight.mission import Step
    from edge.protocol.models import Limits

__all__ = ["DISPATCH_SPEED_MPS", "KEY", "OrbitPattern"]

KEY: Final = "orbit"
DISPATCH_SPEED_MPS = 5.0


class OrbitPattern(OnScenePattern):
    """Orbit the target, clockwise, at ``radius_m``; the default pattern."""

    default: ClassVar[bool] = True

    pattern: Literal["orbit"] = KEY
    radius_m: float | None = Field(
        None, ge=5, le=500, title="Orbit radius; from the dock's camera if unset"
    )
    speed_mps: float | None = Field(None, gt=0, le=30, title="Orbit speed; edge default if unset")

    def with_defaults(self, limits: Limits, alt_rel_m: float | None = None) -> Self:
        """The orbit speed the dock publishes and the radius its camera wants at that altitude
        (the stand-off, :mod:`edge.patterns.geometry`) when the command gives none."""
        update: dict[str, float] = {}
        if self.speed_mps is None:
            update["speed_mps"] = limits.orbit_speed_mps
        if self.radius_m is None:
            update["radius_m"] = (
                limits.on_scene_stand_off_m if alt_rel_m is None else limits.stand_off_at(alt_rel_m)
            )
        return self.model_copy(update=update) if update else self

    def within(self, reach_m: float) -> Self:
        """A tighter circle when the radius reaches farther (5 m at the least)."""
        if self.radius <= reach_m:
            return self
        return self.model_copy(update={"radius_m": max(5.0, round(reach_m, 1))})

    @property
    def radius(self) -> float:
        """The radius, the stand-off of a dock without a camera before defaults are filled in."""
        from edge.patterns.geometry import DEFAULT_STAND_OFF_M

        return self.radius_m if self.radius_m is not None else DEFAULT_STAND_OFF_M

    def airspeed_mps(self) -> float:
        """The orbit speed."""
        return self.speed_mps or 0.0

    def reach_m(self) -> float:
        """The radius: the drone is on scene once it is on the circle."""
        return self.radius

    def reach_at_most_m(self, dock_default_m: float) -> float:
        """The radius given, else the dock's."""
        return dock_default_m if self.radius_m is None else self.radius_m

    def steps(self, approach: Approach) -> list[Step]:
        """Fly to the nearest point of the circle, then enough laps to outlast the scene."""
        from edge.flight.mission import Orbit, Waypoint, orbit_entry  # flight code: not at import

        a = approach
        speed = self.speed_mps or a.cruise_mps
        radius = self.radius
        entry = orbit_entry(a.target, radius, a.coming_from)
        laps = a.linger_s * speed / (2 * math.pi * radius)
        return [
            Waypoint(entry, a.alt_rel_m, a.cruise_mps),
            Orbit(
                a.target,
                radius,
                a.alt_rel_m,
                speed,
                turns=max(1.0, math.ceil(laps)),
                start_deg=bearing_deg(a.target, entry),
            ),
        ]

    @classmethod
    def dispatch_default(cls) -> Self:
        """Dispatch's orbit: 5 m/s, at the radius the dock's camera wants."""
        return cls(speed_mps=DISPATCH_SPEED_MPS)
