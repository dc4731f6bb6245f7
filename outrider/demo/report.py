"""The scenario report: per incident, what dispatch's timeline and the detections say.

Everything here is a pure function of what the runner collected from the dispatch API (the
incident's timeline, its refusal, its detections) and the scenario's known actor positions,
so the report can be checked against the events it was built from. Flight times are in
simulated seconds (wall seconds times the speed factor); ``ack_s`` stays in wall seconds,
as it measures software and network, not flight.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from edge.geo import LatLon, distance_m
from outrider.demo.scenario import IncidentSpec
from sim.camera import Actor

__all__ = [
    "MATCH_RADIUS_M",
    "ActorReport",
    "IncidentReport",
    "Refusal",
    "RunRecord",
    "ScenarioReport",
    "Times",
    "Totals",
    "build_report",
    "incident_report",
    "match_actors",
]

MATCH_RADIUS_M = 20.0
"""A detection farther than this from every actor of its kind matches none."""

KIND_CLASSES: dict[str, frozenset[str]] = {
    "person": frozenset({"person"}),
    "bus": frozenset({"bus", "truck", "car", "train"}),
}
Outcome = Literal["served", "refused", "failed", "unserved"]


@dataclass
class RunRecord:
    """What the runner saw of one incident (filled in as it goes)."""

    spec: IncidentSpec
    incident_id: str | None = None
    waited_s: float = 0.0  # wall seconds from its time until a dock took it or it was given up
    refusal: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None
    detections: list[dict[str, Any]] = field(default_factory=list)
    timed_out: bool = False
    done: bool = False


class Refusal(BaseModel):
    """Why no dock went: the deciding code and every dock's reason."""

    code: str
    reason: str
    docks: list[dict[str, str]]


class Times(BaseModel):
    """Phase times of a sortie, from the dispatch command to the dock (seconds)."""

    queued_s: float | None = None
    ack_s: float | None = None
    to_airborne_s: float | None = None
    to_on_scene_s: float | None = None
    on_scene_for_s: float | None = None
    to_docked_s: float | None = None


class ActorReport(BaseModel):
    """One actor placed around an incident, and how well the detector placed it."""

    name: str
    kind: str
    detected: bool
    tracks: int
    error_m: float | None
    nearest_m: float | None = Field(None, title="Distance of the nearest track of its kind")


class IncidentReport(BaseModel):
    """One incident of the scenario."""

    name: str
    incident_id: str | None
    expect: str
    outcome: Outcome
    ok: bool
    status: str | None
    dock_id: str | None
    sortie_id: str | None
    refusal: Refusal | None
    times: Times
    wall: Times
    actors: list[ActorReport]
    actors_detected: int
    scene_in_view: float | None = Field(
        None, title="Share of the frames captured on scene with the incident point in them"
    )
    location_error_m: float | None
    unmatched_tracks: int
    false_tracks_per_min: float | None = Field(
        None, title="Confirmed tracks that matched no actor, per minute on scene (simulated)"
    )
    events: list[str]


class Totals(BaseModel):
    """The whole run in a few figures."""

    incidents: int
    served: int
    refused: int
    failed: int
    unserved: int
    as_expected: int
    ack_s_mean: float | None
    to_on_scene_s_mean: float | None
    to_on_scene_s_max: float | None
    to_docked_s_mean: float | None
    actors_placed: int
    actors_detected: int
    scene_in_view_mean: float | None = None
    location_error_m_mean: float | None
    location_error_m_max: float | None
    unmatched_tracks: int = 0


class ScenarioReport(BaseModel):
    """The report of a scenario run: ``ok`` is false when any incident went otherwise."""

    scenario: str
    vehicle: str
    speed_factor: float
    video: bool
    docks: list[str]
    wall_s: float
    ok: bool
    totals: Totals
    incidents: list[IncidentReport]


def _at(line: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(line["at"]).replace("Z", "+00:00"))


def _first(lines: Sequence[dict[str, Any]], kind: str, type_: str) -> dict[str, Any] | None:
    return next((x for x in lines if x["kind"] == kind and x["type"] == type_), None)


