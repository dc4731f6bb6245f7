"""Choice of dock: which docks can take a mission, and which gets there first.

A dock can go when it is online, not stale, ready, idle, within its range of the target, has
a route around the no-fly zones, and — by the edge's own energy model and the ``Limits`` it
publishes — can fly out, stay the requested time and come back with its reserve. Among
those, the least ETA (launch overhead + climb + transit) wins.

Screening is vectorised over the fleet's column arrays, then docks are assessed exactly in
order of a lower bound of their ETA, stopping as soon as no later dock can beat the best
``k`` found; so choosing among ten thousand docks assesses only a handful.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dispatch.fleet import AIRBORNE_PHASES, IDLE_PHASES, DockView, Fleet, Floats
from dispatch.service_errors import DockReason
from edge.airspace import NoFlyZone, blocked_by, plan_route
from edge.energy import EnergyModel, Wind
from edge.geo import EARTH_RADIUS_M, LatLon, distance_m
from edge.protocol import AckCode, Availability

__all__ = ["Chooser", "Mission", "Option"]


@dataclass(frozen=True)
class Mission:
    """What an incident asks of a drone."""

    target: LatLon
    on_scene_s: float
    orbit_speed_mps: float = 5.0
    alt_rel_m: float | None = None


@dataclass(frozen=True)
class Option:
    """A dock that can fly the mission, and its figures."""

    dock_id: str
    eta_s: float
    distance_m: float
    route_m: float
    needed_pct: float
    battery_pct: float
    alt_rel_m: float


def _km(m: float) -> str:
    return f"{m / 1000:.1f} km"


def distances_m(target: LatLon, lats: Floats, lons: Floats) -> Floats:
    """Haversine distances from ``target`` to many points (the formula of ``edge.geo``)."""
    la1 = math.radians(target.lat)
    la2 = np.radians(lats)
    dlo = np.radians(lons - target.lon)
    h = np.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * np.cos(la2) * np.sin(dlo / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(1.0, h))))


class Chooser:
    """Assess docks for a mission and rank them.

    Args:
        fleet: the live fleet.
        zones: no-fly zones.
        margin_m: clearance kept from every zone.
    """

    def __init__(self, fleet: Fleet, zones: Sequence[NoFlyZone] = (), margin_m: float = 30.0):
        self.fleet = fleet
        self.zones = list(zones)
        self.margin_m = margin_m

    def _readiness(self, view: DockView) -> DockReason | None:
        if view.online is Availability.OFFLINE:
            return DockReason(view.dock_id, "offline", "dock reports offline")
        stale = view.stale_reason(self.fleet.clock(), self.fleet.stale_after_s)
        if stale:
            return DockReason(view.dock_id, "stale", stale)
        s = view.state
        if s is None:
            return DockReason(view.dock_id, "no_state", "dock has published no state")
        if s.sortie_id is not None or s.phase in AIRBORNE_PHASES:
            return DockReason(
                view.dock_id, AckCode.BUSY, f"on sortie {s.sortie_id or '?'} ({s.phase.value})"
            )
        if not s.ready or s.phase not in IDLE_PHASES:
            why = "; ".join(r.reason for r in s.not_ready) or f"phase {s.phase.value}"
            return DockReason(view.dock_id, AckCode.DOCK_NOT_READY, f"not ready: {why}")
        if s.limits is None:
            return DockReason(view.dock_id, "no_limits", "dock has not published its limits")
        return None

    def assess(self, view: DockView, mission: Mission) -> Option | DockReason:
        """Whether one dock can fly the mission: its option, or the coded reason it cannot."""
        refusal = self._readiness(view)
        if refusal is not None:
            return refusal
        s = view.state
        assert s is not None and s.limits is not None
        lim = s.limits
        wind = Wind(s.dock.wind_mps or 0.0, s.dock.wind_from_deg or 0.0)
        if wind.speed_mps > lim.wind_limit_mps:
            return DockReason(
                view.dock_id,
                AckCode.WIND_HIGH,
                f"wind {wind.speed_mps:.1f} m/s; limit {lim.wind_limit_mps:g}",
            )
        alt = mission.alt_rel_m or lim.transit_alt_m
        if alt > lim.ceiling_m:
            return DockReason(
                view.dock_id,
                AckCode.ABOVE_CEILING,
                f"altitude {alt:g} m; ceiling {lim.ceiling_m:g}",
            )
        home = LatLon(s.home.lat, s.home.lon)
        dist = distance_m(home, mission.target)
        if dist > lim.max_range_m:
            return DockReason(
                view.dock_id,
                AckCode.OUT_OF_RANGE,
                f"target is {_km(dist)} away; limit {_km(lim.max_range_m)}",
            )
        zone = blocked_by(mission.target, self.zones)
        if zone is not None:
            return DockReason(
                view.dock_id, AckCode.NO_FLY, f"target lies in no-fly zone {zone.name}"
            )
        route = plan_route(home, mission.target, self.zones, margin_m=self.margin_m)
        if route is None:
            return DockReason(view.dock_id, AckCode.NO_FLY, "no route around the no-fly zones")
        route_m = sum(distance_m(a, b) for a, b in itertools.pairwise(route))
        if route_m > lim.max_range_m:
            return DockReason(
                view.dock_id,
                AckCode.OUT_OF_RANGE,
                f"route around no-fly zones is {_km(route_m)}; limit {_km(lim.max_range_m)}",
            )
        return self._energy(view, mission, route, alt, wind, dist, route_m)

    @staticmethod
    def _energy(
        view: DockView,
        mission: Mission,
        route: list[LatLon],
        alt: float,
        wind: Wind,
        dist: float,
        route_m: float,
    ) -> Option | DockReason:
        """Out, on scene and back with the reserve, by the edge's energy model."""
        assert view.state is not None and view.state.limits is not None
        lim = view.state.limits
        model = EnergyModel(
            lim.airframe,
            cruise_mps=lim.cruise_mps,
            climb_mps=lim.climb_mps,
            descent_mps=lim.descent_mps,
        )
        budget = model.sortie(
            route,
            transit_alt_m=alt,
            on_scene_s=mission.on_scene_s,
            on_scene_speed_mps=mission.orbit_speed_mps,
            wind=wind,
        )
        if not budget.feasible:
            return DockReason(view.dock_id, AckCode.WIND_HIGH, "wind too strong to fly the route")
        battery = view.battery_pct
        if battery is None:
            return DockReason(view.dock_id, AckCode.BATTERY_LOW, "battery level unknown")
        need = budget.needed_pct
        if need + lim.reserve_pct > battery:
            return DockReason(
                view.dock_id,
                AckCode.BATTERY_LOW,
                f"sortie needs {need:.0f}% + {lim.reserve_pct:g}% reserve; battery {battery:.0f}%",
            )
        eta = lim.launch_overhead_s + budget.out.time_s
        return Option(view.dock_id, eta, dist, route_m, need, battery, alt)

    def choose(
        self, mission: Mission, *, k: int = 1, exclude: Mapping[str, object] | None = None
    ) -> list[Option]:
        """The best ``k`` docks for the mission, least ETA first (may be fewer, or none)."""
        fleet, n = self.fleet, len(self.fleet)
        if n == 0 or blocked_by(mission.target, self.zones) is not None:
            return []
        exclude = exclude or {}
        dist = distances_m(mission.target, fleet.home_lat[:n], fleet.home_lon[:n])
        mask = fleet.eligible[:n] & ~fleet.stale_mask() & (dist <= fleet.range_m[:n] + 1.0)
        idx = np.flatnonzero(mask)
        alt = mission.alt_rel_m if mission.alt_rel_m else fleet.transit_alt_m[idx]
        climb = alt / fleet.climb_mps[idx]
        bound = fleet.overhead_s[idx] + climb + dist[idx] / fleet.speed_ub[idx]
        order = np.argsort(bound, kind="stable")
        best: list[Option] = []
        for i, lower in zip(idx[order].tolist(), bound[order].tolist(), strict=True):
            if len(best) >= k and lower > best[-1].eta_s:
                break
            view = fleet.at(i)
            if view.dock_id in exclude:
                continue
            result = self.assess(view, mission)
            if isinstance(result, Option):
                bisect.insort(best, result, key=lambda o: (o.eta_s, o.dock_id))
                del best[k:]
        return best

    def reasons(
        self, mission: Mission, known: Mapping[str, DockReason] | None = None
    ) -> list[DockReason]:
        """Why each dock of the fleet is not going, by dock id; ``known`` reasons win."""
        known = known or {}
        out = []
        for view in sorted(self.fleet, key=lambda v: v.dock_id):
            if view.dock_id in known:
                out.append(known[view.dock_id])
                continue
            result = self.assess(view, mission)
            if isinstance(result, Option):
                result = DockReason(
                    view.dock_id, "not_tried", f"could go (ETA {result.eta_s:.0f} s), not tried"
                )
            out.append(result)
        return out
