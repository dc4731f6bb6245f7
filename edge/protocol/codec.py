"""Bytes to typed messages and back; the only place the edge and dispatch parse the wire.

Every parser takes untrusted bytes and either returns a model or raises one error type,
:class:`~edge.errors.ProtocolError`, whose ``code`` is an ``ack`` code: ``too_large``,
``malformed_json``, ``unsupported_version``, ``unknown_type`` or ``invalid_field``.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar, cast, get_args

from pydantic import BaseModel, TypeAdapter, ValidationError

from edge.errors import ProtocolError
from edge.protocol.commands import Command, CommandType
from edge.protocol.models import (
    Ack,
    AckCode,
    Availability,
    Detections,
    Event,
    Message,
    State,
    Telemetry,
)
from edge.protocol.topics import Kind

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "MODELS",
    "encode",
    "load_object",
    "parse",
    "parse_availability",
    "parse_command",
    "parse_object",
]

MAX_PAYLOAD_BYTES = 64 * 1024
COMMAND_TYPES: tuple[str, ...] = get_args(CommandType)
_COMMAND: TypeAdapter[Command] = TypeAdapter(Command)
MODELS: dict[Kind, type[BaseModel]] = {
    Kind.STATE: State,
    Kind.TELEMETRY: Telemetry,
    Kind.EVENTS: Event,
    Kind.DETECTIONS: Detections,
    Kind.ACK: Ack,
}
M = TypeVar("M", bound=BaseModel)


def encode(message: Message) -> bytes:
    """The wire form of a message: compact UTF-8 JSON."""
    return message.model_dump_json().encode()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def load_object(data: bytes) -> dict[str, Any]:
    """The JSON object of a payload, before it is read as any message.

    Raises:
        ProtocolError: ``too_large``, or ``malformed_json`` for bytes that are not a JSON object.
    """
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(
            f"payload is {len(data)} bytes; limit {MAX_PAYLOAD_BYTES}", code=AckCode.TOO_LARGE
        )
    try:
        obj = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            f"payload is not UTF-8: {exc.reason}", code=AckCode.MALFORMED_JSON
        ) from None
    except RecursionError:
        raise ProtocolError("JSON nests too deeply", code=AckCode.MALFORMED_JSON) from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, oversized integers
        raise ProtocolError(f"payload is not JSON: {exc}", code=AckCode.MALFORMED_JSON) from None
    if not isinstance(obj, dict):
        raise ProtocolError("payload is not a JSON object", code=AckCode.MALFORMED_JSON)
    return obj


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "message"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _check_version(obj: dict[str, Any], cmd_id: str | None) -> None:
    v = obj.get("v")
    if "v" in obj and not (isinstance(v, int) and not isinstance(v, bool) and v == 1):
        raise ProtocolError(
            f"version {v!r} is not supported; this edge speaks v1",
            code=AckCode.UNSUPPORTED_VERSION,
            cmd_id=cmd_id,
        )


def _validate(adapter: TypeAdapter[M] | type[M], obj: dict[str, Any], cmd_id: str | None) -> M:
    try:
        if isinstance(adapter, TypeAdapter):
            return adapter.validate_python(obj)
        return adapter.model_validate(obj)
    except ValidationError as exc:
        raise ProtocolError(_describe(exc), code=AckCode.INVALID_FIELD, cmd_id=cmd_id) from None
    except RecursionError:
        raise ProtocolError("JSON nests too deeply", code=AckCode.MALFORMED_JSON) from None


def parse_command(data: bytes) -> Command:
    """A command from the ``cmd`` topic.

    Raises:
        ProtocolError: with ``cmd_id`` set whenever the payload carried a readable id.
    """
    obj = load_object(data)
    raw_id = obj.get("id")
    cmd_id = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= 128 else None
    _check_version(obj, cmd_id)
    kind = obj.get("type")
    if isinstance(kind, str) and kind not in COMMAND_TYPES:
        raise ProtocolError(
            f"command type {kind[:64]!r} is unknown; expected one of {', '.join(COMMAND_TYPES)}",
            code=AckCode.UNKNOWN_TYPE,
            cmd_id=cmd_id,
        )
    return _validate(_COMMAND, obj, cmd_id)


def parse(kind: Kind, data: bytes) -> BaseModel:
    """The message on a topic of ``kind`` (any kind but ``availability``; see below).

    Raises:
        ProtocolError: when the bytes are not a valid message of that kind.
    """
    if kind is Kind.CMD:
        return cast(BaseModel, parse_command(data))
    if kind is Kind.AVAILABILITY:
        raise ProtocolError("availability is plain text; use parse_availability")
    return parse_object(kind, load_object(data))


def parse_object(kind: Kind, obj: dict[str, Any]) -> BaseModel:
    """The message of ``kind`` in a payload's JSON object (see :func:`load_object`), for readers
    that look at the object first (a dock's signature covers the object as it arrived).

    Raises:
        ProtocolError: when the object is not a valid message of that kind.
    """
    _check_version(obj, None)
    return _validate(MODELS[kind], obj, None)


def parse_availability(data: bytes) -> Availability:
    """``online`` or ``offline`` from the ``availability`` topic.

    Raises:
        ProtocolError: for anything else.
    """
    try:
        return Availability(data.decode("utf-8").strip())
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(
            f"availability must be 'online' or 'offline', not {data[:32]!r}"
        ) from None
