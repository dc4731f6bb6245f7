"""The orbit pattern: circle the target at a radius and speed, the camera turned inwards."""

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
    radius_m: float = Field(40.0, ge=5, le=500)
    speed_mps: float | None = Field(None, gt=0, le=30, title="Orbit speed; edge default if unset")

    def with_defaults(self, limits: Limits) -> Self:
        """The orbit speed the dock publishes when the command gives none."""
        if self.speed_mps is not None:
            return self
        return self.model_copy(update={"speed_mps": limits.orbit_speed_mps})

    def airspeed_mps(self) -> float:
        """The orbit speed."""
        return self.speed_mps or 0.0

    def reach_m(self) -> float:
        """The radius: the drone is on scene once it is on the circle."""
        return self.radius_m

    def steps(self, approach: Approach) -> list[Step]:
        """Fly to the nearest point of the circle, then enough laps to outlast the scene."""
        from edge.flight.mission import Orbit, Waypoint, orbit_entry  # flight code: not at import

        a = approach
        speed = self.speed_mps or a.cruise_mps
        entry = orbit_entry(a.target, self.radius_m, a.coming_from)
        laps = a.linger_s * speed / (2 * math.pi * self.radius_m)
        return [
            Waypoint(entry, a.alt_rel_m, a.cruise_mps),
            Orbit(
                a.target,
                self.radius_m,
                a.alt_rel_m,
                speed,
                turns=max(1.0, math.ceil(laps)),
                start_deg=bearing_deg(a.target, entry),
            ),
        ]

    @classmethod
    def dispatch_default(cls) -> Self:
        """Dispatch's orbit: 40 m radius at 5 m/s."""
        return cls(speed_mps=DISPATCH_SPEED_MPS)