def _last(lines: Sequence[dict[str, Any]], kind: str, type_: str) -> dict[str, Any] | None:
    return next((x for x in reversed(lines) if x["kind"] == kind and x["type"] == type_), None)


def _since(start: dict[str, Any] | None, end: dict[str, Any] | None) -> float | None:
    if start is None or end is None:
        return None
    return round((_at(end) - _at(start)).total_seconds(), 3)


def wall_times(timeline: Sequence[dict[str, Any]], dock_id: str | None) -> Times:
    """Phase times in wall seconds, from the dispatch command to the chosen dock."""
    lines = [x for x in timeline if x["kind"] != "event" or x.get("dock_id") == dock_id]
    sent = next(
        (
            x
            for x in reversed(lines)
            if x["kind"] == "dispatch" and x["type"] == "candidate" and x.get("dock_id") == dock_id
        ),
        None,
    )
    ack = next(
        (
            x
            for x in lines
            if x["kind"] == "ack" and x["type"] == "dispatch" and x.get("code") == "accepted"
        ),
        None,
    )
    on_scene = _first(lines, "event", "on_scene")
    leaving = _first(lines, "event", "returning") or _first(lines, "event", "recalled")
    return Times(
        queued_s=_since(_first(lines, "incident", "raised"), sent),
        ack_s=_since(sent, ack),
        to_airborne_s=_since(sent, _first(lines, "event", "airborne")),
        to_on_scene_s=_since(sent, on_scene),
        on_scene_for_s=_since(on_scene, leaving),
        to_docked_s=_since(sent, _last(lines, "event", "docked")),
    )


def _scaled(wall: Times, factor: float) -> Times:
    data = {k: (round(v * factor, 1) if v is not None else None) for k, v in wall}
    data["ack_s"] = wall.ack_s
    return Times(**data)


def match_actors(
    actors: Sequence[Actor], detections: Sequence[dict[str, Any]]
) -> tuple[list[ActorReport], int]:
    """Each detection goes to the nearest actor of a fitting kind within :data:`MATCH_RADIUS_M`.

    Returns:
        One report per actor (error: the median distance of its tracks) and the number of
        tracks that matched no actor.
    """
    errors: dict[int, list[float]] = {i: [] for i in range(len(actors))}
    unmatched = 0
    for det in detections:
        if det.get("lat") is None or det.get("lon") is None:
            unmatched += 1
            continue
        spot = LatLon(float(det["lat"]), float(det["lon"]))
        best: tuple[float, int] | None = None
        for i, actor in enumerate(actors):
            if det.get("cls") not in KIND_CLASSES.get(actor.kind, frozenset()):
                continue
            d = distance_m(spot, actor.position)
            if d <= MATCH_RADIUS_M and (best is None or d < best[0]):
                best = (d, i)
        if best is None:
            unmatched += 1
        else:
            errors[best[1]].append(best[0])
    reports = [
        ActorReport(
            name=actor.name or f"{actor.kind}-{i + 1}",
            kind=actor.kind,
            detected=bool(errors[i]),
            tracks=len(errors[i]),
            error_m=round(statistics.median(errors[i]), 2) if errors[i] else None,
            nearest_m=round(min(errors[i]), 2) if errors[i] else None,
        )
        for i, actor in enumerate(actors)
    ]
    return reports, unmatched


def scene_in_view(timeline: Sequence[dict[str, Any]], dock_id: str | None) -> float | None:
    """The share of on-scene frames with the scene in view, as the dock reported it when it
    left the scene (None: it never reported one, e.g. flying without video)."""
    for line in timeline:
        detail = line.get("detail") or {}
        if line["kind"] == "event" and line.get("dock_id") == dock_id and "scene_in_view" in detail:
            return round(float(detail["scene_in_view"]), 4)
    return None


def _outcome(record: RunRecord, events: list[str]) -> Outcome:
    if record.detail is None or record.detail.get("dock_id") is None:
        return "refused" if record.refusal is not None and not record.timed_out else "unserved"
    status = record.detail.get("status")
    if "docked" in events and "on_scene" in events and status == "completed":
        return "served"
    return "failed"


