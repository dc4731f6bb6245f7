"""The sim vehicle's MAVLink answers: commands, frames, parameters and the mission protocol."""

from __future__ import annotations

import math
import struct

import pytest
from pymavlink.dialects.v20 import common as mavlink

from edge.flight.mavlink_enums import (
    MAV_MISSION_ACCEPTED,
    MAV_MISSION_INVALID_PARAM5_X,
    MAV_MISSION_INVALID_PARAM7,
    MAV_MISSION_INVALID_SEQUENCE,
    MAV_MISSION_UNSUPPORTED,
    MAV_MISSION_UNSUPPORTED_FRAME,
    MAV_RESULT_ACCEPTED,
    MAV_RESULT_DENIED,
    MAV_RESULT_TEMPORARILY_REJECTED,
    MAV_RESULT_UNSUPPORTED,
)
from edge.geo import LatLon, destination
from sim.vehicle.autopilot.mission_runner import MissionState
from sim.vehicle.autopilot.modes import LandedState
from sim.vehicle.mavlink.framing import frame
from sim.vehicle.mavlink.messages import MSG, statustexts
from sim.vehicle.mavlink.streams import PX4_RATES_HZ
from sim.vehicle.physics.battery import ChargeState
from tests.sim.harness import Bench, waypoint

HOME = LatLon(47.397742, 8.545594)
POINT = destination(HOME, 45.0, 100.0)


def test_heartbeat_says_px4_quadrotor_in_auto_loiter_and_standby() -> None:
    bench = Bench()
    bench.run(1.1)
    hb = bench.last("HEARTBEAT")
    assert (hb.type, hb.autopilot, hb.system_status) == (2, 12, 3)
    assert hb.base_mode & 1 and not hb.base_mode & 128
    assert ((hb.custom_mode >> 16) & 0xFF, hb.custom_mode >> 24) == (4, 3)
    assert bench.arm() == MAV_RESULT_ACCEPTED
    bench.run(1.1)
    hb = bench.last("HEARTBEAT")
    assert hb.base_mode & 128 and hb.system_status == 4


def test_every_stream_goes_out_at_px4s_wall_clock_rate_whatever_the_speed_factor() -> None:
    bench = Bench(speed_factor=25.0)
    bench.run(4.0, step=0.005)
    counts = {name: len(bench.messages(name)) / 4.0 for name in (
        "ATTITUDE", "GLOBAL_POSITION_INT", "LOCAL_POSITION_NED", "SYS_STATUS", "HEARTBEAT",
        "HOME_POSITION", "BATTERY_STATUS", "EXTENDED_SYS_STATE", "GPS_RAW_INT", "VFR_HUD",
    )}  # fmt: skip
    expected = {
        "ATTITUDE": 100, "GLOBAL_POSITION_INT": 50, "LOCAL_POSITION_NED": 30, "SYS_STATUS": 5,
        "HEARTBEAT": 1, "HOME_POSITION": 0.5, "BATTERY_STATUS": 0.5, "EXTENDED_SYS_STATE": 5,
        "GPS_RAW_INT": 8, "VFR_HUD": 10,
    }  # fmt: skip
    for name, hz in expected.items():
        assert counts[name] == pytest.approx(hz, rel=0.15, abs=0.3), name


def test_set_message_interval_and_request_message_are_honoured() -> None:
    bench = Bench()
    assert bench.command(511, 33, 200_000) == MAV_RESULT_ACCEPTED  # GLOBAL_POSITION_INT at 5 Hz
    bench.clear()
    bench.run(2.0, step=0.01)
    assert len(bench.messages("GLOBAL_POSITION_INT")) == pytest.approx(10, abs=1)
    assert bench.command(511, 30, -1) == MAV_RESULT_ACCEPTED  # ATTITUDE off
    bench.clear()
    bench.run(1.0)
    assert not bench.messages("ATTITUDE")
    assert bench.command(512, 148) == MAV_RESULT_ACCEPTED
    version = bench.last("AUTOPILOT_VERSION")
    assert version.capabilities & 0x4 and version.capabilities & 0x8  # MISSION_INT, COMMAND_INT
    assert bench.command(512, 242) == MAV_RESULT_ACCEPTED and bench.messages("HOME_POSITION")
    assert bench.command(512, 9999) == MAV_RESULT_DENIED


