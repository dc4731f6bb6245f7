"""The sim vehicle's battery: it drains with the shared energy model's power curve.

``edge.energy.Airframe.power_w`` is the one power model of Outrider, so the energy the edge
plans a sortie with is the energy the sim vehicle spends flying it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

from edge.energy import Airframe

__all__ = ["Battery", "ChargeState"]

CELLS = 4
CELL_FULL_V = 4.05  # PX4's BAT1_V_CHARGED
CELL_EMPTY_V = 3.6  # PX4's BAT1_V_EMPTY
IDLE_POWER_SHARE = 0.08  # armed on the ground, props at idle


class ChargeState(IntEnum):
    """MAV_BATTERY_CHARGE_STATE as PX4 reports it."""

    UNDEFINED = 0
    OK = 1
    LOW = 2
    CRITICAL = 3
    EMERGENCY = 4


@dataclass
class Battery:
    """Remaining energy of a battery, drained by :meth:`drain`.

    Args:
        airframe: the shared airframe figures (capacity and power curve).
        remaining_wh: energy left now; full when not given.
    """

    airframe: Airframe
    remaining_wh: float = -1.0
    drain_factor: float = 1.0
    current_a: float = 0.0
    consumed_mah: float = 0.0
    consumed_wh: float = 0.0

    def __post_init__(self) -> None:
        if self.remaining_wh < 0:
            self.remaining_wh = self.airframe.battery_wh

    @property
    def fraction(self) -> float:
        """Charge left, 0..1."""
        return max(0.0, min(1.0, self.remaining_wh / self.airframe.battery_wh))

    @property
    def pct(self) -> float:
        return 100.0 * self.fraction

    @property
    def voltage(self) -> float:
        """Pack voltage under load: a LiPo curve, flat in the middle, steep near empty."""
        f = self.fraction
        cell = CELL_EMPTY_V + (CELL_FULL_V - CELL_EMPTY_V) * (0.15 * f + 0.85 * math.sqrt(f))
        sag = 0.0003 * self.current_a
        return CELLS * max(CELL_EMPTY_V - 0.3, cell - sag)

    def drain(self, dt: float, *, armed: bool, in_air: bool, airspeed: float, climb: float) -> None:
        """Spend ``dt`` simulated seconds of flight at the given airspeed and climb rate."""
        if not armed:
            self.current_a = 0.0
            return
        if in_air:
            power = self.airframe.power_w(airspeed, climb)
        else:
            power = self.airframe.hover_power_w * IDLE_POWER_SHARE
        energy = power * dt / 3600.0 * self.drain_factor
        self.remaining_wh = max(0.0, self.remaining_wh - energy)
        self.consumed_wh += energy
        self.current_a = power * self.drain_factor / max(1.0, self.voltage)
        self.consumed_mah += self.current_a * dt / 3.6

    def set_pct(self, pct: float) -> None:
        """Jump to ``pct`` percent (a sagging or swapped battery)."""
        self.remaining_wh = self.airframe.battery_wh * max(0.0, min(100.0, pct)) / 100.0

    def charge_state(self, low: float, critical: float, emergency: float) -> ChargeState:
        """PX4's warning level for the thresholds BAT_LOW_THR, BAT_CRIT_THR, BAT_EMERGEN_THR."""
        f = self.fraction
        if f <= emergency:
            return ChargeState.EMERGENCY
        if f <= critical:
            return ChargeState.CRITICAL
        if f <= low:
            return ChargeState.LOW
        return ChargeState.OK

    def time_remaining_s(self) -> int:
        """Seconds of hover left at the present rate of drain."""
        power = self.airframe.hover_power_w * self.drain_factor
        return int(self.remaining_wh * 3600.0 / power)
