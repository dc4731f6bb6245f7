"""PX4's failsafes in the sim vehicle, on a fake clock: battery, data link and position."""

from __future__ import annotations

import math

from edge.geo import LatLon, destination
from sim.vehicle.faults import parse_fault
from tests.sim.harness import Bench, waypoint

HOME = LatLon(47.397742, 8.545594)
AWAY = destination(HOME, 120.0, 600.0)


def flying_mission(**params: float) -> Bench:
    """A vehicle 100 m along a 600 m mission leg at 15 m."""
    bench = Bench(speed_factor=10.0, params=params)
    assert bench.upload([waypoint(0, AWAY.lat, AWAY.lon, 15.0)]) == 0
    bench.run(1.5)
    assert bench.arm() == 0 and bench.set_mode(4, 4) == 0
    bench.run_until(lambda s: s.dist_home_xy() > 100.0, 60)
    return bench


def texts(bench: Bench) -> list[str]:
    return [m.text for m in bench.messages("STATUSTEXT")]


def test_com_low_bat_act_0_only_warns() -> None:
    bench = flying_mission(COM_LOW_BAT_ACT=0)
    bench.vehicle.faults.inject(parse_fault("battery_sag:to=6"))
    bench.run(1.0)
    assert bench.state.mode.value == "MISSION"
    assert any("Critical battery" in t for t in texts(bench))


def test_px4_sitl_returns_at_critical_battery_out_of_the_box() -> None:
    bench = flying_mission()
    bench.vehicle.faults.inject(parse_fault("battery_sag:to=6"))
    bench.run(1.0)
    assert bench.state.mode.value == "RETURN_TO_LAUNCH"


def test_critical_battery_returns_and_emergency_battery_lands_with_com_low_bat_act_3() -> None:
    bench = flying_mission(COM_LOW_BAT_ACT=3)
    bench.vehicle.faults.inject(parse_fault("battery_sag:to=14"))
    bench.run(0.5)
    assert bench.state.mode.value == "MISSION"
    assert any("Low battery" in t for t in texts(bench))
    bench.vehicle.faults.inject(parse_fault("battery_sag:to=6.5"))
    bench.run(1.1)
    assert bench.state.mode.value == "RETURN_TO_LAUNCH"
    assert bench.state.failsafe == "battery critical"
    assert bench.last("HEARTBEAT").system_status == 5  # MAV_STATE_CRITICAL
    bench.vehicle.faults.inject(parse_fault("battery_sag:to=4"))
    bench.run(0.5)
    assert bench.state.mode.value == "LAND"
    bench.run_until(lambda s: not s.armed, 120)
    assert bench.state.dist_home_xy() > 50.0  # landed where it was, not at home


def test_com_low_bat_act_2_holds_for_com_fail_act_t_then_lands() -> None:
    bench = flying_mission(COM_LOW_BAT_ACT=2)
    bench.vehicle.faults.inject(parse_fault("battery_sag:to=6"))
    bench.run(0.3)  # 3 s at 10x: inside PX4's 5 s failsafe hold
    assert bench.state.mode.value == "HOLD"
    assert "Failsafe activated: entering Hold for 5 seconds" in texts(bench)[-1]
    bench.run(0.3)
    assert bench.state.mode.value == "LAND"


def test_a_draining_battery_reaches_critical_by_itself_and_returns() -> None:
    bench = flying_mission(COM_LOW_BAT_ACT=3)
    bench.state.battery.set_pct(9.0)
    bench.vehicle.faults.inject(parse_fault("battery_sag:drain=5"))
    bench.run_until(lambda s: s.mode.value == "RETURN_TO_LAUNCH", 60)
    assert 5.0 < bench.state.battery.pct < 7.0  # held 5 s at critical first


def test_a_battery_draining_through_the_failsafe_hold_lands_instead_as_on_px4() -> None:
    bench = flying_mission(COM_LOW_BAT_ACT=3)
    bench.state.battery.set_pct(8.0)
    bench.vehicle.faults.inject(parse_fault("battery_sag:drain=30"))
    bench.run_until(lambda s: s.mode.value == "LAND", 60)
    said = texts(bench)
    assert said.index("Critical battery\t") < said.index("Emergency battery level\t")
    assert not any("Returning" in t for t in said)


