"""One feasibility model: dispatch, from a dock's published state, decides as the dock itself."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from dispatch.choice import Chooser, Mission, Option
from dispatch.config import DispatchConfig
from dispatch.fleet import Fleet
from dispatch.service_errors import DockReason
from edge.airspace import NoFlyZone, load_zones
from edge.config import EdgeConfig, load_config
from edge.energy import Wind
from edge.feasibility import SortiePlan
from edge.flight.vehicle import VehicleState
from edge.geo import LatLon, destination
from edge.patterns.hold import HoldPattern
from edge.patterns.orbit import OrbitPattern
from edge.patterns.registry import OnScene
from edge.preflight import PreflightFailed, check_dispatch, request_from
from edge.protocol import Availability, DispatchBody, DockStatus, GeoPoint, Kind, encode, parse
from edge.sortie.machine import SortieMachine
from edge.state import snapshot
from tests.dispatch.test_choice import box_around
from tests.edge.test_preflight import HOME, READY

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def edge_verdict(
    config: EdgeConfig,
    zones: list[NoFlyZone],
    target: LatLon,
    alt: float | None,
    scene: OnScene,
    vehicle: VehicleState,
    dock: DockStatus,
) -> SortiePlan | PreflightFailed:
    req = request_from(config, None, target, alt, scene)
    wind = Wind(dock.wind_mps or 0.0, dock.wind_from_deg or 0.0)
    try:
        return check_dispatch(config, zones, req, dock, wind, vehicle)
    except PreflightFailed as exc:
        return exc


def dispatch_verdict(
    config: EdgeConfig,
    zones: list[NoFlyZone],
    mission: Mission,
    vehicle: VehicleState,
    dock: DockStatus,
) -> Option | DockReason:
    """Dispatch's answer from the retained state this edge publishes, as it arrives."""
    machine = SortieMachine(config.dock.id, lambda event: None)
    published = parse(Kind.STATE, encode(snapshot(config, machine, vehicle, dock)))
    fleet = Fleet(stale_after_s=5.0, clock=lambda: 0.0)
    fleet.on_availability(config.dock.id, Availability.ONLINE)
    fleet.on_state(published)  # type: ignore[arg-type]
    view = fleet.get(config.dock.id)
    assert view is not None
    # dispatch's own margin differs on purpose: the dock's published one decides
    return Chooser(fleet, zones, margin_m=500.0).assess(view, mission)


@st.composite
def docks_and_requests(draw: st.DrawFn) -> dict[str, Any]:
    pad = draw(st.floats(0, 60))
    transit = draw(st.floats(10, 80))
    cruise = draw(st.floats(6, 18))
    ready_pct = draw(st.floats(10, 100))
    config = load_config(
        None,
        dock={
            "id": "dock-p",
            "home": {"lat": HOME.lat, "lon": HOME.lon, "alt_amsl_m": 20,
                     "height_above_ground_m": pad},
            "ready_pct": ready_pct,
            "hardware": {"lid_time_s": draw(st.floats(0, 10))},
        },
        flight={
            "transit_alt_m": transit,
            "cruise_mps": cruise,
            "climb_mps": draw(st.floats(1, 5)),
            "descent_mps": draw(st.floats(1, 4)),
            "orbit_speed_mps": draw(st.floats(2, 12)),
        },
        limits={
            "max_range_m": draw(st.floats(500, 8000)),
            "reserve_pct": draw(st.floats(0, 40)),
            "wind_limit_mps": draw(st.floats(4, 15)),
            "ceiling_m": transit + pad + draw(st.floats(0.5, 80)),
        },
        airframe={
            "battery_wh": draw(st.floats(60, 500)),
            "mass_kg": draw(st.floats(1, 6)),
            "hover_power_w": draw(st.floats(150, 600)),
            "drag_w_per_mps2": draw(st.floats(0.2, 2)),
            "max_airspeed_mps": cruise + draw(st.floats(0, 10)),
        },
        airspace={"margin_m": draw(st.floats(0, 80))},
        signing={"public_key": "dispatch.pub.pem", "key": "dock-p.pem"},  # named; not read here
    )  # fmt: skip
    zones = [
        box_around(destination(HOME, draw(st.floats(0, 359)), draw(st.floats(200, 6000))),
            draw(st.floats(50, 600)), f"zone-{i}")
        for i in range(draw(st.integers(0, 2)))
    ]  # fmt: skip
    battery = draw(st.floats(max(0.0, ready_pct - 5), 100))
    scene: OnScene = draw(
        st.builds(
            OrbitPattern,
            radius_m=st.floats(5, 300),
            duration_s=st.floats(0, 900),
            speed_mps=st.none() | st.floats(1, 20),
        )
        | st.builds(HoldPattern, duration_s=st.floats(0, 900))
    )
    return {
        "config": config,
        "zones": zones,
        "vehicle": replace(READY, battery_pct=battery),
        "dock": DockStatus(
            lid="closed",
            wind_mps=draw(st.floats(0, 18)),
            wind_from_deg=draw(st.floats(0, 359.9)),
        ),
        "target": destination(HOME, draw(st.floats(0, 359)), draw(st.floats(0, 7000))),
        "alt": draw(st.none() | st.floats(5, 200)),
        "scene": scene,
    }


