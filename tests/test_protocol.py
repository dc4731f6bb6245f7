"""The v1 wire contract: every message round-trips, and no bytes make a parser misbehave."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.errors import ProtocolError
from edge.protocol import (
    Ack,
    Availability,
    DispatchCommand,
    Kind,
    Message,
    Telemetry,
    encode,
    parse,
    parse_availability,
    parse_command,
    parse_topic,
    signing_payload,
    subscription,
    topic,
)
from edge.protocol.codec import MAX_PAYLOAD_BYTES
from edge.protocol.schema import schemas, write_schemas
from tests import strategies

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
DISPATCH = {
    "v": 1,
    "id": "6f1c",
    "type": "dispatch",
    "dock_id": "dock-01",
    "issued_at": "2026-11-21T10:00:00Z",
    "expires_at": "2026-11-21T10:01:00Z",
    "body": {
        "incident_id": "INC-42",
        "target": {"lat": 51.5079, "lon": -0.0877},
        "alt_rel_m": 60,
        "priority": 1,
        "on_scene": {"pattern": "orbit", "radius_m": 40, "duration_s": 300},
    },
    "sig": None,
}


def _dumps(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_the_design_examples_parse_as_their_messages() -> None:
    cmd = parse_command(_dumps(DISPATCH))
    assert isinstance(cmd, DispatchCommand)
    assert cmd.body.target.lat == 51.5079
    assert cmd.body.on_scene is not None and cmd.body.on_scene.radius_m == 40
    ack = parse(
        Kind.ACK,
        _dumps(
            {
                "v": 1,
                "cmd_id": "6f1c",
                "dock_id": "dock-01",
                "ok": False,
                "code": "out_of_range",
                "reason": "target is 9.8 km away; limit 6.0 km",
                "at": "2026-11-21T10:00:00.120Z",
            }
        ),
    )
    assert isinstance(ack, Ack) and ack.code == "out_of_range"
    tel = parse(
        Kind.TELEMETRY,
        _dumps(
            {
                "v": 1,
                "dock_id": "dock-01",
                "t": "2026-11-21T10:00:00Z",
                "lat": 51.5,
                "lon": -0.08,
                "alt_rel_m": 59.8,
                "alt_amsl_m": 71.2,
                "heading_deg": 93.0,
                "ground_speed_mps": 14.9,
                "battery_pct": 81.5,
                "flight_mode": "MISSION",
                "armed": True,
                "in_air": True,
                "gps_fix": 3,
            }
        ),
    )
    assert isinstance(tel, Telemetry) and tel.flight_mode == "MISSION"


def test_unknown_fields_are_ignored() -> None:
    cmd = parse_command(_dumps({**DISPATCH, "colour": "blue"}))
    assert cmd.id == "6f1c"


@pytest.mark.parametrize(
    ("payload", "code", "cmd_id"),
    [
        (b"{not json", "malformed_json", None),
        (b"\xff\xfe", "malformed_json", None),
        (b"[1, 2]", "malformed_json", None),
        (b'{"v": 1, "x": NaN}', "malformed_json", None),
        (b"[" * 50_000 + b"]" * 50_000, "too_large", None),
        (b"[" * 30_000 + b"]" * 30_000, "malformed_json", None),
        (_dumps({**DISPATCH, "v": 2}), "unsupported_version", "6f1c"),
        (_dumps({**DISPATCH, "type": "selfdestruct"}), "unknown_type", "6f1c"),
        (_dumps({k: v for k, v in DISPATCH.items() if k != "type"}), "invalid_field", "6f1c"),
        (
            _dumps({**DISPATCH, "body": {**DISPATCH["body"], "target": {"lat": 91, "lon": 0}}}),  # type: ignore[dict-item]
            "invalid_field",
            "6f1c",
        ),
        (_dumps({**DISPATCH, "issued_at": "2026-11-21T10:00:00"}), "invalid_field", "6f1c"),
        (_dumps({**DISPATCH, "expires_at": "2026-11-21T09:00:00Z"}), "invalid_field", "6f1c"),
        (_dumps({**DISPATCH, "dock_id": "dock/#"}), "invalid_field", "6f1c"),
    ],
)
def test_bad_commands_are_refused_with_a_code_and_the_id_when_readable(
    payload: bytes, code: str, cmd_id: str | None
) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_command(payload)
    assert info.value.code == code
    assert info.value.cmd_id == cmd_id
    assert info.value.reason


def test_refusal_reasons_name_the_bad_field() -> None:
    bad = {**DISPATCH, "body": {**DISPATCH["body"], "alt_rel_m": -5}}  # type: ignore[dict-item]
    with pytest.raises(ProtocolError) as info:
        parse_command(_dumps(bad))
    assert "body.dispatch.alt_rel_m" in info.value.reason or "alt_rel_m" in info.value.reason


def test_payload_size_limit_is_enforced_before_parsing() -> None:
    with pytest.raises(ProtocolError) as info:
        parse(Kind.EVENTS, b" " * (MAX_PAYLOAD_BYTES + 1))
    assert info.value.code == "too_large"


@pytest.mark.parametrize(
    ("kind", "strategy"),
    [
        (Kind.STATE, strategies.states),
        (Kind.TELEMETRY, strategies.telemetry),
        (Kind.EVENTS, strategies.events),
        (Kind.DETECTIONS, strategies.detections),
        (Kind.ACK, strategies.acks),
    ],
)
@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_message_round_trips_through_its_wire_form(
    kind: Kind, strategy: st.SearchStrategy[Message], data: st.DataObject
) -> None:
    message = data.draw(strategy)
    assert parse(kind, encode(message)) == message


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(command=strategies.commands)
def test_every_command_round_trips_and_signs_the_same_after_transit(command: Message) -> None:
    again = parse_command(encode(command))
    assert again == command
    assert signing_payload(again) == signing_payload(command)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@settings(max_examples=400)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_only_ever_raise_a_protocol_error(data: bytes) -> None:
    for kind in Kind:
        try:
            if kind is Kind.AVAILABILITY:
                parse_availability(data)
            else:
                parse(kind, data)
        except ProtocolError as exc:
            assert exc.code and exc.reason


@settings(max_examples=150)
@given(
    st.dictionaries(
        st.sampled_from(["v", "id", "type", "dock_id", "issued_at", "expires_at", "body", "sig"])
        | st.text(max_size=8),
        json_values,
    )
)
def test_arbitrary_json_objects_only_ever_raise_a_protocol_error(obj: dict[str, object]) -> None:
    payload = _dumps(obj)
    try:
        parse_command(payload)
    except ProtocolError as exc:
        assert exc.code in {
            "malformed_json",
            "invalid_field",
            "unknown_type",
            "unsupported_version",
            "too_large",
        }


@settings(max_examples=200)
@given(body=json_values)
def test_arbitrary_dispatch_bodies_only_ever_raise_a_protocol_error(body: object) -> None:
    try:
        parse_command(_dumps({**DISPATCH, "body": body}))
    except ProtocolError as exc:
        assert exc.code == "invalid_field" and exc.cmd_id == "6f1c"


def test_signing_payload_ignores_field_order_and_the_signature() -> None:
    a = parse_command(_dumps(DISPATCH))
    reordered = dict(reversed(list(DISPATCH.items())))
    b = parse_command(_dumps({**reordered, "sig": "abc"}))
    assert signing_payload(a) == signing_payload(b)
    later = parse_command(_dumps({**DISPATCH, "expires_at": "2026-11-21T10:02:00Z"}))
    assert signing_payload(later) != signing_payload(a)


def test_expiry_is_judged_against_the_given_clock() -> None:
    cmd = parse_command(_dumps(DISPATCH))
    assert not cmd.expired(NOW + timedelta(seconds=59))
    assert cmd.expired(NOW + timedelta(seconds=61))


def test_topics_are_built_and_parsed_per_dock() -> None:
    assert topic("dock-01", Kind.STATE) == "dfr/v1/dock-01/state"
    assert subscription(Kind.EVENTS) == "dfr/v1/+/events"
    assert parse_topic("dfr/v1/dock-01/cmd") == ("dock-01", Kind.CMD)
    for bad in ["dfr/v1/dock-01/nope", "dfr/v2/dock-01/state", "dfr/v1/+/state", "x"]:
        with pytest.raises(ProtocolError) as info:
            parse_topic(bad)
        assert info.value.code == "unknown_topic"
    with pytest.raises(ProtocolError):
        topic("dock/01", Kind.STATE)


def test_availability_is_plain_text() -> None:
    assert parse_availability(b"online") is Availability.ONLINE
    with pytest.raises(ProtocolError):
        parse_availability(b'"online"')


def test_schema_export_covers_every_topic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    docs = schemas()
    assert set(docs) == {k.value for k in Kind}
    assert "dispatch" in json.dumps(docs["cmd"])
    written = write_schemas(tmp_path)
    assert {p.name for p in written} == {f"{k.value}.schema.json" for k in Kind}
    assert json.loads((tmp_path / "state.schema.json").read_text())["$id"].endswith(
        "state.schema.json"
    )


PHYSICS = ("edge.energy", "edge.flight", "edge.sortie", "edge.feasibility", "edge.airspace")


def test_the_wire_contract_imports_no_energy_model_flight_or_sortie_code() -> None:
    script = (
        "import sys, edge.protocol, edge.protocol.schema, edge.protocol.signing;"
        f"print([m for m in sys.modules if m.startswith({PHYSICS!r})])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
