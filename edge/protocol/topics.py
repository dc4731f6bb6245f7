"""MQTT topic names of the v1 contract: ``dfr/v1/{dock_id}/{kind}``."""

from __future__ import annotations

import re
from enum import StrEnum

from edge.errors import ProtocolError
from edge.protocol.models import DOCK_ID_PATTERN

__all__ = ["QOS", "RETAINED", "ROOT", "Kind", "parse_topic", "subscription", "topic"]

ROOT = "dfr/v1"


class Kind(StrEnum):
    """The last level of a topic: what the message is."""

    AVAILABILITY = "availability"
    STATE = "state"
    TELEMETRY = "telemetry"
    EVENTS = "events"
    DETECTIONS = "detections"
    CMD = "cmd"
    ACK = "ack"


QOS: dict[Kind, int] = {
    Kind.AVAILABILITY: 1,
    Kind.STATE: 1,
    Kind.TELEMETRY: 0,
    Kind.EVENTS: 1,
    Kind.DETECTIONS: 0,
    Kind.CMD: 1,
    Kind.ACK: 1,
}
RETAINED = frozenset({Kind.AVAILABILITY, Kind.STATE})
_DOCK = re.compile(DOCK_ID_PATTERN)


def topic(dock_id: str, kind: Kind | str) -> str:
    """The topic of ``kind`` messages of one dock.

    Raises:
        ProtocolError: when the dock id could not be a single, literal topic level.
    """
    if not _DOCK.match(dock_id):
        raise ProtocolError(f"dock id {dock_id!r} is not a valid topic level", code="invalid_field")
    return f"{ROOT}/{dock_id}/{Kind(kind).value}"


def subscription(kind: Kind | str, dock_id: str = "+") -> str:
    """A subscription filter for ``kind`` messages of one dock, or of every dock (``+``)."""
    if dock_id == "+":
        return f"{ROOT}/+/{Kind(kind).value}"
    return topic(dock_id, kind)


def parse_topic(name: str) -> tuple[str, Kind]:
    """The dock id and kind of a v1 topic.

    Raises:
        ProtocolError: ``unknown_topic`` when the name is not a v1 topic.
    """
    parts = name.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != ROOT or not _DOCK.match(parts[2]):
        raise ProtocolError(f"{name!r} is not a {ROOT} topic", code="unknown_topic")
    try:
        return parts[2], Kind(parts[3])
    except ValueError:
        raise ProtocolError(f"{name!r} names no known message kind", code="unknown_topic") from None