def test_unknown_commands_are_unsupported_and_a_missionless_start_is_denied() -> None:
    bench = Bench()
    assert bench.command(31_337) == MAV_RESULT_UNSUPPORTED
    assert bench.command(300) == MAV_RESULT_DENIED
    assert "No valid mission" in bench.last("STATUSTEXT").text
    assert bench.command(176, 0, 4, 4) == MAV_RESULT_DENIED  # no custom-mode flag


def test_set_mode_is_acked_once_and_only_flyable_modes_are_taken_when_armed() -> None:
    bench = Bench()
    bench.command(176, 1, 3, 0)  # POSCTL on the ground: PX4 lets it be selected
    assert [a.result for a in bench.messages("COMMAND_ACK")] == [0]
    assert bench.state.mode.value == "POSCTL"
    assert bench.arm() == MAV_RESULT_TEMPORARILY_REJECTED  # but not armed without sticks
    bench.command(176, 1, 4, 3)
    assert bench.arm() == MAV_RESULT_ACCEPTED
    bench.command(176, 1, 3, 0)
    assert [a.result for a in bench.messages("COMMAND_ACK")] == [1]
    assert "Switching to Position is currently not available" in bench.last("STATUSTEXT").text
    assert bench.state.mode.value == "HOLD"


def test_set_mode_was_acked_twice_by_px4_before_2026_05() -> None:
    bench = Bench(frame_rule="global_int_only")
    bench.command(176, 1, 3, 0)
    assert [a.result for a in bench.messages("COMMAND_ACK")] == [0, 0]
    bench.command(176, 1, 4, 3)
    bench.arm()
    bench.command(176, 1, 3, 0)
    assert [a.result for a in bench.messages("COMMAND_ACK")] == [0, 1]


def test_command_int_is_taken_in_any_frame_its_altitude_above_sea_level_as_px4_main_does() -> None:
    bench = Bench(speed_factor=10.0)
    bench.send_param("MIS_TAKEOFF_ALT", 5.0)
    bench.arm()
    bench.command(22)
    bench.run_until(lambda s: s.mode.value == "HOLD" and not s.landed, 60)
    x, y = round(POINT.lat * 1e7), round(POINT.lon * 1e7)
    for mav_frame in (0, 3, 6, 5):
        z = bench.state.origin.alt_amsl + 12.0
        assert bench.command(192, -1, 1, frame=mav_frame, x=x, y=y, z=z) == MAV_RESULT_ACCEPTED
    bench.run_until(lambda s: s.body.ground_speed < 0.05 and s.dist_home_xy() > 99.0, 60)
    assert bench.state.body.alt == pytest.approx(12.0, abs=0.3)
    # a relative frame's 12 m is 12 m above sea level: PX4 main flies down to the ground
    assert bench.command(192, -1, 1, frame=6, x=x, y=y, z=12.0) == MAV_RESULT_ACCEPTED
    bench.run_until(lambda s: s.landed, 120)


def test_command_int_was_accepted_only_in_global_int_from_2026_02_to_05() -> None:
    bench = Bench(frame_rule="global_int_only")
    bench.arm()
    x, y = round(POINT.lat * 1e7), round(POINT.lon * 1e7)
    for mav_frame in (0, 3, 6):
        assert bench.command(192, -1, 1, frame=mav_frame, x=x, y=y, z=500.0) == 9
    assert bench.command(192, -1, 1, frame=5, x=x, y=y, z=500.0) == MAV_RESULT_ACCEPTED


def test_any_global_frame_rule_takes_relative_frames_as_height_above_home() -> None:
    bench = Bench(frame_rule="any_global", speed_factor=10.0)
    bench.send_param("MIS_TAKEOFF_ALT", 5.0)
    bench.arm()
    bench.command(22)
    bench.run_until(lambda s: s.mode.value == "HOLD" and not s.landed, 60)
    x, y = round(POINT.lat * 1e7), round(POINT.lon * 1e7)
    assert bench.command(192, -1, 1, frame=6, x=x, y=y, z=12.0) == MAV_RESULT_ACCEPTED
    bench.run_until(lambda s: s.body.ground_speed < 0.05 and s.dist_home_xy() > 99.0, 60)
    assert bench.state.body.alt == pytest.approx(12.0, abs=0.3)
    assert bench.command(192, -1, 1, frame=1, x=x, y=y, z=12.0) == 9


