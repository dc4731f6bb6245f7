"""Preflight: every failed check is reported together, with the foremost as the ack code."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from edge.airspace import load_zones
from edge.config import EdgeConfig, load_config
from edge.energy import Wind
from edge.flight.vehicle import VehicleState
from edge.geo import LatLon, destination
from edge.patterns.orbit import OrbitPattern
from edge.preflight import PreflightFailed, check_dispatch, check_retask, request_from
from edge.protocol import DockStatus, EventType, Phase
from edge.sortie.machine import SortieMachine
from edge.state import not_ready

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
HOME = LatLon(51.5045, -0.0865)
READY = VehicleState(
    connected=True,
    heard_at=0.0,
    lat=HOME.lat,
    lon=HOME.lon,
    alt_rel_m=0.0,
    battery_pct=100.0,
    gps_fix=3,
    satellites=12,
    global_position_ok=True,
    home_position_ok=True,
    armable=True,
    home=HOME,
)
LIGHT = Wind(3, 0)
CLOSED = DockStatus(lid="closed", wind_mps=3.0, wind_from_deg=0.0)


@pytest.fixture(scope="module")
def config() -> EdgeConfig:
    return load_config(CONFIGS / "dock-01.toml")


@pytest.fixture(scope="module")
def zones(config: EdgeConfig) -> list:
    return [z for path in config.airspace.nofly for z in load_zones(path)]


def _check(config, zones, target, *, alt=None, vehicle=READY, dock=CLOSED, wind=LIGHT):
    req = request_from(config, "INC-1", target, alt, OrbitPattern(duration_s=120))
    return check_dispatch(config, zones, req, dock, wind, vehicle)


def _codes(exc: pytest.ExceptionInfo[PreflightFailed]) -> list[str]:
    return [f.code for f in exc.value.failures]


def test_a_near_target_passes_with_a_budget(config: EdgeConfig, zones: list) -> None:
    plan = _check(config, zones, destination(HOME, 200, 800))
    assert plan.route_out[0] == HOME and plan.route_back[-1] == HOME
    assert 0 < plan.needed_pct < 100 - config.limits.reserve_pct


def test_a_target_beyond_range_is_out_of_range(config: EdgeConfig, zones: list) -> None:
    with pytest.raises(PreflightFailed) as info:
        _check(config, zones, destination(HOME, 180, 9000))
    assert info.value.code == "out_of_range" and "9.0 km" in info.value.reason


def test_a_target_in_a_no_fly_zone_is_refused(config: EdgeConfig, zones: list) -> None:
    with pytest.raises(PreflightFailed) as info:
        _check(config, zones, LatLon(51.5082, -0.0770))  # Tower of London
    assert info.value.code == "no_fly" and "Tower of London" in info.value.reason


def test_a_route_across_a_no_fly_zone_goes_around_it(config: EdgeConfig, zones: list) -> None:
    plan = _check(config, zones, LatLon(51.5083, -0.0700))  # east of the Tower, from the west
    assert len(plan.route_out) > 2
    assert all(not z.contains(p) for z in zones for p in plan.route_out)


def test_an_altitude_over_the_ceiling_is_refused(config: EdgeConfig, zones: list) -> None:
    with pytest.raises(PreflightFailed) as info:
        _check(config, zones, destination(HOME, 90, 500), alt=110)
    assert _codes(info) == ["above_ceiling"]


def test_wind_over_the_limit_is_wind_high(config: EdgeConfig, zones: list) -> None:
    with pytest.raises(PreflightFailed) as info:
        _check(config, zones, destination(HOME, 90, 500), wind=Wind(15.0, 270))
    assert info.value.code == "wind_high"


def test_a_low_battery_is_battery_low(config: EdgeConfig, zones: list) -> None:
    weak = VehicleState(**{**READY.__dict__, "battery_pct": 30.0})
    with pytest.raises(PreflightFailed) as info:
        _check(config, zones, destination(HOME, 90, 4000), vehicle=weak)
    assert _codes(info) == ["battery_low"]


def test_every_failure_is_reported_together(config: EdgeConfig, zones: list) -> None:
    lost = VehicleState(**{**READY.__dict__, "gps_fix": 1, "battery_pct": 5.0})
    with pytest.raises(PreflightFailed) as info:
        _check(
            config,
            zones,
            destination(HOME, 90, 500),
            alt=115,
            vehicle=lost,
            dock=DockStatus(lid="open"),
            wind=None,
        )
    codes = _codes(info)
    assert codes[0] == info.value.code == "above_ceiling"
    assert {"dock_not_ready", "vehicle_not_ready", "battery_low"} <= set(codes)
    assert "lid is open" in info.value.reason and "GPS" in info.value.reason


def test_a_disconnected_vehicle_is_not_ready(config: EdgeConfig, zones: list) -> None:
    with pytest.raises(PreflightFailed) as info:
        _check(config, zones, destination(HOME, 90, 500), vehicle=VehicleState())
    assert info.value.code == "vehicle_not_ready"


def test_a_retask_checks_range_airspace_and_energy_from_where_the_drone_is(
    config: EdgeConfig,
    zones: list,
) -> None:
    here = destination(HOME, 0, 1000)
    flying = VehicleState(**{**READY.__dict__, "lat": here.lat, "lon": here.lon, "alt_rel_m": 60.0})
    req = request_from(config, None, destination(HOME, 90, 1000), None, None)
    plan = check_retask(config, zones, req, flying, Wind())
    assert plan.route_out[0] == here
    with pytest.raises(PreflightFailed) as info:
        check_retask(
            config,
            zones,
            request_from(config, None, LatLon(51.5082, -0.0770), None, None),
            flying,
            Wind(),
        )
    assert info.value.code == "no_fly"


def test_a_charged_drone_stays_ready_until_it_needs_charging_again(config: EdgeConfig) -> None:
    machine = SortieMachine("dock-01", lambda event: None)
    ready_pct = config.dock.ready_pct

    def reasons(pct: float) -> list[str]:
        vehicle = replace(READY, battery_pct=pct)
        return [r.code for r in not_ready(config, machine, vehicle, CLOSED, busy=False)]

    machine.transition(Phase.CHARGING, EventType.CHARGING)
    assert reasons(ready_pct - 1) == ["battery_low"] and reasons(ready_pct) == []
    machine.transition(Phase.DOCKED, EventType.READY)
    assert reasons(ready_pct - 1) == []  # a reading just under the mark does not unready it
    assert reasons(config.dock.recharge_pct - 1) == ["battery_low"]
