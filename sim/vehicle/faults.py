"""Faults the sim vehicle can be given, at start or while it runs: parsing, timing and effect.

A fault is written on the command line as ``KIND[:ARG][,key=value...]``::

    link_loss:5                  MAVLink silent both ways for 5 s
    link_loss:seconds=20,after=30
    gps_loss                     no GPS fix until cleared (gps_loss:10 for 10 s)
    battery_sag:to=12            battery drops to 12 %
    battery_sag:drain=4          battery drains four times faster
    refuse_arm                   every arm command is refused

:class:`FaultState` holds the faults a running vehicle has and applies them as their time
comes: a lost GPS clears the state's fix, a battery sag changes the battery, a lost link and a
refused arm are asked for by the link and the arming checks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edge.errors import ConfigError
from sim.vehicle.autopilot.vehicle_state import VehicleState

__all__ = ["Fault", "FaultKind", "FaultState", "parse_fault"]

logger = logging.getLogger(__name__)


class FaultKind(StrEnum):
    """The kinds of fault."""

    LINK_LOSS = "link_loss"
    GPS_LOSS = "gps_loss"
    BATTERY_SAG = "battery_sag"
    REFUSE_ARM = "refuse_arm"


class Fault(BaseModel):
    """One fault to inject.

    ``seconds`` is how long it lasts in wall-clock seconds (``None``: until cleared; a link loss
    defaults to 10 s), ``after_s`` how long after start or injection it begins.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    kind: FaultKind
    seconds: float | None = Field(None, gt=0, le=86_400)
    after_s: float = Field(0.0, ge=0, le=86_400)
    to_pct: float | None = Field(None, ge=0, le=100)
    drain_factor: float | None = Field(None, gt=0, le=1000)
    reason: str = Field("Arming denied by the pre-arm checks", max_length=40)

    @model_validator(mode="after")
    def _check(self) -> Fault:
        if self.kind is FaultKind.BATTERY_SAG and self.to_pct is None and self.drain_factor is None:
            raise ValueError("battery_sag needs to=PCT or drain=FACTOR")
        return self

    @property
    def duration_s(self) -> float:
        """How long the fault lasts, ``inf`` until cleared."""
        if self.seconds is not None:
            return self.seconds
        return 10.0 if self.kind is FaultKind.LINK_LOSS else math.inf


_KEYS = {
    "seconds": "seconds",
    "s": "seconds",
    "after": "after_s",
    "to": "to_pct",
    "drain": "drain_factor",
    "reason": "reason",
}


def parse_fault(text: str) -> Fault:
    """Parse ``KIND[:ARG][,key=value...]`` (see the module docstring).

    Raises:
        ConfigError: unknown kind or key, or a value out of range.
    """
    kind, _, rest = text.strip().partition(":")
    fields: dict[str, object] = {"kind": kind.strip()}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            key, value = "seconds", part
        if key.strip() not in _KEYS:
            raise ConfigError(f"fault {text!r}: unknown key {key!r}", code="invalid_fault")
        fields[_KEYS[key.strip()]] = value.strip()
    try:
        return Fault.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "fault"
        raise ConfigError(f"fault {text!r}: {where}: {first['msg']}", code="invalid_fault") from exc


@dataclass
class _Active:
    fault: Fault
    starts: float
    ends: float
    applied: bool = False


class FaultState:
    """Injected faults, applied to the vehicle as their time comes.

    Args:
        state: the vehicle's shared state (GPS flag and battery are changed here).
        wall: the wall clock; fault times are wall-clock seconds.
    """

    def __init__(self, state: VehicleState, wall: Callable[[], float]) -> None:
        self.s = state
        self.wall = wall
        self._faults: list[_Active] = []

    def inject(self, fault: Fault) -> None:
        """Schedule ``fault`` to begin after its ``after_s``."""
        starts = self.wall() + fault.after_s
        self._faults.append(_Active(fault, starts, starts + fault.duration_s))
        logger.info("fault %s injected", fault.kind.value)
        self.tick(self.wall())

    def clear(self, kind: FaultKind | None = None) -> int:
        """End faults of ``kind`` (all when ``None``); returns how many ended."""
        ended = [a for a in self._faults if kind is None or a.fault.kind is kind]
        self._faults = [a for a in self._faults if a not in ended]
        if any(a.fault.kind is FaultKind.BATTERY_SAG for a in ended):
            self.s.battery.drain_factor = 1.0
        self._apply_gps()
        return len(ended)

    def tick(self, now: float) -> None:
        """Start faults whose time has come and drop those that are over."""
        keep = []
        for active in self._faults:
            fault = active.fault
            sag = fault.kind is FaultKind.BATTERY_SAG
            if sag and active.starts <= now:
                if fault.to_pct is not None and not active.applied:
                    self.s.battery.set_pct(min(fault.to_pct, self.s.battery.pct))
                    active.applied = True
                if fault.drain_factor is not None:
                    self.s.battery.drain_factor = fault.drain_factor
            one_shot_done = sag and fault.drain_factor is None and active.applied
            if active.ends <= now or one_shot_done:
                if sag and fault.drain_factor is not None:
                    self.s.battery.drain_factor = 1.0
                continue
            keep.append(active)
        self._faults = keep
        self._apply_gps()

    def _now_active(self, kind: FaultKind) -> _Active | None:
        now = self.wall()
        return next(
            (a for a in self._faults if a.fault.kind is kind and a.starts <= now < a.ends), None
        )

    def _apply_gps(self) -> None:
        self.s.gps_ok = self._now_active(FaultKind.GPS_LOSS) is None

    def link_down(self) -> bool:
        return self._now_active(FaultKind.LINK_LOSS) is not None

    def arm_refusal(self) -> str | None:
        active = self._now_active(FaultKind.REFUSE_ARM)
        return active.fault.reason if active else None

    def active(self) -> list[dict[str, object]]:
        """The faults in force or still to come, for the ground-truth snapshot."""
        now = self.wall()
        return [
            {
                "kind": a.fault.kind.value,
                "active": a.starts <= now < a.ends,
                "ends_in_s": a.ends - now if math.isfinite(a.ends) else None,
            }
            for a in self._faults
        ]