def test_data_link_loss_starts_nav_dll_act_after_com_dl_loss_t_wall_seconds() -> None:
    bench = flying_mission(NAV_DLL_ACT=2, COM_DL_LOSS_T=5)
    bench.heartbeats = False  # the last one went out less than a second ago
    bench.run(3.9)
    assert bench.state.mode.value == "MISSION"
    bench.run_until(lambda s: s.mode.value != "MISSION", 1.2)
    assert bench.state.mode.value == "HOLD"  # COM_FAIL_ACT_T: hold first, 5 s simulated
    assert bench.state.failsafe == "data link lost"
    bench.run(0.6)
    assert bench.state.mode.value == "RETURN_TO_LAUNCH"
    bench.heartbeats = True
    bench.run(1.5)
    assert "GCS connection regained\t" in texts(bench)
    assert bench.state.mode.value == "RETURN_TO_LAUNCH"  # PX4 does not resume the mission


def test_data_link_loss_does_nothing_with_px4s_default_nav_dll_act() -> None:
    bench = flying_mission(COM_DL_LOSS_T=5)
    bench.heartbeats = False
    bench.run(7.0)
    assert bench.state.mode.value == "MISSION"
    assert "Connection to ground station lost\t" in texts(bench)


def test_com_dll_except_keeps_a_mission_going_through_a_link_loss() -> None:
    bench = flying_mission(NAV_DLL_ACT=2, COM_DL_LOSS_T=5, COM_DLL_EXCEPT=1)
    bench.heartbeats = False
    bench.run(7.0)
    assert bench.state.mode.value == "MISSION"


def test_link_loss_fault_silences_both_directions_for_its_duration() -> None:
    bench = flying_mission(NAV_DLL_ACT=3, COM_DL_LOSS_T=5)
    bench.vehicle.faults.inject(parse_fault("link_loss:8"))
    bench.clear()
    bench.run_until(lambda s: s.mode.value == "LAND", 7.0)  # heartbeats sent never arrived
    assert bench.state.failsafe == "data link lost"
    bench.run(1.0)
    assert not bench.messages()  # nothing went out during the loss
    bench.run(3.0)
    assert bench.last("HEARTBEAT")  # back once the loss is over
    assert not any("data link lost, LAND" in t for t in texts(bench))  # said while unheard


def test_gps_loss_blocks_arming_and_in_flight_descends_drifting_with_the_wind() -> None:
    bench = Bench(speed_factor=10.0, wind_speed_mps=5.0, wind_from_deg=270.0)
    bench.vehicle.faults.inject(parse_fault("gps_loss"))
    bench.run(0.5)
    assert not bench.last("SYS_STATUS").onboard_control_sensors_health & 0x20
    assert bench.last("GPS_RAW_INT").fix_type < 3
    assert bench.arm() == 1  # TEMPORARILY_REJECTED
    bench.vehicle.faults.clear()
    bench.send_param("MIS_TAKEOFF_ALT", 20.0)
    bench.arm()
    bench.command(22, *[math.nan] * 7)
    bench.run_until(lambda s: s.mode.value == "HOLD" and s.body.alt > 19.0, 60)
    bench.vehicle.faults.inject(parse_fault("gps_loss"))
    bench.clear()
    bench.run(1.0)
    assert bench.state.mode.value == "LAND"
    assert not bench.messages("GLOBAL_POSITION_INT")
    bench.run_until(lambda s: not s.armed, 120)
    drift_east = bench.state.body.e
    assert drift_east > 20.0  # blown east by a westerly wind while it came down


def test_a_land_command_without_gps_is_accepted_and_descends_where_it_is() -> None:
    bench = flying_mission()
    bench.vehicle.faults.inject(parse_fault("gps_loss"))
    assert bench.command(21) == 0  # even before the failsafe: land needs no position
    assert bench.command(21) == 0  # and asking again for the present mode is fine
    assert bench.set_mode(4, 5) == 1  # a return does need one
    bench.run_until(lambda s: not s.armed, 120)
    assert bench.state.dist_home_xy() > 50.0
