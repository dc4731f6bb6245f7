"""The on-scene pattern contract: the wire fields every pattern shares and what each must say."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from edge.geo import LatLon

if TYPE_CHECKING:  # the wire contract imports this module: no flight code at run time
    from edge.flight.mission import Step
    from edge.protocol.models import Limits

__all__ = ["Approach", "OnScenePattern"]


@dataclass(frozen=True)
class Approach:
    """What the planner knows as the drone comes on scene, for a pattern to plan its steps.

    Attributes:
        target: the point of interest.
        alt_rel_m: altitude above home flown on scene.
        coming_from: the last point flown before the scene (where the drone arrives from).
        cruise_mps: transit airspeed, for the steps that bring the drone into the pattern.
        linger_s: the shortest time the pattern's last step must be able to last (the
            on-scene time plus slack: the edge ends the pattern by its own timer).
    """

    target: LatLon
    alt_rel_m: float
    coming_from: LatLon
    cruise_mps: float
    linger_s: float


class OnScenePattern(BaseModel, abc.ABC):
    """The ``on_scene`` body of a command: which pattern, for how long, and the pattern's fields.

    Subclasses set ``pattern: Literal[KEY] = KEY`` and add their own fields. The model is
    frozen, ignores unknown fields and refuses NaN and infinity, like every part of the
    contract.
    """

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)

    default: ClassVar[bool] = False
    """The pattern a command that names none gets (exactly one pattern sets this)."""

    pattern: str
    duration_s: float = Field(300.0, ge=0, le=4 * 3600, title="Time on scene, s")

    def with_defaults(self, limits: Limits, alt_rel_m: float | None = None) -> Self:
        """This pattern with the dock's defaults (from its published ``limits``) filled in, for
        the altitude flown on scene (the camera's, ``limits.on_scene_alt_rel_m``, if None)."""
        return self

    @abc.abstractmethod
    def airspeed_mps(self) -> float:
        """Airspeed on scene in still air, for the energy model (0 for a hover)."""

    def reach_m(self) -> float:
        """How far from the target the pattern flies: the pilot's arrival counts from there."""
        return 0.0

    def reach_at_most_m(self, dock_default_m: float) -> float:
        """The farthest :meth:`reach_m` can be once a dock fills in its defaults, when the
        dock's own default reaches ``dock_default_m`` at most (a bound for ranking docks)."""
        return 0.0

    def within(self, reach_m: float) -> Self:
        """This pattern flown no farther than ``reach_m`` from the target (to keep clear of a
        no-fly zone); patterns that stay over the target are unchanged."""
        return self

    @abc.abstractmethod
    def steps(self, approach: Approach) -> list[Step]:
        """The mission steps from the end of the transit: into the pattern, then the pattern.

        The last step is the pattern itself: the drone is on scene once it starts.
        """

    @classmethod
    def dispatch_default(cls) -> Self:
        """What dispatch sends for this pattern unless configured otherwise."""
        return cls.model_validate({})
