"""The hold pattern: hover over the target, the camera looking down on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from edge.patterns.base import Approach, OnScenePattern

if TYPE_CHECKING:
    from edge.flight.mission import Step

__all__ = ["KEY", "HoldPattern"]

KEY: Final = "hold"


class HoldPattern(OnScenePattern):
    """Hover over the target for the time on scene."""

    pattern: Literal["hold"] = KEY

    def airspeed_mps(self) -> float:
        """A hover: no airspeed of its own (the energy model adds the wind)."""
        return 0.0

    def steps(self, approach: Approach) -> list[Step]:
        """Fly over the target, then hover there."""
        from edge.flight.mission import Loiter, Waypoint  # flight code: not at import

        a = approach
        return [
            Waypoint(a.target, a.alt_rel_m, a.cruise_mps),
            Loiter(a.target, a.alt_rel_m, a.linger_s),
        ]
