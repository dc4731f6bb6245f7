"""Energy model of a multicopter sortie: how long each part takes and what it costs the battery.

The edge uses it to refuse a dispatch it cannot fly home from and to call its low-battery
failsafe; dispatch uses it to choose a dock; the sim vehicle drains its battery with the same
power curve. Power rises with the square of airspeed over the hover figure, climbing costs the
potential energy gained through a propulsion efficiency, and wind changes ground speed through
the wind triangle.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from edge.geo import LatLon, bearing_deg, distance_m
from edge.protocol.models import AirframeFigures

__all__ = [
    "Airframe",
    "EnergyModel",
    "Segment",
    "SortieBudget",
    "Wind",
]

GRAVITY = 9.80665


class Airframe(AirframeFigures):
    """An airframe's figures (:class:`~edge.protocol.AirframeFigures`) with its power curve.

    Unknown fields are ignored because the figures also travel inside ``state`` messages;
    configuration files subclass it with ``extra="forbid"``.
    """

    @classmethod
    def of(cls, figures: AirframeFigures) -> Airframe:
        """The airframe with these figures (as published in ``limits`` or configured)."""
        if isinstance(figures, Airframe):
            return figures
        return cls.model_validate(figures.model_dump())

    def power_w(self, airspeed_mps: float, climb_mps: float = 0.0) -> float:
        """Electrical power at a given airspeed and climb rate (descent costs nothing extra)."""
        climb = max(0.0, climb_mps) * self.mass_kg * GRAVITY / self.propulsion_efficiency
        return self.hover_power_w + self.drag_w_per_mps2 * airspeed_mps**2 + climb

    def pct(self, energy_wh: float) -> float:
        """Battery percent that ``energy_wh`` represents."""
        return 100.0 * energy_wh / self.battery_wh


@dataclass(frozen=True)
class Wind:
    """Wind as weather reports give it: speed and the direction it blows from (degrees true)."""

    speed_mps: float = 0.0
    from_deg: float = 0.0

    def components(self, track_deg: float) -> tuple[float, float]:
        """Tail (+) / head (-) and cross components for a ground track, m/s."""
        to_deg = self.from_deg + 180.0
        rel = math.radians(to_deg - track_deg)
        return self.speed_mps * math.cos(rel), self.speed_mps * math.sin(rel)


@dataclass(frozen=True)
class Segment:
    """Time and energy of one part of a sortie."""

    time_s: float
    energy_wh: float

    def __add__(self, other: Segment) -> Segment:
        return Segment(self.time_s + other.time_s, self.energy_wh + other.energy_wh)


ZERO = Segment(0.0, 0.0)
UNFLYABLE = Segment(math.inf, math.inf)


@dataclass(frozen=True)
class SortieBudget:
    """What a whole sortie costs: out (climb + transit), on scene, back (transit + descent)."""

    out: Segment
    on_scene: Segment
    back: Segment
    airframe: Airframe

    @property
    def total(self) -> Segment:
        return self.out + self.on_scene + self.back

    @property
    def needed_pct(self) -> float:
        return self.airframe.pct(self.total.energy_wh)

    @property
    def feasible(self) -> bool:
        return math.isfinite(self.total.energy_wh)


class EnergyModel:
    """Time and energy of the parts of a sortie for one airframe.

    Args:
        airframe: the drone's physical figures (published or configured).
        cruise_mps: airspeed in transit.
        climb_mps: vertical speed up to transit altitude.
        descent_mps: vertical speed down to the dock.
    """

    def __init__(
        self,
        airframe: AirframeFigures,
        *,
        cruise_mps: float = 15.0,
        climb_mps: float = 3.0,
        descent_mps: float = 2.0,
    ) -> None:
        self.airframe = Airframe.of(airframe)
        self.cruise_mps = cruise_mps
        self.climb_mps = climb_mps
        self.descent_mps = descent_mps

    def leg(
        self, a: LatLon, b: LatLon, wind: Wind = Wind(), airspeed: float | None = None
    ) -> Segment:
        """Level flight from ``a`` to ``b``; unflyable when the wind is stronger than the drone."""
        v = airspeed or self.cruise_mps
        d = distance_m(a, b)
        if d < 0.01:
            return ZERO
        tail, cross = wind.components(bearing_deg(a, b))
        if abs(cross) >= v:
            return UNFLYABLE
        ground = math.sqrt(v * v - cross * cross) + tail
        if ground <= 0.1:
            return UNFLYABLE
        t = d / ground
        return Segment(t, self.airframe.power_w(v) * t / 3600.0)

    def path(self, points: Sequence[LatLon], wind: Wind = Wind()) -> Segment:
        """Level flight along a polyline."""
        total = ZERO
        for a, b in itertools.pairwise(points):
            total = total + self.leg(a, b, wind)
        return total

    def climb(self, height_m: float, wind: Wind = Wind()) -> Segment:
        """Vertical climb (positive) or descent (negative), holding position against the wind."""
        if height_m >= 0:
            rate = self.climb_mps
            t = height_m / rate
            return Segment(t, self.airframe.power_w(wind.speed_mps, rate) * t / 3600.0)
        t = -height_m / self.descent_mps
        return Segment(t, self.airframe.power_w(wind.speed_mps) * t / 3600.0)

    def loiter(self, seconds: float, speed_mps: float = 0.0, wind: Wind = Wind()) -> Segment:
        """Orbit at ``speed_mps`` or hold (0) for ``seconds``; worst airspeed on the circle."""
        airspeed = speed_mps + wind.speed_mps
        return Segment(seconds, self.airframe.power_w(airspeed) * seconds / 3600.0)

    def sortie(
        self,
        route_out: Sequence[LatLon],
        *,
        transit_alt_m: float,
        on_scene_s: float,
        on_scene_speed_mps: float = 0.0,
        wind: Wind = Wind(),
        route_back: Sequence[LatLon] | None = None,
    ) -> SortieBudget:
        """Budget of a whole sortie from the dock (``route_out[0]``) to the scene and back.

        Args:
            route_out: dock, any detour points, target.
            transit_alt_m: altitude above home flown in transit and on scene.
            on_scene_s: planned time on scene.
            on_scene_speed_mps: orbit speed, 0 for a hold.
            wind: the wind for every part of the sortie.
            route_back: the way home, by default ``route_out`` reversed.
        """
        back_route = list(route_back) if route_back is not None else list(reversed(route_out))
        out = self.climb(transit_alt_m, wind) + self.path(route_out, wind)
        on_scene = self.loiter(on_scene_s, on_scene_speed_mps, wind)
        back = self.path(back_route, wind) + self.climb(-transit_alt_m, wind)
        return SortieBudget(out, on_scene, back, self.airframe)

    def return_home(
        self, route_home: Sequence[LatLon], alt_rel_m: float, wind: Wind = Wind()
    ) -> Segment:
        """What flying home from the first point of ``route_home`` and landing costs now."""
        return self.path(route_home, wind) + self.climb(-max(0.0, alt_rel_m), wind)
