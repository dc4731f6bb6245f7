"""The hold pattern: hover at a stand-off from the target, the camera on it.

The stand-off is the distance the dock's camera wants (:mod:`edge.patterns.geometry`) unless
the command sets it; the mission makes the target the region of interest, so the airframe
faces it. ``stand_off_m = 0`` hovers right over the target, looking down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, Self

from pydantic import Field

from edge.geo import bearing_deg, destination
from edge.patterns.base import Approach, OnScenePattern

if TYPE_CHECKING:
    from edge.flight.mission import Step
    from edge.protocol.models import Limits

__all__ = ["KEY", "HoldPattern"]

KEY: Final = "hold"


class HoldPattern(OnScenePattern):
    """Hover at ``stand_off_m`` from the target, on the side the drone comes from."""

    pattern: Literal["hold"] = KEY
    stand_off_m: float | None = Field(
        None, ge=0, le=500, title="Distance from the target; from the dock's camera if unset"
    )

    def with_defaults(self, limits: Limits, alt_rel_m: float | None = None) -> Self:
        """The stand-off the dock's camera wants at that altitude when the command gives none."""
        if self.stand_off_m is not None:
            return self
        far = limits.on_scene_stand_off_m if alt_rel_m is None else limits.stand_off_at(alt_rel_m)
        return self.model_copy(update={"stand_off_m": far})

    def within(self, reach_m: float) -> Self:
        """A closer stand-off when this one reaches farther."""
        if (self.stand_off_m or 0.0) <= reach_m:
            return self
        return self.model_copy(update={"stand_off_m": max(0.0, round(reach_m, 1))})

    def airspeed_mps(self) -> float:
        """A hover: no airspeed of its own (the energy model adds the wind)."""
        return 0.0

    def reach_m(self) -> float:
        """The stand-off: the drone is on scene once it hovers there."""
        return self.stand_off_m or 0.0

    def reach_at_most_m(self, dock_default_m: float) -> float:
        """The stand-off given, else the dock's."""
        return dock_default_m if self.stand_off_m is None else self.stand_off_m

    def steps(self, approach: Approach) -> list[Step]:
        """Fly to the stand-off point on the near side of the target, then hover there."""
        from edge.flight.mission import Loiter, Waypoint  # flight code: not at import

        a = approach
        spot = a.target
        if self.stand_off_m and a.coming_from != a.target:
            spot = destination(a.target, bearing_deg(a.target, a.coming_from), self.stand_off_m)
        return [
            Waypoint(spot, a.alt_rel_m, a.cruise_mps),
            Loiter(spot, a.alt_rel_m, a.linger_s),
        ]