def test_positions_off_the_earth_are_denied() -> None:
    bench = Bench()
    assert bench.command(179, 0, 0, 0, 0, 1e30, 8.5, 500.0) == MAV_RESULT_DENIED  # DO_SET_HOME
    assert bench.command(192, -1, 1, 0, 0, 47.4, 400.0, 500.0) == MAV_RESULT_DENIED  # reposition
    assert bench.command(192, -1, 1, 0, 0, 47.4, 8.5, 1e9) == MAV_RESULT_DENIED
    bench.run(1.1)
    assert bench.last("HOME_POSITION").latitude == round(HOME.lat * 1e7)


def test_arming_and_disarming_follow_px4s_rules() -> None:
    bench = Bench(speed_factor=10.0)
    assert bench.command(400, 0) == MAV_RESULT_ACCEPTED  # disarm when disarmed: fine
    bench.send_param("MIS_TAKEOFF_ALT", 5.0)
    assert bench.arm() == MAV_RESULT_ACCEPTED
    bench.command(22)
    bench.run_until(lambda s: not s.landed and s.body.alt > 3, 30)
    assert bench.command(400, 0) == MAV_RESULT_TEMPORARILY_REJECTED  # in the air
    assert any("not landed" in m.text for m in bench.messages("STATUSTEXT"))
    assert bench.command(400, 0, 21196) == MAV_RESULT_ACCEPTED  # forced: motors off
    bench.run_until(lambda s: s.body.alt <= 0.0, 10)


def test_parameters_are_listed_sorted_with_int32_sent_bytewise() -> None:
    bench = Bench()
    bench.send(mavlink.MAVLink_param_request_list_message(1, 1))
    values = bench.messages("PARAM_VALUE")
    names = [v.param_id for v in values]
    assert names == sorted(names) and len(names) == values[0].param_count
    assert [v.param_index for v in values] == list(range(len(values)))
    for name in ("MIS_TAKEOFF_ALT", "MPC_XY_CRUISE", "RTL_RETURN_ALT", "NAV_DLL_ACT"):
        assert name in names
    dll = next(v for v in values if v.param_id == "COM_DL_LOSS_T")
    assert dll.param_type == 6
    assert struct.unpack("<i", struct.pack("<f", dll.param_value))[0] == 10


def test_param_set_is_echoed_twice_and_a_wrong_type_is_refused() -> None:
    bench = Bench()
    bench.clear()
    bench.send_param("NAV_DLL_ACT", 2)
    echoes = bench.messages("PARAM_VALUE")
    assert len(echoes) == 2 and bench.state.params.get_int("NAV_DLL_ACT") == 2
    bench.clear()
    bench.send(mavlink.MAVLink_param_set_message(1, 1, b"NAV_DLL_ACT", 3.0, 9))  # REAL32
    bench.send(mavlink.MAVLink_param_set_message(1, 1, b"NO_SUCH_PARAM", 1.0, 9))
    assert not bench.messages("PARAM_VALUE")
    assert bench.state.params.get_int("NAV_DLL_ACT") == 2
    bench.send(mavlink.MAVLink_param_request_read_message(1, 1, b"RTL_RETURN_ALT", -1))
    assert bench.last("PARAM_VALUE").param_value == pytest.approx(30.0)


def test_mission_upload_download_set_current_and_clear() -> None:
    bench = Bench()
    items = [waypoint(i, POINT.lat + i * 1e-4, POINT.lon, 20.0 + i) for i in range(3)]
    assert bench.upload(items) == MAV_MISSION_ACCEPTED
    bench.clear()
    bench.send(mavlink.MAVLink_mission_request_list_message(1, 1, 0))
    assert bench.last("MISSION_COUNT").count == 3
    for seq in range(3):
        bench.send(mavlink.MAVLink_mission_request_int_message(1, 1, seq, 0))
        got = bench.last("MISSION_ITEM_INT")
        assert (got.seq, got.x, got.z, got.current) == (seq, items[seq].x, 20.0 + seq, seq == 0)
    bench.send(mavlink.MAVLink_mission_request_int_message(1, 1, 7, 0))
    assert bench.last("MISSION_ACK").type == MAV_MISSION_INVALID_SEQUENCE
    bench.send(mavlink.MAVLink_mission_set_current_message(1, 1, 2))
    assert bench.last("MISSION_CURRENT").seq == 2
    bench.send(mavlink.MAVLink_mission_clear_all_message(1, 1, 0))
    assert bench.last("MISSION_ACK").type == MAV_MISSION_ACCEPTED
    bench.send(mavlink.MAVLink_mission_request_list_message(1, 1, 0))
    assert bench.last("MISSION_COUNT").count == 0


