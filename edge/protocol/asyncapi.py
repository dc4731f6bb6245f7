"""The AsyncAPI 3.1 document of the MQTT contract, generated from the wire contract's models.

Topics come from :mod:`edge.protocol.topics` (names, QoS, retained), payloads from the
pydantic models' JSON Schemas, so the document cannot drift from the code. It describes the
edge (one dock's agent): it sends availability, state, telemetry, events, detections and
acks, and receives commands; dispatch is the other side of every operation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from edge.protocol.schema import payload_adapter
from edge.protocol.topics import QOS, RETAINED, ROOT, Kind

__all__ = ["asyncapi", "write_asyncapi"]

SUMMARIES = {
    Kind.AVAILABILITY: "online / offline; the edge's MQTT last will",
    Kind.STATE: "Snapshot: phase, readiness and reasons, sortie, battery, position, dock, limits",
    Kind.TELEMETRY: "1-10 Hz: position, heading, ground speed, battery, flight mode",
    Kind.EVENTS: "Sortie lifecycle, append-only, each with a unique id; never lost",
    Kind.DETECTIONS: "Objects in an analysed frame, with track ids and ground positions",
    Kind.CMD: "Commands from dispatch, Ed25519-signed when signing is on",
    Kind.ACK: "The answer to every command received, accepted or not",
}
MQTT_BINDING_VERSION = "0.2.0"


def _name(kind: Kind) -> str:
    return kind.value.replace("_", " ").title().replace(" ", "")


def _asyncapi_schema(node: Any) -> Any:
    """A pydantic JSON Schema as an AsyncAPI Schema: ``discriminator`` is the property name
    there (pydantic writes OpenAPI's ``{propertyName, mapping}``)."""
    if isinstance(node, list):
        return [_asyncapi_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _asyncapi_schema(value) for key, value in node.items()}
    found = node.get("discriminator")
    if isinstance(found, dict) and isinstance(found.get("propertyName"), str):
        out["discriminator"] = found["propertyName"]
    return out


def _payloads() -> tuple[dict[Kind, dict[str, Any]], dict[str, Any]]:
    """Each kind's payload schema, and the shared definitions they refer to."""
    items: list[tuple[Kind, Any, TypeAdapter[Any]]] = [
        (kind, "validation", payload_adapter(kind)) for kind in Kind
    ]
    mapping, definitions = TypeAdapter.json_schemas(
        items, ref_template="#/components/schemas/{model}"
    )
    payloads = {kind: _asyncapi_schema(mapping[(kind, "validation")]) for kind in Kind}
    return payloads, _asyncapi_schema(definitions.get("$defs", {}))


def asyncapi(server: str = "localhost:1883") -> dict[str, Any]:
    """The AsyncAPI 3.1 document of the v1 MQTT contract."""
    payloads, schemas = _payloads()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for kind in Kind:
        name = _name(kind)
        schemas.setdefault(f"{name}Payload", payloads[kind])
        messages[kind.value] = {
            "name": kind.value,
            "title": name,
            "summary": SUMMARIES[kind],
            "contentType": "text/plain" if kind is Kind.AVAILABILITY else "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}Payload"},
        }
        channels[kind.value] = {
            "address": f"{ROOT}/{{dock_id}}/{kind.value}",
            "title": name,
            "description": SUMMARIES[kind],
            "parameters": {"dock_id": {"$ref": "#/components/parameters/dock_id"}},
            "messages": {kind.value: {"$ref": f"#/components/messages/{kind.value}"}},
        }
        received = kind is Kind.CMD
        operations[f"{'receive' if received else 'send'}{name}"] = {
            "action": "receive" if received else "send",
            "channel": {"$ref": f"#/channels/{kind.value}"},
            "summary": ("Dispatch commands the dock" if received else "The dock reports") + ".",
            "messages": [{"$ref": f"#/channels/{kind.value}/messages/{kind.value}"}],
            "bindings": {
                "mqtt": {
                    "qos": QOS[kind],
                    "retain": kind in RETAINED,
                    "bindingVersion": MQTT_BINDING_VERSION,
                }
            },
        }
    return {
        "asyncapi": "3.1.0",
        "info": {
            "title": "Outrider MQTT contract",
            "version": "1.0.0",
            "description": (
                f"The wire contract between a dock's edge agent and dispatch: topics "
                f"{ROOT}/{{dock_id}}/{{kind}}, JSON, UTF-8, snake_case, RFC 3339 UTC times. "
                "Generated from the pydantic models of edge/protocol; this document is the "
                "edge's view (dispatch does the opposite of every operation)."
            ),
            "license": {"name": "AGPL-3.0-or-later"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "host": server,
                "protocol": "mqtt",
                "description": "The force's broker (Mosquitto or EMQX; mqtts in service).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "parameters": {
                "dock_id": {
                    "description": "The dock's id: one literal topic level, e.g. dock-01.",
                    "examples": ["dock-01"],
                }
            },
        },
    }


def write_asyncapi(path: Path, server: str = "localhost:1883") -> Path:
    """Write the document as JSON (which is YAML too) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(asyncapi(server), indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    return path
