"""The expected wait of queued incidents: when will a dock that could take each be free.

An estimate from what dispatch sees of each dock, not a promise: a dock out on a sortie is
free once it has flown the rest of it (to the scene, the time left there, home at cruise
speed, down to the pad), then charged until it counts as ready (the ``ready_pct`` it
publishes) and to what the queued mission needs plus its reserve, at the rate its charge was
seen rising. The queue is served in order, each incident taking the
dock free first among those that could fly it; that dock is then busy with it for the whole
sortie and the recharge after it. Unknown where the figures are (no charge rate seen yet).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dispatch.choice import Option
from dispatch.fleet import AIRBORNE_PHASES, DockView, Fleet
from dispatch.models import IncidentRecord, IncidentStatus
from edge.geo import LatLon, distance_m
from edge.protocol import Phase

__all__ = ["Waiting", "expected_waits", "scene_left_s"]

BEFORE_SCENE = frozenset(
    {IncidentStatus.DISPATCHED, IncidentStatus.LAUNCHING, IncidentStatus.EN_ROUTE}
)


@dataclass(frozen=True)
class Waiting:
    """One queued incident and the docks that could fly it once ready (best first)."""

    incident: IncidentRecord
    options: Sequence[Option]


def scene_left_s(incident: IncidentRecord | None, now: datetime) -> float:
    """Time the incident's drone still has to stay on scene (all of it before arriving)."""
    if incident is None:
        return 0.0
    if incident.status in BEFORE_SCENE:
        return incident.on_scene_s
    if incident.status is IncidentStatus.ON_SCENE:
        return max(0.0, incident.on_scene_s - (now - incident.updated_at).total_seconds())
    return 0.0


def _flight_left_s(view: DockView, scene_s: float) -> float | None:
    """Until the dock's drone is back on its pad (0 when it is not out)."""
    s, tel = view.state, view.telemetry
    if s is None or s.limits is None:
        return None
    if s.sortie_id is None and s.phase not in AIRBORNE_PHASES:
        return 0.0
    if tel is None:
        return None
    lim, home, here = s.limits, LatLon(s.home.lat, s.home.lon), LatLon(tel.lat, tel.lon)
    down = max(0.0, tel.alt_rel_m) / lim.descent_mps
    if s.phase in (Phase.RETURNING, Phase.LANDING) or s.target is None:
        return distance_m(here, home) / lim.cruise_mps + down
    target = LatLon(s.target.lat, s.target.lon)
    legs = distance_m(here, target) + distance_m(target, home)
    return legs / lim.cruise_mps + scene_s + down


def _charge_s(view: DockView, battery: float | None, want_pct: float) -> float | None:
    if battery is None:
        return None
    if battery >= want_pct:
        return 0.0
    rate = view.charge_pct_per_s
    return None if not rate else (want_pct - battery) / rate


def expected_waits(
    fleet: Fleet, queue: Sequence[Waiting], scene_s: Mapping[str, float]
) -> dict[str, float | None]:
    """Seconds until each queued incident should have a dock, by incident id.

    Args:
        fleet: the live fleet.
        queue: the queued incidents in the order they are served.
        scene_s: time on scene left, by dock id, for the docks out on a sortie.
    """
    free_at: dict[str, float | None] = {}  # dock id -> seconds from now until free
    out: dict[str, float | None] = {}
    for item in queue:
        best: tuple[float, Option] | None = None
        for option in item.options:
            view = fleet.get(option.dock_id)
            if view is None:
                continue
            if option.dock_id not in free_at:
                free_at[option.dock_id] = _flight_left_s(view, scene_s.get(option.dock_id, 0.0))
            back = free_at[option.dock_id]
            if back is None:
                continue
            s = view.state
            lim = s.limits if s else None
            want = option.needed_pct + (lim.reserve_pct if lim else 0.0)
            flying = back > 0
            idle_not_ready = not flying and not (s and s.ready)
            if lim is not None and (flying or idle_not_ready):  # charges until ready
                want = max(want, lim.ready_pct)
            if idle_not_ready and (view.battery_pct or 0.0) >= want:
                continue  # not ready for a reason other than its charge: no telling when
            charge = _charge_s(view, None if flying else view.battery_pct, want)
            if flying:  # the charge on landing is unknown: assume it charges from the reserve
                charge = _charge_s(view, lim.reserve_pct if lim else 0.0, want)
            if charge is None:
                continue
            at = back + charge
            if best is None or at < best[0]:
                best = (at, option)
        if best is None:
            out[item.incident.id] = None
            continue
        at, option = best
        out[item.incident.id] = at
        sortie = option.plan.budget.total.time_s if option.plan else None
        free_at[option.dock_id] = None if sortie is None else at + sortie
    return out
