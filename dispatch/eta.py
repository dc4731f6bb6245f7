"""The live ETA of an incident's drone: distance to go over ground speed, plus the phases left.

Worked out each time the incident is read, from the dock's latest telemetry and the
incident's target (a retask moves it), so it counts down while the drone flies and is right
after a retask. On the pad (before take-off) it is the launch left plus the planned climb (to
the transit altitude, then to the one the camera wants on scene) and transit; on scene it says
since when and how long is left there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from dispatch.fleet import DockView
from dispatch.models import EtaPublic, IncidentRecord, IncidentStatus, TimelineRecord
from edge.geo import LatLon, distance_m
from edge.protocol import Limits

__all__ = ["live_eta"]

BEFORE_SCENE = frozenset(
    {IncidentStatus.DISPATCHED, IncidentStatus.LAUNCHING, IncidentStatus.EN_ROUTE}
)
SLOWEST_SHARE = 0.5  # of cruise speed: the slowest ground speed an ETA is worked out with


def _last(lines: Sequence[TimelineRecord], kind: str, types: set[str]) -> TimelineRecord | None:
    return next((x for x in reversed(lines) if x.kind == kind and x.type in types), None)


def live_eta(
    incident: IncidentRecord,
    view: DockView | None,
    lines: Sequence[TimelineRecord],
    now: datetime,
) -> EtaPublic | None:
    """The incident's ETA now, or ``None`` when it has none (no dock yet, or on its way home)."""
    if incident.dock_id is None:
        return None
    if incident.status is IncidentStatus.ON_SCENE:
        arrived = _last(lines, "event", {"on_scene"})
        arrived_at = arrived.at if arrived else incident.updated_at
        there = max(0.0, (now - arrived_at).total_seconds())
        return EtaPublic(
            state="on_scene",
            on_scene_since=arrived_at,
            on_scene_for_s=there,
            on_scene_left_s=max(0.0, incident.on_scene_s - there),
            basis="plan",
        )
    if incident.status not in BEFORE_SCENE:
        return None
    s = view.state if view else None
    tel = view.telemetry if view else None
    target = LatLon(incident.target_lat, incident.target_lon)
    if s is None or s.limits is None:
        sent = _last(lines, "dispatch", {"dispatched"})
        if sent is None or incident.eta_s is None:
            return None
        arrive = sent.at + timedelta(seconds=incident.eta_s)
        to_go = max(0.0, (arrive - now).total_seconds())
        return EtaPublic(state="before_launch", to_scene_s=to_go, arrive_at=arrive, basis="plan")
    lim = s.limits
    alt = incident.alt_rel_m or lim.transit_alt_m
    scene_alt = incident.alt_rel_m or lim.on_scene_alt_rel_m  # the camera's (edge.feasibility)
    if tel is not None and tel.in_air:
        far = distance_m(LatLon(tel.lat, tel.lon), target)
        speed = max(tel.ground_speed_mps, SLOWEST_SHARE * lim.cruise_mps)
        to_go = far / speed + _vertical_s(lim, scene_alt - tel.alt_rel_m)
        return EtaPublic(
            state="en_route",
            to_scene_s=to_go,
            arrive_at=now + timedelta(seconds=to_go),
            distance_m=far,
            ground_speed_mps=tel.ground_speed_mps,
            basis="telemetry",
        )
    sent = _last(lines, "dispatch", {"dispatched"})
    since = (now - sent.at).total_seconds() if sent else 0.0
    far = distance_m(LatLon(s.home.lat, s.home.lon), target)
    launch_left = max(0.0, lim.launch_overhead_s - since)
    to_go = (
        launch_left + alt / lim.climb_mps + _vertical_s(lim, scene_alt - alt) + far / lim.cruise_mps
    )
    return EtaPublic(
        state="before_launch",
        to_scene_s=to_go,
        arrive_at=now + timedelta(seconds=to_go),
        distance_m=far,
        basis="plan",
    )


def _vertical_s(lim: Limits, up_m: float) -> float:
    """Time to climb (or descend) ``up_m`` at the dock's published rates."""
    return up_m / lim.climb_mps if up_m >= 0 else -up_m / lim.descent_mps
