"""Hostile input never stops the sim vehicle: random bytes, and valid messages with wild values."""

from __future__ import annotations

import json
import math
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymavlink.dialects.v20 import common as mavlink

from edge.errors import ConfigError
from sim.vehicle.config import parse_home
from sim.vehicle.control import answer
from sim.vehicle.faults import parse_fault
from tests.sim.harness import Bench

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COMMANDS = [400, 22, 21, 20, 176, 300, 192, 34, 178, 179, 224, 511, 512, 520, 410, 185, 246]
# Messages the vehicle acts on, plus a few it should ignore.
HANDLED = [0, 4, 11, 20, 21, 23, 39, 40, 41, 43, 44, 45, 47, 51, 73, 75, 76, 111, 77, 69]
wild_float = st.floats(allow_nan=True, allow_infinity=True, width=32)
CONTROL_OPS = ["state", "fault", "clear", "wind", "speed_factor", "param", "charge", "nope"]
CONTROL_KEYS = ["op", "fault", "kind", "speed_mps", "from_deg", "value", "name", "pct", "x"]
CONTROL_CODES = {
    "malformed_json", "unknown_type", "invalid_field", "invalid_fault", "out_of_range",
}  # fmt: skip


def frame(msgid: int, payload: bytes, seq: int = 0) -> bytes:
    """A MAVLink 2 frame with a correct checksum around any payload."""
    crc_extra = mavlink.mavlink_map[msgid].crc_extra
    header = struct.pack(
        "<BBBBBBBHB", 0xFD, len(payload), 0, 0, seq, 255, 190, msgid & 0xFFFF, msgid >> 16
    )
    crc = mavlink.x25crc(header[1:] + payload)
    crc.accumulate(bytes([crc_extra]))
    return header + payload + struct.pack("<H", crc.crc)


def assert_still_flying(bench: Bench) -> None:
    bench.run(1.0, step=0.1)
    b = bench.state.body
    assert all(math.isfinite(v) for v in (b.n, b.e, b.d, b.vn, b.ve, b.vd, b.yaw, b.roll))
    assert math.isfinite(bench.state.battery.remaining_wh)
    assert bench.vehicle.link.stats.errors == 0  # no handler raised
    bench.clear()
    bench.send(mavlink.MAVLink_ping_message(1, 99, 0, 0))
    assert bench.last("PING").seq == 99


@FUZZ
@given(st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=5))
def test_random_datagrams_are_counted_as_garbage_and_ignored(datagrams: list[bytes]) -> None:
    bench = Bench()
    for data in datagrams:
        bench.send_raw(data)
    link = bench.vehicle.link.stats
    assert link.garbage + link.received >= 1
    assert_still_flying(bench)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(HANDLED), st.binary(min_size=1, max_size=60)),
                min_size=1, max_size=8))  # fmt: skip
def test_valid_frames_with_random_payloads_never_break_the_vehicle(
    frames: list[tuple[int, bytes]],
) -> None:
    bench = Bench(speed_factor=5.0)
    bench.arm()
    for seq, (msgid, payload) in enumerate(frames):
        size = mavlink.mavlink_map[msgid].unpacker.size
        bench.send_raw(frame(msgid, payload[:size], seq % 256))
    assert_still_flying(bench)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(COMMANDS),
            st.lists(wild_float, min_size=7, max_size=7),
            st.integers(-(2**31), 2**31 - 1),
            st.integers(-(2**31), 2**31 - 1),
            st.integers(0, 20),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_commands_with_wild_parameters_are_all_acked_and_flown_safely(
    commands: list[tuple[int, list[float], int, int, int]],
) -> None:
    bench = Bench(speed_factor=5.0, frame_rule="any_global")
    bench.send_param("MIS_TAKEOFF_ALT", 5.0)
    bench.arm()
    bench.command(22)
    bench.run(3.0, step=0.1)
    for command, p, x, y, frame_ in commands:
        bench.clear()
        bench.send(mavlink.MAVLink_command_long_message(1, 1, command, 0, *p))
        bench.send(
            mavlink.MAVLink_command_int_message(1, 1, frame_, command, 0, 0, *p[:4], x, y, p[6])
        )
        acks = [a for a in bench.messages("COMMAND_ACK") if a.command == command]
        assert len(acks) >= 2  # one answer to each, whatever the values
        bench.run(0.5, step=0.1)
    assert_still_flying(bench)


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.builds(lambda c, t: mavlink.MAVLink_mission_count_message(1, 1, c, t),
                      st.integers(0, 65535), st.integers(0, 255)),
            st.builds(lambda s, t: mavlink.MAVLink_mission_request_int_message(1, 1, s, t),
                      st.integers(0, 65535), st.integers(0, 3)),
            st.builds(lambda s: mavlink.MAVLink_mission_set_current_message(1, 1, s),
                      st.integers(0, 65535)),
            st.builds(lambda t: mavlink.MAVLink_mission_clear_all_message(1, 1, t),
                      st.integers(0, 255)),
            st.builds(
                lambda s, f, c, p, x, y, z: mavlink.MAVLink_mission_item_int_message(
                    1, 1, s, f, c, 0, 1, *p, x, y, z, 0),
                st.integers(0, 5), st.integers(0, 20), st.sampled_from([16, 17, 18, 19, 20, 21,
                22, 93, 177, 178, 5001, 9999]), st.lists(wild_float, min_size=4, max_size=4),
                st.integers(-(2**31), 2**31 - 1), st.integers(-(2**31), 2**31 - 1), wild_float,
            ),
            st.builds(lambda n, v, t: mavlink.MAVLink_param_set_message(1, 1, n, v, t),
                      st.binary(max_size=16), wild_float, st.integers(0, 255)),
        ),
        min_size=1,
        max_size=12,
    )
)  # fmt: skip
def test_hostile_mission_and_parameter_traffic_never_breaks_the_vehicle(msgs: list[object]) -> None:
    bench = Bench(speed_factor=5.0)
    bench.arm()
    for msg in msgs:
        bench.send(msg)
    bench.command(176, 1, 4, 4)  # try to fly whatever was accepted
    bench.run(4.0, step=0.1)
    assert_still_flying(bench)


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.sampled_from(CONTROL_KEYS), inner, max_size=5)
            ),
            max_leaves=12,
        ).map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {"op": st.sampled_from(CONTROL_OPS)},
            optional={
                key: st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=30)
                for key in CONTROL_KEYS[1:]
            },
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_any_control_socket_line_gets_a_coded_reply_and_never_raises(line: bytes) -> None:
    bench = Bench()
    reply = answer(bench.vehicle, line)
    assert isinstance(reply["ok"], bool)
    assert reply["ok"] or reply["code"] in CONTROL_CODES
    assert_still_flying(bench)


@FUZZ
@given(st.text(max_size=60))
def test_fault_and_home_specs_parse_or_are_refused_with_a_code(text: str) -> None:
    for parse in (parse_fault, parse_home):
        try:
            parse(text)
        except ConfigError as exc:
            assert exc.code in ("invalid_fault", "invalid_home")
