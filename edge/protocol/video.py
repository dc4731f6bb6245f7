"""Video frames on the wire: where the edge sends them, and a small JSON header before the JPEG.

One binary WebSocket message per frame::

    uint32 big-endian header length N | N bytes of UTF-8 JSON (FrameHeader) | JPEG bytes

The edge connects to :data:`INGEST_PATH` (``/api/v1/video/ingest/{dock_id}``) with
``Authorization: Bearer <token>``. Dispatch relays each message unchanged to its viewers'
WebSockets, so the control room's browser (``dispatch/ui/common.js``) reads the same framing.
"""

from __future__ import annotations

import struct
from typing import Literal

from pydantic import AwareDatetime, Field, ValidationError

from edge.errors import ProtocolError
from edge.protocol.models import DetectedObject, DockId, Identifier, Message, now_utc

__all__ = [
    "API_PREFIX",
    "INGEST_PATH",
    "INGEST_ROUTE",
    "MAX_FRAME_BYTES",
    "VIDEO_PREFIX",
    "FrameHeader",
    "Rendition",
    "pack_frame",
    "unpack_frame",
]

API_PREFIX = "/api/v1"  # dispatch's HTTP API, which the edge's video uplink is part of
VIDEO_PREFIX = "/video"  # the video routes, under the API
INGEST_ROUTE = "/ingest/{dock_id}"  # the edge's uplink, under the video routes
INGEST_PATH = API_PREFIX + VIDEO_PREFIX + INGEST_ROUTE
MAX_FRAME_BYTES = 8 * 1024 * 1024
MAX_HEADER_BYTES = 256 * 1024
Rendition = Literal["raw", "redacted"]
_LEN = struct.Struct(">I")


class FrameHeader(Message):
    """What travels in front of each JPEG."""

    dock_id: DockId
    frame: int = Field(ge=0)
    t: AwareDatetime = Field(default_factory=now_utc, title="Capture time")
    sortie_id: Identifier | None = None
    incident_id: Identifier | None = None
    rendition: Rendition = "raw"
    width: int = Field(ge=1, le=16384)
    height: int = Field(ge=1, le=16384)
    objects: list[DetectedObject] = Field(default_factory=list, max_length=1000)


def pack_frame(header: FrameHeader, jpeg: bytes) -> bytes:
    """One WebSocket message for a frame."""
    head = header.model_dump_json().encode()
    return _LEN.pack(len(head)) + head + jpeg


def unpack_frame(data: bytes) -> tuple[FrameHeader, bytes]:
    """Split a WebSocket message into its header and JPEG.

    Raises:
        ProtocolError: ``too_large``, ``malformed_json`` or ``invalid_field``.
    """
    if len(data) > MAX_FRAME_BYTES:
        raise ProtocolError(
            f"frame is {len(data)} bytes; limit {MAX_FRAME_BYTES}", code="too_large"
        )
    if len(data) < _LEN.size:
        raise ProtocolError("frame is shorter than its length prefix", code="malformed_json")
    (n,) = _LEN.unpack_from(data)
    if n > MAX_HEADER_BYTES or _LEN.size + n > len(data):
        raise ProtocolError(
            f"frame header length {n} does not fit the frame", code="malformed_json"
        )
    try:
        header = FrameHeader.model_validate_json(data[_LEN.size : _LEN.size + n])
    except ValidationError as exc:
        json_error = any(e["type"] == "json_invalid" for e in exc.errors())
        raise ProtocolError(
            f"frame header: {exc.errors()[0]['msg']}",
            code="malformed_json" if json_error else "invalid_field",
        ) from None
    jpeg = data[_LEN.size + n :]
    if not jpeg.startswith(b"\xff\xd8"):
        raise ProtocolError("frame body is not a JPEG", code="invalid_field")
    return header, jpeg
