"""What can change a sortie in flight: interrupts from commands and from the edge's failsafes.

Commands (retask, recall, abort) and failsafes never fly the vehicle: they hand the runner
one of these, and the runner takes them one at a time and decides what comes next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from edge.feasibility import SortiePlan

__all__ = ["Abort", "Failsafe", "Interrupt", "LinkLost", "Recall", "Retask"]


@dataclass(frozen=True)
class Retask:
    """Fly to a new target (already checked by preflight)."""

    plan: SortiePlan


@dataclass(frozen=True)
class Recall:
    """Go home now."""


@dataclass(frozen=True)
class Abort:
    """Stop the sortie: hover, land where it is, or return."""

    action: Literal["hold", "land_now", "rtl"]


@dataclass(frozen=True)
class Failsafe:
    """One of the edge's failsafes fired."""

    reason: str
    action: Literal["return", "land"] = "return"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LinkLost:
    """No MAVLink from the vehicle for longer than the configured silence."""

    silent_s: float


Interrupt = Retask | Recall | Abort | Failsafe | LinkLost
