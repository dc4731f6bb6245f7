"""Faults the sim vehicle can be given, at start or while it runs, and their parsing.

A fault is written on the command line as ``KIND[:ARG][,key=value...]``::

    link_loss:5                  MAVLink silent both ways for 5 s
    link_loss:seconds=20,after=30
    gps_loss                     no GPS fix until cleared (gps_loss:10 for 10 s)
    battery_sag:to=12            battery drops to 12 %
    battery_sag:drain=4          battery drains four times faster
    refuse_arm                   every arm command is refused
"""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edge.errors import ConfigError

__all__ = ["Fault", "FaultKind", "parse_fault"]


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