@pytest.mark.parametrize(
    ("item", "result"),
    [
        (waypoint(0, POINT.lat, POINT.lon, 20.0, command=31_000), MAV_MISSION_UNSUPPORTED),
        (waypoint(0, 91.0, POINT.lon, 20.0), MAV_MISSION_INVALID_PARAM5_X),
        (waypoint(0, POINT.lat, POINT.lon, math.nan), MAV_MISSION_INVALID_PARAM7),
    ],
)
def test_a_bad_item_ends_the_upload_with_px4s_reason(item: object, result: int) -> None:
    bench = Bench()
    assert bench.upload([item]) == result
    bench.send(mavlink.MAVLink_mission_request_list_message(1, 1, 0))
    assert bench.last("MISSION_COUNT").count == 0


def test_an_item_in_a_local_frame_is_refused_as_an_unsupported_frame() -> None:
    bench = Bench()
    item = waypoint(0, POINT.lat, POINT.lon, 20.0)
    item.frame = 1
    assert bench.upload([item]) == MAV_MISSION_UNSUPPORTED_FRAME


def test_a_missing_item_is_asked_for_again_until_the_upload_times_out() -> None:
    bench = Bench()
    bench.clear()
    bench.send(mavlink.MAVLink_mission_count_message(1, 1, 2, 0))
    bench.send(waypoint(0, POINT.lat, POINT.lon, 20.0))
    bench.run(1.0)
    asks = [m.seq for m in bench.messages("MISSION_REQUEST_INT")]
    assert asks[:2] == [0, 1] and asks.count(1) >= 3
    bench.run(6.0)
    bench.clear()
    bench.run(1.0)
    assert not bench.messages("MISSION_REQUEST_INT")


def test_geofence_and_rally_points_are_kept_apart_from_the_plan() -> None:
    bench = Bench()
    fence = [waypoint(i, POINT.lat + i * 1e-4, POINT.lon, 0.0, command=5001) for i in range(3)]
    for item in fence:
        item.mission_type, item.param1 = 1, 3
    assert bench.upload(fence, mission_type=1) == MAV_MISSION_ACCEPTED
    bench.send(mavlink.MAVLink_mission_request_list_message(1, 1, 0))
    assert bench.last("MISSION_COUNT").count == 0
    bench.send(mavlink.MAVLink_mission_request_list_message(1, 1, 1))
    assert bench.last("MISSION_COUNT").count == 3


def test_ping_and_timesync_are_answered() -> None:
    bench = Bench()
    bench.clear()
    bench.send(mavlink.MAVLink_ping_message(123, 7, 0, 0))
    pong = bench.last("PING")
    assert (pong.seq, pong.target_system, pong.target_component) == (7, 255, 190)
    bench.send(mavlink.MAVLink_timesync_message(0, 42))
    assert bench.last("TIMESYNC").ts1 == 42


def test_fast_framing_gives_pymavlink_s_bytes_for_every_message_the_vehicle_sends() -> None:
    bench = Bench(frame_rule="any_global")
    bench.arm()
    bench.command(22)
    bench.run(3.0)
    telemetry = bench.vehicle.telemetry
    messages = [telemetry.build(mid) for mid in PX4_RATES_HZ if telemetry.build(mid)]
    messages += [telemetry.build(148), waypoint(0, POINT.lat, POINT.lon, 20.0)]
    messages += statustexts(6, "x" * 120, 7)
    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    for seq, msg in enumerate(messages):
        mav.seq = seq
        assert frame(msg, seq, 1) == msg.pack(mav), msg.get_type()


def test_the_sims_own_mavlink_enums_have_pymavlinks_values() -> None:
    for ours, theirs in (
        (LandedState, "MAV_LANDED_STATE"),
        (ChargeState, "MAV_BATTERY_CHARGE_STATE"),
        (MissionState, "MISSION_STATE"),
    ):
        for member in ours:
            assert getattr(mavlink, f"{theirs}_{member.name}") == member.value, member
    ids = {name: value for name, value in vars(MSG).items() if name.isupper()}
    for name, value in ids.items():
        assert getattr(mavlink, f"MAVLINK_MSG_ID_{name}") == value, name
