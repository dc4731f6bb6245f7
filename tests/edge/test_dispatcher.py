"""Command checks and acks: every refusal has its code, nothing a payload holds escapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.comms.dispatcher import CommandDispatcher, Outcome
from edge.errors import RefusedError
from edge.outbox import Outbox
from edge.protocol import Ack, AckCode, Command, parse_command
from edge.protocol.signing import sign

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()


def command(**changes: Any) -> dict[str, Any]:
    cmd: dict[str, Any] = {
        "v": 1,
        "id": "c-1",
        "type": "ping",
        "dock_id": "dock-01",
        "issued_at": NOW.isoformat(),
        "expires_at": (NOW + timedelta(seconds=60)).isoformat(),
        "body": {},
    }
    cmd.update(changes)
    return cmd


def signed(**changes: Any) -> bytes:
    return (
        sign(parse_command(json.dumps(command(**changes)).encode()), KEY).model_dump_json().encode()
    )


class Harness:
    def __init__(self, tmp_path: Path, *, signing: bool = False) -> None:
        self.box = Outbox(tmp_path / "e.sqlite3")
        self.box.open()
        self.acks: list[Ack] = []
        self.handled: list[Command] = []
        self.now = NOW

        async def ok(cmd: Command, received: float) -> Outcome:
            self.handled.append(cmd)
            return Outcome(sortie_id="S-1")

        async def busy(cmd: Command, received: float) -> Outcome:
            raise RefusedError("a sortie is in progress", code="busy")

        async def broken(cmd: Command, received: float) -> Outcome:
            raise ZeroDivisionError

        self.dispatcher = CommandDispatcher(
            "dock-01",
            {"ping": ok, "recall": busy, "abort": broken},
            self.box,
            self.acks.append,
            public_key=KEY.public_key() if signing else None,
            window_s=120,
            clock=lambda: self.now,
        )

    async def send(self, payload: bytes | dict[str, Any]) -> Ack:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return await self.dispatcher.handle(data)


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


@pytest.mark.parametrize(
    ("payload", "code", "cmd_id"),
    [
        (b"{nope", "malformed_json", None),
        (b"[]", "malformed_json", None),
        (json.dumps(command(type="launch")).encode(), "unknown_type", "c-1"),
        (json.dumps(command(v=2)).encode(), "unsupported_version", "c-1"),
        (json.dumps(command(issued_at="yesterday")).encode(), "invalid_field", "c-1"),
        (json.dumps(command(dock_id="dock-02")).encode(), "wrong_dock", "c-1"),
        (
            json.dumps(command(type="abort", body={"action": "loop"})).encode(),
            "invalid_field",
            "c-1",
        ),
        (b"x" * 70_000, "too_large", None),
    ],
)
async def test_bad_commands_get_their_code(
    harness: Harness, payload: bytes, code: str, cmd_id: str | None
) -> None:
    ack = await harness.send(payload)
    assert (ack.ok, ack.code, ack.cmd_id) == (False, code, cmd_id)
    assert ack.reason and harness.handled == []
    assert harness.acks == [ack]


async def test_a_good_command_is_accepted_once_and_its_repeat_is_a_duplicate(
    harness: Harness,
) -> None:
    first = await harness.send(command())
    again = await harness.send(command())
    assert (first.ok, first.code, first.sortie_id) == (True, "accepted", "S-1")
    assert (again.ok, again.code) == (False, "duplicate") and "already handled" in again.reason
    assert len(harness.handled) == 1


async def test_an_expired_command_is_refused(harness: Harness) -> None:
    harness.now = NOW + timedelta(minutes=5)
    assert (await harness.send(command())).code == "expired"


async def test_a_handler_refusal_and_a_handler_bug_both_get_coded_acks(harness: Harness) -> None:
    assert (await harness.send(command(id="r", type="recall"))).code == "busy"
    ack = await harness.send(command(id="a", type="abort", body={"action": "hold"}))
    assert ack.code == "internal_error" and not ack.ok


async def test_command_ids_are_remembered_across_a_restart(tmp_path: Path) -> None:
    first = Harness(tmp_path)
    assert (await first.send(command())).ok
    first.box.close()
    again = Harness(tmp_path)
    assert (await again.send(command())).code == "duplicate"
    assert again.handled == []


async def test_with_signing_on_unsigned_forged_and_replayed_commands_are_refused(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, signing=True)
    assert (await h.send(command())).code == "unsigned"
    forged = json.loads(signed())
    forged["body"] = {}
    forged["id"] = "other"
    assert (await h.send(json.dumps(forged).encode())).code == "bad_signature"
    other_key = sign(
        parse_command(json.dumps(command(id="k")).encode()), Ed25519PrivateKey.generate()
    )
    assert (await h.send(other_key.model_dump_json().encode())).code == "bad_signature"
    assert (await h.send(signed())).code == "accepted"
    assert (await h.send(signed())).code == "replayed"
    old = NOW - timedelta(minutes=10)
    stale = signed(
        id="old", issued_at=old.isoformat(), expires_at=(NOW + timedelta(hours=1)).isoformat()
    )
    assert (await h.send(stale)).code == "replayed"
    future = NOW + timedelta(minutes=10)
    early = signed(
        id="fut",
        issued_at=future.isoformat(),
        expires_at=(future + timedelta(minutes=1)).isoformat(),
    )
    assert (await h.send(early)).code == "replayed"
    assert [c.id for c in h.handled] == ["c-1"]


async def test_a_forged_command_does_not_burn_the_real_commands_id(tmp_path: Path) -> None:
    h = Harness(tmp_path, signing=True)
    forged = json.loads(signed())
    forged["sig"] = forged["sig"][:-4] + "AAA="
    assert (await h.send(json.dumps(forged).encode())).code == "bad_signature"
    assert (await h.send(signed())).code == "accepted"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "v": st.sampled_from([1, 2, "1", None]),
        "id": st.text(max_size=10) | st.integers(),
        "type": st.sampled_from(["dispatch", "retask", "recall", "abort", "ping", "x"])
        | json_values,
        "dock_id": st.sampled_from(["dock-01", "dock-02", ""]) | json_values,
        "issued_at": st.sampled_from([NOW.isoformat(), "2026-11-21T10:00:00", "x"]) | json_values,
        "expires_at": st.sampled_from([(NOW + timedelta(minutes=1)).isoformat(), "y"])
        | json_values,
        "body": json_values,
        "sig": st.none() | st.text(max_size=90),
    },
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(max_size=300) | fields.map(lambda d: json.dumps(d).encode()))
async def test_no_payload_escapes_without_a_coded_ack(harness: Harness, payload: bytes) -> None:
    before = len(harness.acks)
    ack = await harness.send(payload)
    assert len(harness.acks) == before + 1
    assert ack.code in set(AckCode) and ack.ok == (ack.code == "accepted")
