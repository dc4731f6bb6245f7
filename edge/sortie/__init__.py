"""The sortie: its state machine and the flight script that drives it."""

from edge.sortie.machine import AIRBORNE, MILESTONES, TRANSITIONS, SortieMachine, TransitionError

__all__ = ["AIRBORNE", "MILESTONES", "TRANSITIONS", "SortieMachine", "TransitionError"]
