"""The faults a sim vehicle has now: when each began and ends, and what it does meanwhile."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from sim.vehicle.faults import Fault, FaultKind
from sim.vehicle.state import VehicleState

__all__ = ["FaultState"]

logger = logging.getLogger(__name__)


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
