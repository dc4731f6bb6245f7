"""The generic JSON adapter: a flat document any CAD system can be scripted to send.

::

    {"ref": "CAD-2026-0042", "action": "create", "lat": 60.1699, "lon": 24.9384,
     "type": "burglary", "priority": 1, "description": "alarm, rear door",
     "updated_at": "2026-11-21T10:00:00Z"}

``action`` is ``create``, ``update`` (both raise the incident when the reference is new and
update it when it is known) or ``close`` (which needs only ``ref``). Unknown fields are
ignored, so a CAD system can send more than Outrider reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from dispatch.interop.cad.base import (
    CadAction,
    CadMessage,
    check_ref,
    incident_from,
    read_json_object,
)
from edge.errors import ProtocolError

__all__ = ["GenericAdapter"]

FIELDS = ("lat", "lon", "type", "priority", "description", "on_scene_s", "alt_rel_m")


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ref: str = Field(min_length=1, max_length=128)
    action: Literal["create", "update", "close"] = "create"
    updated_at: AwareDatetime | None = None


class GenericAdapter:
    """Reads the generic JSON format."""

    key = "generic"

    def parse(self, body: bytes) -> CadMessage:
        data = read_json_object(body)
        try:
            envelope = _Envelope.model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "document"
            raise ProtocolError(f"{where}: {first['msg']}", code="invalid_field") from None
        ref = check_ref(envelope.ref, "ref")
        sent_at: datetime | None = envelope.updated_at
        if envelope.action == "close":
            return CadMessage(ref, CadAction.CLOSE, None, sent_at)
        fields: dict[str, Any] = {k: data[k] for k in FIELDS if data.get(k) is not None}
        if "lat" not in fields or "lon" not in fields:
            raise ProtocolError("lat and lon are required", code="no_location")
        return CadMessage(ref, CadAction.UPSERT, incident_from({**fields, "cad_ref": ref}), sent_at)
