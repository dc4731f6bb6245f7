"""The sim vehicle's flight logic on a fake clock: PX4's speeds, RTL, landing and energy."""

from __future__ import annotations

import math

import pytest

from edge.energy import Airframe, EnergyModel
from edge.geo import LatLon, destination, distance_m
from sim.vehicle.autopilot.modes import LandedState
from tests.sim.harness import Bench, waypoint

HOME = LatLon(47.397742, 8.545594)


def fly_to_hold(bench: Bench, alt: float) -> list[LandedState]:
    bench.send_param("MIS_TAKEOFF_ALT", alt)
    assert bench.arm() == 0
    assert bench.command(22, *[math.nan] * 7) == 0
    return bench.run_until(lambda s: s.mode.value == "HOLD" and not s.landed, 120)


def test_takeoff_to_20_m_takes_about_as_long_as_px4_sih() -> None:
    bench = Bench(speed_factor=1.0)
    bench.send_param("MIS_TAKEOFF_ALT", 20.0)
    bench.arm()
    start = bench.state.sim_time
    bench.command(22, *[math.nan] * 7)
    states = bench.run_until(lambda s: s.mode.value == "HOLD", 60, step=0.1)
    took = bench.state.sim_time - start
    assert 14.0 <= took <= 19.0  # PX4 SITL SIH: 17.3-17.9 s
    assert LandedState.TAKEOFF in states
    assert abs(bench.state.body.alt - 20.0) < 0.8


def test_hover_drains_the_battery_at_the_shared_airframe_hover_power() -> None:
    bench = Bench(speed_factor=10.0)
    fly_to_hold(bench, 10.0)
    before = bench.state.battery.consumed_wh
    t0 = bench.state.sim_time
    bench.run(6.0)  # 60 s of simulated hover
    used = bench.state.battery.consumed_wh - before
    expected = Airframe().power_w(0.0) * (bench.state.sim_time - t0) / 3600.0
    assert used == pytest.approx(expected, rel=0.01)


def test_a_1_km_leg_costs_what_the_edge_energy_model_plans_for_it() -> None:
    bench = Bench(speed_factor=10.0)
    fly_to_hold(bench, 30.0)
    far = destination(HOME, 90.0, 1000.0)
    speed = waypoint(0, 0, 0, 0, command=178, p1=1.0, p2=10.0)
    speed.frame = 2
    assert bench.upload([speed, waypoint(1, far.lat, far.lon, 30.0)]) == 0
    bench.run(1.5)
    before, t0 = bench.state.battery.consumed_wh, bench.state.sim_time
    assert bench.set_mode(4, 4) == 0
    bench.run_until(lambda s: distance_m(s.latlon(), far) < 1.0 and s.body.ground_speed < 0.2, 60)
    used = bench.state.battery.consumed_wh - before
    planned = EnergyModel(Airframe(), cruise_mps=10.0).leg(HOME, far)
    assert used == pytest.approx(planned.energy_wh, rel=0.08)
    assert bench.state.sim_time - t0 == pytest.approx(planned.time_s, rel=0.12)


def test_rtl_climbs_to_the_return_altitude_before_it_turns_for_home() -> None:
    bench = Bench(speed_factor=10.0)
    fly_to_hold(bench, 12.0)
    away = destination(HOME, 200.0, 150.0)
    assert bench.upload([waypoint(0, away.lat, away.lon, 12.0)]) == 0
    bench.run(1.5)
    bench.set_mode(4, 4)
    bench.run_until(lambda s: distance_m(s.latlon(), away) < 3, 60)
    assert bench.command(20) == 0
    track = bench.track(lambda s: not s.armed, 120)
    climbing = [p for p in track if p[2] < 29.0 and p[3] > 140.0]
    assert all(p[3] > 148.0 for p in climbing)  # no progress home below RTL_RETURN_ALT
    assert max(p[2] for p in track) == pytest.approx(30.0, abs=0.8)
    assert bench.state.dist_home_xy() < 1.0 and bench.state.landed
    assert bench.state.mode.value == "HOLD"  # PX4 falls back to hold once disarmed
    texts = [m.text for m in bench.messages("STATUSTEXT")]
    for said in ("Returning to launch", "RTL: land at destination", "Landing detected"):
        assert any(said in t for t in texts), said
    assert any("Disarmed by landing" in t for t in texts)


def test_rtl_close_to_home_still_climbs_to_the_return_altitude_as_px4_sitl_does() -> None:
    bench = Bench(speed_factor=10.0)
    fly_to_hold(bench, 5.0)
    near = destination(HOME, 0.0, 13.0)
    bench.upload([waypoint(0, near.lat, near.lon, 5.0)])
    bench.run(1.5)
    bench.set_mode(4, 4)
    bench.run_until(lambda s: distance_m(s.latlon(), near) < 1 and s.body.ground_speed < 0.1, 60)
    bench.command(20)
    track = bench.track(lambda s: not s.armed, 120)
    assert max(p[2] for p in track) == pytest.approx(30.0, abs=1.0)


def test_rtl_over_home_lands_without_climbing() -> None:
    bench = Bench(speed_factor=10.0)
    fly_to_hold(bench, 5.0)
    bench.command(20)
    track = bench.track(lambda s: not s.armed, 60)
    assert max(p[2] for p in track) < 5.5


def test_landed_state_goes_takeoff_in_air_landing_on_ground() -> None:
    bench = Bench(speed_factor=2.0)
    seen = fly_to_hold(bench, 8.0)
    assert bench.command(21) == 0
    seen += bench.run_until(lambda s: not s.armed, 60)[1:]
    assert seen == [
        LandedState.ON_GROUND,
        LandedState.TAKEOFF,
        LandedState.IN_AIR,
        LandedState.LANDING,
        LandedState.ON_GROUND,
    ]
    assert bench.last("EXTENDED_SYS_STATE").landed_state == LandedState.ON_GROUND


def test_wind_raises_hover_power_and_the_airspeed_shown() -> None:
    calm, windy = Bench(speed_factor=10.0), Bench(speed_factor=10.0, wind_speed_mps=8.0)
    for bench in (calm, windy):
        fly_to_hold(bench, 10.0)
        bench.state.battery.consumed_wh = 0.0
        bench.run(3.0)
    assert windy.state.battery.consumed_wh > calm.state.battery.consumed_wh * 1.15
    assert windy.vehicle.truth()["airspeed_mps"] == pytest.approx(8.0, abs=0.3)
    assert math.isnan(windy.last("VFR_HUD").airspeed)  # no airspeed sensor, as on PX4's quad
    assert windy.last("VFR_HUD").groundspeed < 0.3
