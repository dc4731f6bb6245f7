"""The report from a timeline, matching detections to actors, and the runner's refusal rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from edge.geo import LatLon, destination
from outrider.demo.live import render
from outrider.demo.report import (
    MATCH_RADIUS_M,
    RunRecord,
    build_report,
    incident_report,
    match_actors,
)
from outrider.demo.scenario import IncidentSpec, Scenario
from outrider.demo.scenario_runner import deciding_code, effective_reasons
from outrider.demo.summary import summary
from sim.camera import Actor

T0 = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
TARGET = LatLon(51.5110, -0.0900)


def spec(**fields: Any) -> IncidentSpec:
    base: dict[str, Any] = {
        "name": "collision",
        "at_s": 0,
        "lat": TARGET.lat,
        "lon": TARGET.lon,
        "ring": {"kinds": ["person", "bus"], "radius_m": 60},
    }
    return IncidentSpec.model_validate({**base, **fields})


def line(
    t: float, kind: str, type_: str, dock: str | None = "dock-01", **kw: Any
) -> dict[str, Any]:
    at = (T0 + timedelta(seconds=t)).isoformat()
    return {"at": at, "kind": kind, "type": type_, "dock_id": dock, "text": "", **kw}


def timeline(*, docked: bool = True) -> list[dict[str, Any]]:
    lines = [
        line(0.0, "incident", "raised", None),
        line(0.01, "dispatch", "candidate", "dock-02"),
        line(0.02, "ack", "dispatch", "dock-02", code="busy"),
        line(0.05, "dispatch", "candidate"),
        line(0.08, "ack", "dispatch", code="accepted"),
        line(0.09, "dispatch", "dispatched"),
        line(0.1, "event", "accepted"),
        line(1.5, "event", "airborne"),
        line(9.0, "event", "on_scene"),
        line(21.0, "event", "returning", detail={"scene_in_view": 0.9812, "scene_frames": 160}),
        line(29.0, "event", "landing"),
        line(31.0, "event", "landed"),
    ]
    if docked:
        lines.append(line(32.0, "event", "docked"))
    return lines


def served_record(**detail: Any) -> RunRecord:
    record = RunRecord(spec(), incident_id="INC-1")
    record.detail = {
        "id": "INC-1",
        "status": "completed",
        "dock_id": "dock-01",
        "sortie_id": "S-1",
        "timeline": timeline(),
        **detail,
    }
    return record


def test_phase_times_run_from_the_chosen_docks_dispatch_and_scale_by_the_speed_factor() -> None:
    report = incident_report(served_record(), speed_factor=10)
    assert report.outcome == "served" and report.ok
    wall = report.wall
    assert wall.queued_s == pytest.approx(0.05)  # raised -> the accepted dock was sent
    assert wall.ack_s == pytest.approx(0.03)
    assert wall.to_airborne_s == pytest.approx(1.45)
    assert wall.to_on_scene_s == pytest.approx(8.95)
    assert wall.on_scene_for_s == pytest.approx(12.0)
    assert wall.to_docked_s == pytest.approx(31.95)
    assert report.times.on_scene_for_s == pytest.approx(120.0)
    assert report.times.ack_s == wall.ack_s, "ack stays in wall seconds"
    assert report.events[0] == "accepted" and report.events[-1] == "docked"


def test_a_sortie_that_never_docks_is_a_failure_and_fails_the_run() -> None:
    record = served_record(timeline=timeline(docked=False))
    record.timed_out = True
    report = build_report(
        "s", [record], vehicle="sim", speed_factor=1, video=False, docks=["dock-01"], wall_s=1
    )
    assert report.incidents[0].outcome == "failed"
    assert not report.ok and report.totals.failed == 1


def test_a_refusal_with_the_expected_code_is_as_expected_and_another_code_is_not() -> None:
    refusal = {"code": "no_fly", "reason": "no dock", "docks": []}
    ok = RunRecord(spec(expect="refused", expect_code="no_fly"), refusal=refusal)
    ok.detail = {"id": "INC-2", "status": "unassigned", "dock_id": None, "timeline": []}
    wrong = RunRecord(spec(expect="refused", expect_code="out_of_range"), refusal=refusal)
    assert incident_report(ok, 1).ok and incident_report(ok, 1).outcome == "refused"
    assert not incident_report(wrong, 1).ok
    assert incident_report(ok, 1).times.queued_s is None
    waited = RunRecord(spec(), refusal={**refusal, "code": "busy"}, timed_out=True, waited_s=900)
    unserved = incident_report(waited, 1)
    assert unserved.outcome == "unserved" and unserved.wall.queued_s == 900


def test_a_served_incident_flown_by_another_dock_than_expected_is_not_as_expected() -> None:
    record = served_record()
    record.spec = spec(expect_dock="dock-03")
    assert not incident_report(record, 1).ok


def test_each_detection_goes_to_the_nearest_actor_of_its_kind_within_the_radius() -> None:
    person = Actor(kind="person", lat=TARGET.lat, lon=TARGET.lon, name="p")
    bus_at = destination(TARGET, 90, 30)
    bus = Actor(kind="bus", lat=bus_at.lat, lon=bus_at.lon, name="b")

    def det(cls: str, bearing: float, dist: float) -> dict[str, Any]:
        p = destination(TARGET, bearing, dist)
        return {"cls": cls, "lat": p.lat, "lon": p.lon, "track_id": 1}

    detections = [
        det("person", 0, 1.0),
        det("person", 180, 3.0),
        det("truck", 90, 29.0),  # a bus seen as a truck: still the bus, 1 m off
        det("person", 90, 30.0),  # a person where only the bus stands: no person there
        det("person", 0, MATCH_RADIUS_M + 1),
        {"cls": "person", "lat": None, "lon": None},
    ]
    reports, unmatched = match_actors([person, bus], detections)
    assert reports[0].tracks == 2 and reports[0].error_m == pytest.approx(2.0, abs=0.01)
    assert reports[1].detected and reports[1].error_m == pytest.approx(1.0, abs=0.01)
    assert unmatched == 3


def test_totals_add_up_over_served_incidents() -> None:
    record = served_record()
    person = record.spec.placed_actors()[0]
    record.detections = [{"cls": "person", "lat": person.lat, "lon": person.lon}]
    refused = RunRecord(
        spec(name="far", expect="refused"),
        refusal={"code": "out_of_range", "reason": "", "docks": []},
    )
    report = build_report(
        "s",
        [record, refused],
        vehicle="sim",
        speed_factor=2,
        video=True,
        docks=["dock-01"],
        wall_s=5,
    )
    t = report.totals
    assert (t.incidents, t.served, t.refused, t.as_expected) == (2, 1, 1, 2)
    assert (t.actors_placed, t.actors_detected) == (2, 1)
    assert t.to_on_scene_s_mean == pytest.approx(17.9)
    assert report.ok
    text = Console(width=200, record=True)
    text.print(summary(report))
    shown = text.export_text()
    assert "served" in shown and "out_of_range" in shown


FLEET = [
    {
        "id": "dock-01",
        "home": {"lat": 51.5045, "lon": -0.0865},
        "max_range_m": 6000,
        "ready": False,
    },
    {"id": "dock-02", "home": {"lat": 51.5155, "lon": -0.1420}, "max_range_m": 6000, "ready": True},
]


def test_a_busy_dock_that_could_never_reach_the_target_counts_as_out_of_range() -> None:
    wembley = LatLon(51.5560, -0.2796)
    reasons = [
        {"dock_id": "dock-01", "code": "busy"},
        {"dock_id": "dock-02", "code": "out_of_range"},
    ]
    docks = effective_reasons(reasons, FLEET, wembley)
    codes = [d["code"] for d in docks]
    assert codes == ["out_of_range", "out_of_range"]
    assert "busy" in docks[0]["reason"] and "14.5 km away, limit 6.0 km" in docks[0]["reason"]
    assert deciding_code(codes) == "out_of_range"


def test_a_refusal_about_the_target_decides_over_the_docks_busy_elsewhere() -> None:
    reasons = [{"dock_id": "dock-01", "code": "busy"}, {"dock_id": "dock-02", "code": "no_fly"}]
    codes = [d["code"] for d in effective_reasons(reasons, FLEET, TARGET)]
    assert deciding_code(codes) == "no_fly"
    assert deciding_code([]) == "no_dock_available"


def test_the_live_view_shows_every_dock_its_phase_and_the_scenario() -> None:
    docks = [
        {"id": "dock-01", "phase": "en_route", "ready": False, "stale": False, "in_air": True,
         "battery_pct": 80.0, "incident_id": "INC-1", "position": {"alt_rel_m": 20.0},
         "ground_speed_mps": 14.9, "flight_mode": "MISSION", "not_ready": []},
        {"id": "dock-02", "phase": "charging", "ready": False, "stale": True,
         "stale_reason": "no telemetry for 12 s", "not_ready": []},
    ]  # fmt: skip
    incidents = [{"id": "INC-1", "type": "theft", "status": "en_route", "dock_id": "dock-01",
                  "eta_s": 40.0, "created_at": T0.isoformat()}]  # fmt: skip
    scenario = Scenario(name="s", incidents=[spec()])
    records = [RunRecord(scenario.incidents[0], incident_id="INC-1")]
    console = Console(width=160, record=True)
    view = render(docks, incidents, ("s", records), T0 + timedelta(seconds=5), {"dock-01": "Bank"})
    console.print(view)
    text = console.export_text()
    for word in ("dock-01 Bank", "en_route", "80 %", "20 m", "stale: no telemetry", "INC-1", "5 s"):
        assert word in text
    assert "dispatched" in text


def test_the_share_of_on_scene_frames_with_the_scene_in_view_comes_from_the_dock() -> None:
    report = incident_report(served_record(), 10.0)
    assert report.scene_in_view == 0.9812
    without = served_record(timeline=[x for x in timeline() if x["type"] != "returning"])
    assert incident_report(without, 10.0).scene_in_view is None
