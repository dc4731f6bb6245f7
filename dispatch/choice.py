"""Choice of dock: which docks can take a mission, and which gets there first.

A dock can go when it is online, not stale, ready, idle, and the shared feasibility model
(:mod:`edge.feasibility`, the same one the edge's preflight runs) says, from the ``limits``,
home, wind and battery the dock publishes, that it can fly out around the no-fly zones, under
its ceiling, stay the requested time and come back with its reserve. So dispatch never sends
a command the edge's own model would refuse from the state it published. Among those, the
least ETA (launch overhead + climb + transit) wins.

Screening is vectorised over the fleet's column arrays, then docks are assessed exactly in
order of a lower bound of their ETA, stopping as soon as no later dock can beat the best
``k`` found; so choosing among ten thousand docks assesses only a handful.

A mission no dock can fly *now* may still be one a dock could fly *once ready*: back from its
sortie, charged and with its lid shut. :meth:`Chooser.later` asks the same model that question
(busy, not ready and the charge left aside, a full battery assumed; range, zones, ceiling,
wind and the energy of the sortie still counting), so dispatch can queue the incident instead
of refusing it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from dispatch.fleet import AIRBORNE_PHASES, IDLE_PHASES, DockView, Fleet, Floats
from dispatch.service_errors import DockReason
from edge.airspace import NoFlyZone, blocked_by
from edge.energy import Wind
from edge.feasibility import DockFigures, SortiePlan, assess, fail, ordered, request_for
from edge.geo import EARTH_RADIUS_M, LatLon
from edge.patterns.registry import OnScene, dispatch_on_scene
from edge.protocol import AckCode, Availability, Phase, Reason, State

__all__ = ["FULL_PCT", "Chooser", "Mission", "Option"]

FULL_PCT = 100.0
"""The charge a dock is assumed to have once ready again (:meth:`Chooser.later`)."""
WAITED_OUT = frozenset({AckCode.BUSY.value, AckCode.BATTERY_LOW.value})
"""Reasons a dock gives for not being ready that waiting cures (its sortie, its charge)."""
LID_MOVING = frozenset({"opening", "closing"})


@dataclass(frozen=True)
class Mission:
    """What an incident asks of a drone.

    Attributes:
        target: where to go.
        on_scene_s: time on scene.
        pattern: what to do there (its own ``duration_s`` gives way to ``on_scene_s``);
            dispatch's default pattern when unset.
        alt_rel_m: altitude above the dock; each dock's transit altitude when unset.
    """

    target: LatLon
    on_scene_s: float
    pattern: OnScene | None = None
    alt_rel_m: float | None = None

    @cached_property
    def on_scene(self) -> OnScene:
        """The ``on_scene`` body the dispatch command carries."""
        scene = self.pattern or dispatch_on_scene()
        return scene.model_copy(update={"duration_s": self.on_scene_s})


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
    plan: SortiePlan | None = field(default=None, compare=False, repr=False)


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
        margin_m: clearance kept from every zone by docks that do not publish their own.
    """

    def __init__(self, fleet: Fleet, zones: Sequence[NoFlyZone] = (), margin_m: float = 30.0):
        self.fleet = fleet
        self.zones = list(zones)
        self.margin_m = margin_m

    def _unavailable(self, view: DockView, *, when_ready: bool = False) -> DockReason | None:
        """Why dispatch cannot consider this dock at all (before asking the model); a busy
        dock counts only now, not ``when_ready``."""
        if view.online is Availability.OFFLINE:
            return DockReason(view.dock_id, "offline", "dock reports offline")
        stale = view.stale_reason(self.fleet.clock(), self.fleet.stale_after_s)
        if stale:
            return DockReason(view.dock_id, "stale", stale)
        s = view.state
        if s is None:
            return DockReason(view.dock_id, "no_state", "dock has published no state")
        if not when_ready and (s.sortie_id is not None or s.phase in AIRBORNE_PHASES):
            return DockReason(
                view.dock_id, AckCode.BUSY, f"on sortie {s.sortie_id or '?'} ({s.phase.value})"
            )
        if s.limits is None:
            return DockReason(view.dock_id, "no_limits", "dock has not published its limits")
        return None

    @staticmethod
    def _not_ready(state: State, battery_pct: float | None) -> list[Reason]:
        """What the dock publishes about itself that stops a launch (edge-only checks)."""
        failures = []
        if not state.ready or state.phase not in IDLE_PHASES:
            why = "; ".join(r.reason for r in state.not_ready) or f"phase {state.phase.value}"
            failures.append(fail(AckCode.DOCK_NOT_READY, f"not ready: {why}"))
        if battery_pct is None:
            failures.append(fail(AckCode.BATTERY_LOW, "battery level unknown"))
        return failures

    def assess(
        self, view: DockView, mission: Mission, *, when_ready: bool = False
    ) -> Option | DockReason:
        """Whether one dock can fly the mission: its option, or the coded reason it cannot.

        Args:
            view: the dock.
            mission: the mission.
            when_ready: judge the dock as it will be once back, charged and ready (its
                sortie, readiness and charge left aside; a full battery assumed).
        """
        refusal = self._unavailable(view, when_ready=when_ready)
        if refusal is not None:
            return refusal
        s = view.state
        assert s is not None and s.limits is not None
        lim = s.limits
        battery = FULL_PCT if when_ready else view.battery_pct
        dock = DockFigures(
            limits=lim,
            home=LatLon(s.home.lat, s.home.lon),
            wind=Wind(s.dock.wind_mps or 0.0, s.dock.wind_from_deg or 0.0),
            battery_pct=battery,
            margin_m=self.margin_m if lim.airspace_margin_m is None else lim.airspace_margin_m,
        )
        req = request_for(lim, None, mission.target, mission.alt_rel_m, mission.on_scene)
        verdict = assess(dock, self.zones, req)
        edge_only = [] if when_ready else self._not_ready(s, battery)
        failures = ordered(verdict.failures + edge_only)
        if failures or verdict.plan is None or battery is None:
            return DockReason(view.dock_id, failures[0].code, "; ".join(r.reason for r in failures))
        plan = verdict.plan
        return Option(
            view.dock_id,
            lim.launch_overhead_s + plan.to_scene_s,
            plan.distance_m,
            plan.route_m,
            plan.needed_pct,
            battery,
            req.alt_rel_m,
            plan,
        )

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
        # The drone is on scene where its pattern starts, up to the pattern's reach short of
        # the target: the bound leaves the farthest reach this dock could give it uncounted.
        given = mission.on_scene.reach_at_most_m(math.inf)  # inf: each dock's own
        reach = fleet.stand_off_ub_m[idx] if math.isinf(given) else given
        to_go = np.maximum(dist[idx] - reach, 0.0)
        bound = fleet.overhead_s[idx] + climb + to_go / fleet.speed_ub[idx]
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

    @staticmethod
    def waits_out(view: DockView) -> bool:
        """Whether what keeps the dock from going now is what waiting cures: a sortie it is
        flying (or preparing), its charge, its lid moving; not a fault (no vehicle, a failsafe,
        no wind reading), for which no wait can be told."""
        s = view.state
        if s is None or s.phase in (Phase.ABORTED, Phase.FAILSAFE) or view.battery_pct is None:
            return False  # battery unknown: no vehicle heard from
        if s.sortie_id is not None or s.phase in AIRBORNE_PHASES:
            return True
        codes = {r.code for r in s.not_ready}
        cured = WAITED_OUT | ({AckCode.DOCK_NOT_READY.value} if s.dock.lid in LID_MOVING else set())
        return codes <= cured

    def later(self, mission: Mission) -> list[Option]:
        """The docks that could fly the mission once back, charged and ready, least ETA first
        (none: refuse). Only docks that waiting cures count (:meth:`waits_out`)."""
        if blocked_by(mission.target, self.zones) is not None:
            return []
        found = [
            self.assess(view, mission, when_ready=True)
            for view in self.fleet
            if self.waits_out(view)
        ]
        options = [o for o in found if isinstance(o, Option)]
        return sorted(options, key=lambda o: (o.eta_s, o.dock_id))

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
