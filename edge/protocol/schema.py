"""JSON Schema of every v1 message, for other implementations of the contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from edge.protocol.codec import MODELS
from edge.protocol.commands import Command
from edge.protocol.models import Availability
from edge.protocol.topics import ROOT, Kind

__all__ = ["payload_adapter", "schemas", "write_schemas"]


def payload_adapter(kind: Kind) -> TypeAdapter[Any]:
    """The type of the payload of ``kind`` messages, as a pydantic adapter."""
    if kind is Kind.CMD:
        return TypeAdapter(Command)
    if kind is Kind.AVAILABILITY:
        return TypeAdapter(Availability)
    return TypeAdapter(MODELS[kind])


def schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per topic kind, keyed by kind."""
    out: dict[str, dict[str, Any]] = {}
    for kind in Kind:
        schema = payload_adapter(kind).json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"{ROOT}/{kind.value}.schema.json"
        schema["description"] = f"Payload of {ROOT}/{{dock_id}}/{kind.value}. " + schema.get(
            "description", ""
        )
        out[kind.value] = schema
    return out


def write_schemas(directory: Path) -> list[Path]:
    """Write ``<kind>.schema.json`` files into ``directory`` (created when missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