@settings(max_examples=300, deadline=None)
@given(docks_and_requests())
def test_dispatch_and_the_edge_reach_the_same_verdict_code_and_cost(case: dict[str, Any]) -> None:
    config, zones, vehicle, dock = case["config"], case["zones"], case["vehicle"], case["dock"]
    scene, target, alt = case["scene"], case["target"], case["alt"]
    edge = edge_verdict(config, zones, target, alt, scene, vehicle, dock)
    mission = Mission(target, on_scene_s=scene.duration_s, pattern=scene, alt_rel_m=alt)
    chosen = dispatch_verdict(config, zones, mission, vehicle, dock)
    event(edge.code if isinstance(edge, PreflightFailed) else "accepted")
    if isinstance(edge, PreflightFailed):
        assert isinstance(chosen, DockReason), (edge.code, edge.reason)
        assert chosen.code == edge.code, (chosen.reason, edge.reason)
        return
    assert isinstance(chosen, Option), chosen
    assert chosen.plan is not None
    assert chosen.plan.budget == edge.budget and chosen.plan.request == edge.request
    assert chosen.needed_pct == edge.needed_pct
    assert chosen.eta_s == config.launch_overhead_s + edge.budget.out.time_s
    # and the command dispatch sends passes the edge's preflight as it arrives
    body = DispatchBody(
        incident_id="INC-1",
        target=GeoPoint(lat=target.lat, lon=target.lon),
        alt_rel_m=chosen.alt_rel_m,
        on_scene=mission.on_scene,
    )
    sent = edge_verdict(config, zones, target, body.alt_rel_m, body.on_scene, vehicle, dock)
    assert isinstance(sent, SortiePlan) and sent.budget == edge.budget


@pytest.fixture(scope="module")
def dock01() -> EdgeConfig:
    return load_config(CONFIGS / "dock-01.toml")


@pytest.fixture(scope="module")
def zones01(dock01: EdgeConfig) -> list[NoFlyZone]:
    return [z for path in dock01.airspace.nofly for z in load_zones(path)]


CALM = DockStatus(lid="closed", wind_mps=3.0, wind_from_deg=240.0)


def test_dispatch_refuses_110_m_above_dock01s_raised_pad_as_the_edge_does(
    dock01: EdgeConfig, zones01: list[NoFlyZone]
) -> None:
    assert dock01.dock.home.height_above_ground_m == 20
    target = destination(HOME, 90, 1000)
    mission = Mission(target, on_scene_s=120, alt_rel_m=110)
    chosen = dispatch_verdict(dock01, zones01, mission, READY, CALM)
    assert isinstance(chosen, DockReason) and chosen.code == "above_ceiling", chosen
    assert "20 m up" in chosen.reason
    edge = edge_verdict(dock01, zones01, target, 110, mission.on_scene, READY, CALM)
    assert isinstance(edge, PreflightFailed) and edge.reason == chosen.reason
    assert isinstance(dispatch_verdict(dock01, zones01, replace(mission, alt_rel_m=100),
                                       READY, CALM), Option)  # fmt: skip


def test_for_a_hold_dispatch_and_the_edge_plan_the_same_speed_and_energy(
    dock01: EdgeConfig, zones01: list[NoFlyZone]
) -> None:
    hold = DispatchConfig.model_validate({"on_scene": {"pattern": "hold"}}).on_scene
    target = destination(HOME, 45, 2000)
    mission = Mission(target, on_scene_s=600, pattern=hold)
    chosen = dispatch_verdict(dock01, zones01, mission, READY, CALM)
    assert isinstance(chosen, Option) and chosen.plan is not None
    edge = edge_verdict(dock01, zones01, target, None, mission.on_scene, READY, CALM)
    assert isinstance(edge, SortiePlan)
    assert chosen.plan.request.on_scene.airspeed_mps() == edge.request.on_scene.airspeed_mps() == 0
    assert chosen.plan.budget == edge.budget and chosen.needed_pct == edge.needed_pct
    orbit = Mission(target, on_scene_s=600)
    orbiting = dispatch_verdict(dock01, zones01, orbit, READY, CALM)
    assert isinstance(orbiting, Option) and orbiting.needed_pct > chosen.needed_pct


@pytest.mark.parametrize("battery", [95.0, 60.0, 45.0])
def test_the_range_ring_is_where_the_model_stops_sending_the_dock_in_calm_air(
    battery: float,
) -> None:
    from edge.feasibility import DockFigures, assess, reach_m, request_for
    from edge.protocol import Limits

    limits = Limits(max_range_m=20000, reserve_pct=20, ceiling_m=120, wind_limit_mps=12,
                    transit_alt_m=60, cruise_mps=15, climb_mps=3, descent_mps=2,
                    launch_overhead_s=20)  # fmt: skip
    home = LatLon(60.17, 24.94)
    dock = DockFigures(limits, home, Wind(), battery, margin_m=0.0)
    scene = OrbitPattern(radius_m=40, duration_s=300)
    ring = reach_m(dock, scene)
    assert 0 < ring < limits.max_range_m

    def verdict(metres: float) -> list[str]:
        req = request_for(limits, None, destination(home, 70.0, metres), None, scene)
        return [r.code for r in assess(dock, [], req).failures]

    assert verdict(ring * 0.98) == [] and verdict(ring * 1.02) == ["battery_low"]
    assert reach_m(replace(dock, battery_pct=limits.reserve_pct), scene) == 0.0