def _ok(spec: IncidentSpec, outcome: Outcome, refusal: Refusal | None, dock: str | None) -> bool:
    if spec.expect == "served":
        return outcome == "served" and spec.expect_dock in (None, dock)
    if outcome != "refused" or refusal is None:
        return False
    return spec.expect_code in (None, refusal.code)


def incident_report(record: RunRecord, speed_factor: float) -> IncidentReport:
    """The report of one incident from what the runner collected."""
    detail = record.detail or {}
    dock_id = detail.get("dock_id")
    timeline: list[dict[str, Any]] = detail.get("timeline", [])
    events = [x["type"] for x in timeline if x["kind"] == "event" and x.get("dock_id") == dock_id]
    outcome = _outcome(record, events)
    refusal = Refusal.model_validate(record.refusal) if record.refusal else None
    wall = wall_times(timeline, dock_id) if dock_id else Times()
    if record.waited_s and wall.queued_s is None and outcome == "unserved":
        wall = wall.model_copy(update={"queued_s": round(record.waited_s, 3)})
    actors, unmatched = match_actors(record.spec.placed_actors(), record.detections)
    errors = [a.error_m for a in actors if a.error_m is not None]
    return IncidentReport(
        name=record.spec.name,
        incident_id=record.incident_id,
        expect=record.spec.expect
        + (f":{record.spec.expect_code}" if record.spec.expect_code else ""),
        outcome=outcome,
        ok=_ok(record.spec, outcome, refusal, dock_id),
        status=detail.get("status"),
        dock_id=dock_id,
        sortie_id=detail.get("sortie_id"),
        refusal=refusal,
        times=_scaled(wall, speed_factor),
        wall=wall,
        actors=actors,
        actors_detected=sum(a.detected for a in actors),
        scene_in_view=scene_in_view(timeline, dock_id),
        location_error_m=round(statistics.fmean(errors), 2) if errors else None,
        unmatched_tracks=unmatched,
        false_tracks_per_min=_per_min(unmatched, wall.on_scene_for_s, speed_factor),
        events=events,
    )


def _per_min(count: int, wall_s: float | None, speed_factor: float) -> float | None:
    if not wall_s:
        return None
    return round(count / (wall_s * speed_factor / 60.0), 2)


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 2) if present else None


def _max(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(max(present), 2) if present else None


def totals(reports: Sequence[IncidentReport]) -> Totals:
    """The run's figures over its incidents (served ones for times and actors)."""
    served = [r for r in reports if r.outcome == "served"]
    errors = [a.error_m for r in served for a in r.actors if a.error_m is not None]
    return Totals(
        incidents=len(reports),
        served=len(served),
        refused=sum(r.outcome == "refused" for r in reports),
        failed=sum(r.outcome == "failed" for r in reports),
        unserved=sum(r.outcome == "unserved" for r in reports),
        as_expected=sum(r.ok for r in reports),
        ack_s_mean=_mean([r.times.ack_s for r in served]),
        to_on_scene_s_mean=_mean([r.times.to_on_scene_s for r in served]),
        to_on_scene_s_max=_max([r.times.to_on_scene_s for r in served]),
        to_docked_s_mean=_mean([r.times.to_docked_s for r in served]),
        actors_placed=sum(len(r.actors) for r in served),
        actors_detected=sum(r.actors_detected for r in served),
        scene_in_view_mean=_mean([r.scene_in_view for r in served]),
        location_error_m_mean=_mean(errors),
        location_error_m_max=_max(errors),
        unmatched_tracks=sum(r.unmatched_tracks for r in served),
    )


def build_report(
    scenario: str,
    records: Sequence[RunRecord],
    *,
    vehicle: str,
    speed_factor: float,
    video: bool,
    docks: Sequence[str],
    wall_s: float,
) -> ScenarioReport:
    """The whole report of a run."""
    reports = [incident_report(r, speed_factor) for r in records]
    return ScenarioReport(
        scenario=scenario,
        vehicle=vehicle,
        speed_factor=speed_factor,
        video=video,
        docks=list(docks),
        wall_s=round(wall_s, 1),
        ok=all(r.ok for r in reports),
        totals=totals(reports),
        incidents=reports,
    )
