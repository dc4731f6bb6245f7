"""The evidence upload on the wire: the recording manifest the edge sends and the paths it
uses to send segments to dispatch after landing.

The transfer is resumable, after tus: ``PUT {UPLOAD_PATH}`` with the manifest answers each
segment's received byte count (``offset``) and state; ``PATCH .../{file}`` with header
``Upload-Offset: N`` appends a chunk at ``N`` (any other offset is refused with the offset
dispatch holds); ``HEAD .../{file}`` tells the offset. A segment whose last byte arrives is
hashed and compared with the manifest's SHA-256 before it counts as received.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, ValidationError, field_validator, model_validator

from edge.errors import ProtocolError
from edge.protocol.models import DockId, Identifier, Message, Part

__all__ = [
    "EVIDENCE_PREFIX",
    "MAX_MANIFEST_BYTES",
    "OFFSET_HEADER",
    "SEGMENT_NAME_PATTERN",
    "RecordingManifest",
    "SegmentEntry",
    "SegmentState",
    "UploadStatus",
    "parse_manifest",
    "upload_path",
]

EVIDENCE_PREFIX = "/evidence"  # under the API prefix
OFFSET_HEADER = "Upload-Offset"
MAX_MANIFEST_BYTES = 1 << 20
SEGMENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,100}\.[A-Za-z0-9]{1,8}$"
SegmentName = Annotated[str, Field(pattern=SEGMENT_NAME_PATTERN)]
SafeId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
SegmentState = Literal["pending", "partial", "verified", "hash_mismatch", "deleted"]


class SegmentEntry(Part):
    """One closed segment as the edge's recorder listed it."""

    file: SegmentName
    rendition: str = Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")
    frames: int = Field(ge=0, le=10_000_000)
    start: AwareDatetime
    end: AwareDatetime
    bytes: int = Field(ge=0, le=1 << 40)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="before")
    @classmethod
    def _stream_is_rendition(cls, data: object) -> object:
        # The first recorder called the rendition "stream"; both spellings are read.
        if isinstance(data, dict) and "rendition" not in data and "stream" in data:
            return {**data, "rendition": data["stream"]}
        return data


class RecordingManifest(Message):
    """A sortie's ``manifest.json``: which segments it recorded, with their SHA-256."""

    sortie_id: SafeId
    incident_id: Identifier | None = None
    segments: list[SegmentEntry] = Field(default_factory=list, max_length=100_000)

    @field_validator("segments")
    @classmethod
    def _unique_files(cls, segments: list[SegmentEntry]) -> list[SegmentEntry]:
        names = [s.file for s in segments]
        if len(set(names)) != len(names):
            raise ValueError("a segment file is listed twice")
        return segments


class SegmentStatus(Part):
    """What dispatch holds of one segment."""

    file: str
    bytes: int
    offset: int = Field(title="Bytes received so far; the next PATCH starts here")
    state: SegmentState


class UploadStatus(Message):
    """Dispatch's answer to a manifest: every segment's offset and state."""

    dock_id: DockId
    sortie_id: str
    segments: list[SegmentStatus]
    complete: bool = Field(title="Every segment received and its hash verified")


def upload_path(dock_id: str, sortie_id: str, file: str | None = None) -> str:
    """The path (under the API prefix) of a sortie's upload, or of one of its segments."""
    base = f"{EVIDENCE_PREFIX}/uploads/{dock_id}/{sortie_id}"
    return f"{base}/{file}" if file else base


def parse_manifest(data: bytes) -> RecordingManifest:
    """A manifest from outside bytes.

    Raises:
        ProtocolError: ``too_large``, ``malformed_json`` or ``invalid_field``.
    """
    if len(data) > MAX_MANIFEST_BYTES:
        raise ProtocolError(
            f"manifest is {len(data)} bytes; limit {MAX_MANIFEST_BYTES}", code="too_large"
        )
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError(f"manifest is not JSON: {exc}", code="malformed_json") from None
    if not isinstance(raw, dict):
        raise ProtocolError("manifest is not a JSON object", code="malformed_json")
    try:
        return RecordingManifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "manifest"
        raise ProtocolError(f"manifest {where}: {first['msg']}", code="invalid_field") from None
