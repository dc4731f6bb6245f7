"""Public views of records and live state: what the API returns, built in one place."""

from __future__ import annotations

import time

from dispatch.camera_view import camera_footprint
from dispatch.eta import live_eta
from dispatch.fleet import DockView, Fleet
from dispatch.models import (
    DetectionPublic,
    DockPublic,
    IncidentDetail,
    IncidentPublic,
    IncidentRecord,
    IncidentStatus,
    TimelineEntry,
)
from dispatch.queue import IncidentQueue
from dispatch.store.sql import SqlStore
from dispatch.video_relay import VideoRelay
from edge.energy import Wind
from edge.feasibility import DockFigures, reach_m
from edge.geo import LatLon
from edge.patterns.registry import OnScene
from edge.protocol import now_utc

__all__ = ["dock_public", "incident_detail", "incident_detections"]


async def incident_detail(
    store: SqlStore,
    record: IncidentRecord,
    queue: IncidentQueue | None = None,
    fleet: Fleet | None = None,
) -> IncidentDetail:
    """The incident with its timeline, oldest line first, its place when queued and its live
    ETA (from the fleet's telemetry) while it has one."""
    lines = await store.timeline(record.id)
    timeline = [TimelineEntry.model_validate(line.model_dump()) for line in lines]
    public = IncidentPublic.of(record)
    if queue is not None and record.status is IncidentStatus.QUEUED:
        public.queue = (await queue.positions()).get(record.id)
    eta = None
    if fleet is not None:
        view = fleet.get(record.dock_id) if record.dock_id else None
        eta = live_eta(record, view, lines, now_utc())
    return IncidentDetail(**public.model_dump(), timeline=timeline, eta=eta)


def _reach(view: DockView, on_scene: OnScene | None) -> float | None:
    s = view.state
    if on_scene is None or s is None or s.limits is None:
        return None
    figures = DockFigures(
        limits=s.limits,
        home=LatLon(s.home.lat, s.home.lon),
        wind=Wind(s.dock.wind_mps or 0.0, s.dock.wind_from_deg or 0.0),
        battery_pct=view.battery_pct,
        margin_m=0.0,
    )
    return round(reach_m(figures, on_scene), 1)


def dock_public(
    view: DockView,
    fleet: Fleet,
    on_scene: OnScene | None = None,
    relay: VideoRelay | None = None,
) -> DockPublic:
    """A dock as the API shows it, with its staleness judged now, how far it can go with
    ``on_scene`` (dispatch's default time on scene) at its present charge, and what its camera
    shows on the ground (from the video that reaches ``relay``)."""
    now = fleet.clock()
    s, tel = view.state, view.telemetry
    stale = view.stale_reason(now, fleet.stale_after_s)
    position = None
    if tel is not None:
        position = {"lat": tel.lat, "lon": tel.lon, "alt_rel_m": tel.alt_rel_m}
    elif s is not None and s.position is not None:
        position = {
            "lat": s.position.lat,
            "lon": s.position.lon,
            "alt_rel_m": s.position.alt_rel_m or 0.0,
        }
    return DockPublic(
        id=view.dock_id,
        availability=view.online.value if view.online else "unknown",
        stale=stale is not None,
        stale_reason=stale,
        phase=s.phase.value if s else None,
        ready=bool(s and s.ready),
        not_ready=list(s.not_ready) if s else [],
        sortie_id=s.sortie_id if s else None,
        incident_id=s.incident_id if s else None,
        battery_pct=view.battery_pct,
        home={"lat": s.home.lat, "lon": s.home.lon} if s else None,
        position=position,
        heading_deg=tel.heading_deg if tel else None,
        ground_speed_mps=tel.ground_speed_mps if tel else None,
        in_air=bool(tel and tel.in_air),
        flight_mode=tel.flight_mode if tel else None,
        scene_in_view=tel.scene_in_view if tel else None,
        telemetry_age_s=round(now - view.last_telemetry, 3)
        if view.last_telemetry is not None
        else None,
        max_range_m=s.limits.max_range_m if s and s.limits else None,
        reach_m=_reach(view, on_scene),
        wind_mps=s.dock.wind_mps if s else None,
        footprint=camera_footprint(relay, view, time.monotonic()) if relay is not None else [],
    )


async def incident_detections(
    store: SqlStore, fleet: Fleet, record: IncidentRecord
) -> list[DetectionPublic]:
    """Tracked objects of the incident's sortie: live sightings, else the stored first ones."""
    view = fleet.get(record.dock_id) if record.dock_id else None
    if view is not None and record.sortie_id is not None:
        live = [
            DetectionPublic(
                track_id=tr.obj.track_id,
                cls=tr.obj.cls,
                conf=tr.obj.conf,
                lat=tr.obj.geo.lat if tr.obj.geo else None,
                lon=tr.obj.geo.lon if tr.obj.geo else None,
                sortie_id=tr.sortie_id,
                at=tr.t,
            )
            for tr in view.tracks.values()
            if tr.sortie_id == record.sortie_id
        ]
        if live:
            return live
    rows = await store.list_detections(record.id)
    return [DetectionPublic(**{**r, "at": r["first_seen"]}) for r in rows]
