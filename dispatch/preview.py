"""A dry run of raising an incident: the dock that would go, its route and ETA, or why none.

The control room shows this before anything launches (the confirm step). It runs the same
choice as :meth:`dispatch.incidents.IncidentService.dispatch` (docks just sent elsewhere held
back, the same feasibility model) and the same test for queueing, and sends nothing, stores
nothing.
"""

from __future__ import annotations

from dispatch.incidents import IncidentService
from dispatch.models import DockReasonPublic, IncidentCreate, IncidentPreview
from edge.geo import LatLon

__all__ = ["preview"]


def preview(svc: IncidentService, req: IncidentCreate) -> IncidentPreview:
    """What raising ``req`` would do now: dispatch (which dock, route, ETA), queue, or refuse."""
    mission = svc.mission_at(LatLon(req.lat, req.lon), req.on_scene_s, req.alt_rel_m)
    reserved = svc.reserved()
    options = svc.chooser.choose(mission, k=1, exclude=reserved)
    if options:
        best = options[0]
        route = best.plan.route_out if best.plan else []
        return IncidentPreview(
            outcome="dispatch",
            dock_id=best.dock_id,
            eta_s=best.eta_s,
            distance_m=best.distance_m,
            route_m=best.route_m,
            needed_pct=best.needed_pct,
            battery_pct=best.battery_pct,
            route=[{"lat": p.lat, "lon": p.lon} for p in route],
        )
    reasons = svc.chooser.reasons(mission, reserved)
    later = {o.dock_id for o in svc.chooser.later(mission)}
    if later:
        waiting = [DockReasonPublic(**r.__dict__) for r in reasons if r.dock_id in later]
        return IncidentPreview(outcome="queue", docks=waiting)
    return IncidentPreview(
        outcome="refuse", docks=[DockReasonPublic(**r.__dict__) for r in reasons]
    )
