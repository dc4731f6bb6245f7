"""Video frames on the wire: where the edge sends them, and a small JSON header before each frame.

One binary WebSocket message per frame and rendition::

    uint32 big-endian header length N | N bytes of UTF-8 JSON (FrameHeader) | frame bytes

The frame bytes are one H.264 access unit (Annex B, see :mod:`edge.protocol.h264`) when
``codec`` is ``h264``, or one JPEG when it is ``jpeg`` (the fallback mode). An H.264 keyframe
(``key``) carries its SPS and PPS in band and its header names the codec (``codec_string``),
so a viewer can start at any keyframe; a JPEG is always a keyframe. The header carries what the
browser draws over the picture: detections, the pose, and the capture time it measures its
latency from.

The edge connects to :data:`INGEST_PATH` (``/api/v1/video/ingest/{dock_id}``) with
``Authorization: Bearer <token>``. Dispatch relays each message unchanged to its viewers'
WebSockets, so the browser's player (``dispatch/ui/player.js``) reads the same framing.
"""

from __future__ import annotations

import struct
from typing import Literal

from pydantic import AwareDatetime, Field, ValidationError, model_validator

from edge.errors import ProtocolError
from edge.protocol.h264 import check_access_unit
from edge.protocol.models import DetectedObject, DockId, Identifier, Message, Part, now_utc

__all__ = [
    "API_PREFIX",
    "INGEST_PATH",
    "INGEST_ROUTE",
    "MAX_FRAME_BYTES",
    "VIDEO_PREFIX",
    "Codec",
    "FrameHeader",
    "FramePose",
    "LinkReport",
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
Codec = Literal["h264", "jpeg"]
_LEN = struct.Struct(">I")


class FramePose(Part):
    """Where the camera was when the frame was captured."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt_agl_m: float | None = Field(None, title="Height above ground")
    heading_deg: float | None = None
    pitch_deg: float | None = Field(None, title="Gimbal pitch, -90 straight down")


class LinkReport(Part):
    """The edge's uplink as the encoder saw it: sent on keyframes, shown in dispatch's metrics."""

    level: int = Field(ge=0, le=32, title="Bitrate ladder step, 0 the top")
    target_kbps: int = Field(ge=0, le=1_000_000, title="This rendition's bitrate cap")
    dropped: int = Field(ge=0, title="Frames the uplink dropped so far")
    backlog_ms: float = Field(ge=0, le=3_600_000, title="Oldest unsent frame's wait")


class FrameHeader(Message):
    """What travels in front of each frame."""

    dock_id: DockId
    frame: int = Field(ge=0)
    t: AwareDatetime = Field(default_factory=now_utc, title="Capture time")
    sortie_id: Identifier | None = None
    incident_id: Identifier | None = None
    rendition: Rendition = "raw"
    width: int = Field(ge=1, le=16384)
    height: int = Field(ge=1, le=16384)
    objects: list[DetectedObject] = Field(default_factory=list, max_length=1000)
    codec: Codec = "jpeg"
    key: bool = Field(True, title="A keyframe: a decoder can start here")
    codec_string: str | None = Field(
        None, pattern=r"^avc1\.[0-9A-Fa-f]{6}$", title="WebCodecs codec of an H.264 keyframe"
    )
    pose: FramePose | None = None
    scene_in_view: bool | None = Field(None, title="The incident's scene is in the picture")
    link: LinkReport | None = None

    @model_validator(mode="after")
    def _keyframes_name_their_codec(self) -> FrameHeader:
        if self.codec == "jpeg" and not self.key:
            raise ValueError("a JPEG frame is always a keyframe")
        if self.codec == "h264" and self.key and self.codec_string is None:
            raise ValueError("an H.264 keyframe needs its codec_string")
        return self


def pack_frame(header: FrameHeader, body: bytes) -> bytes:
    """One WebSocket message for a frame (fields left unset are not sent)."""
    head = header.model_dump_json(exclude_none=True).encode()
    return _LEN.pack(len(head)) + head + body


def unpack_frame(data: bytes) -> tuple[FrameHeader, bytes]:
    """Split a WebSocket message into its header and frame bytes (JPEG or H.264).

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
    body = data[_LEN.size + n :]
    if header.codec == "h264":
        check_access_unit(body, key=header.key)
    elif not body.startswith(b"\xff\xd8"):
        raise ProtocolError("frame body is not a JPEG", code="invalid_field")
    return header, body
