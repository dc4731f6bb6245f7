"""Fuzzing every new parser of outside bytes: EIDO, generic JSON, watched-folder files and the
signature header. Each input is read or refused with a code; nothing else ever comes out."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.config import DispatchSettings
from dispatch.interop.cad import CadMessage, EidoAdapter, GenericAdapter
from dispatch.interop.cad.eido import pidf_position
from dispatch.interop.signing import ReplayGuard, parse_signature
from dispatch.service_errors import AuthError, ConflictError
from edge.errors import ProtocolError
from tests.dispatch.conftest import RunningDispatch
from tests.interop.conftest import EXAMPLES, example
from tests.strategies import json_values

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
DOCUMENTS = sorted(p.name for p in EXAMPLES.glob("*.json"))


def damaged(body: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    """``body`` cut short at ``cut`` and with bytes overwritten at ``flips``."""
    data = bytearray(body[: max(1, cut % (len(body) + 1))])
    for at, value in flips:
        data[at % len(data)] = value
    return bytes(data)


def read_or_refuse(parse: Callable[[bytes], CadMessage], body: bytes) -> CadMessage | None:
    try:
        message = parse(body)
    except ProtocolError as exc:
        assert exc.code in {
            "malformed_json",
            "too_large",
            "unsupported_document",
            "no_location",
            "invalid_field",
        }, exc
        return None
    assert 1 <= len(message.ref) <= 128
    if message.incident is not None:
        assert -90 <= message.incident.lat <= 90 and -180 <= message.incident.lon <= 180
    return message


def mutate(doc: Any, path: list[int], value: Any) -> Any:
    """``doc`` with the value ``path`` leads to (by index among keys/items) replaced."""
    if not path or not isinstance(doc, dict | list) or not doc:
        return value
    if isinstance(doc, dict):
        key = list(doc)[path[0] % len(doc)]
        return {**doc, key: mutate(doc[key], path[1:], value)}
    i = path[0] % len(doc)
    return [*doc[:i], mutate(doc[i], path[1:], value), *doc[i + 1 :]]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_read_or_refused_by_both_adapters(body: bytes) -> None:
    read_or_refuse(EidoAdapter().parse, body)
    read_or_refuse(GenericAdapter().parse, body)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(DOCUMENTS),
    st.lists(st.integers(0, 50), min_size=1, max_size=5),
    json_values,
)
def test_an_eido_with_any_value_replaced_is_read_or_refused(
    name: str, path: list[int], value: Any
) -> None:
    doc = json.loads(example(name))
    body = json.dumps(mutate(doc, path, value)).encode()
    read_or_refuse(EidoAdapter().parse, body)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(DOCUMENTS),
    st.integers(0, 10_000),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
)
def test_a_damaged_eido_is_read_or_refused(
    name: str, cut: int, flips: list[tuple[int, int]]
) -> None:
    read_or_refuse(EidoAdapter().parse, damaged(example(name), cut, flips))


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            k: json_values
            for k in (
                "ref",
                "action",
                "lat",
                "lon",
                "type",
                "priority",
                "description",
                "updated_at",
                "on_scene_s",
            )
        },
    )
)
def test_generic_json_with_any_fields_is_read_or_refused(doc: dict[str, Any]) -> None:
    read_or_refuse(GenericAdapter().parse, json.dumps(doc).encode())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_a_pidf_position_is_in_range_or_absent(text: str) -> None:
    for pidf in (text, f"<gml:pos>{text}</gml:pos>", f"<pos srsName='x'>{text[:40]} {text[40:80]}"):
        found = pidf_position(pidf)
        assert found is None or (-90 <= found[0] <= 90 and -180 <= found[1] <= 180)


@settings(max_examples=500, deadline=None)
@given(
    st.text(max_size=200)
    | st.from_regex(r"t=[0-9]{1,14},v1=[0-9a-f]{0,70}(,v1=[0-9a-f]{64})?", fullmatch=True),
    st.binary(max_size=200),
)
def test_any_signature_header_is_parsed_or_refused_and_never_verifies(
    header: str, body: bytes
) -> None:
    try:
        stamp, macs = parse_signature(header)
    except AuthError as exc:
        assert exc.code == "bad_signature"
    else:
        assert stamp >= 0 and all(len(m) == 64 for m in macs)
    guard = ReplayGuard(300)
    try:
        guard.verify(b"the-real-key-0123456789", header, body)
    except (AuthError, ConflictError) as exc:
        assert exc.code in {"bad_signature", "stale_request", "replayed"}
    else:
        raise AssertionError(f"a forged header verified: {header!r}")


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
@given(
    st.sampled_from(DOCUMENTS) | st.just(""),
    st.integers(0, 10_000),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    st.binary(max_size=300),
)
async def test_every_file_in_a_watched_folder_ends_done_or_rejected_and_in_the_inbox(
    folder_service: RunningDispatch, name: str, cut: int, flips: list[tuple[int, int]], raw: bytes
) -> None:
    watcher = folder_service.runtime.folders[0]
    drop = watcher.folder.path
    body = damaged(example(name), cut, flips) if name else raw
    before = len(await folder_service.runtime.intake.inbox(limit=1000))
    target = drop / f"f{before}.json"
    target.write_bytes(body)
    await watcher.scan()  # first look: size noted
    assert await watcher.scan() == 1
    assert not target.exists()
    assert (drop / "done" / target.name).exists() or (drop / "rejected" / target.name).exists()
    assert len(await folder_service.runtime.intake.inbox(limit=1000)) == before + 1


@pytest.fixture
async def folder_service(interop_settings: Callable[..., DispatchSettings], tmp_path: Path) -> Any:
    folder = {"path": str(tmp_path / "drop"), "adapter": "eido", "poll_s": 300}
    async with RunningDispatch(interop_settings(folders=[folder])) as service:
        yield service
