"""What every CAD adapter produces, and the one interface an adapter implements.

An adapter turns the bytes a CAD system sent into one :class:`CadMessage`: a reference, an
action, and the incident as Outrider raises it. It does nothing else, so a document is read
in full before anything is stored and a bad one is never half-applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import ValidationError

from dispatch.models import IncidentCreate
from edge.errors import ProtocolError

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "CadAction",
    "CadAdapter",
    "CadMessage",
    "incident_from",
    "read_json_object",
]

MAX_DOCUMENT_BYTES = 1 << 20
MAX_REF = 128


class CadAction(StrEnum):
    """What the CAD system asks: raise or update an incident, or close it."""

    UPSERT = "upsert"
    CLOSE = "close"


@dataclass(frozen=True)
class CadMessage:
    """One CAD document, read.

    Attributes:
        ref: the CAD system's reference of the incident (Outrider's ``cad_ref``).
        action: raise-or-update, or close.
        incident: the incident's fields; ``None`` for a closure that carries none.
        sent_at: when the CAD system last changed it, if the document says.
    """

    ref: str
    action: CadAction
    incident: IncidentCreate | None
    sent_at: datetime | None = None


class CadAdapter(Protocol):
    """Reads one CAD format. ``key`` is the name in ``POST /api/v1/cad/{adapter}``."""

    key: str

    def parse(self, body: bytes) -> CadMessage:
        """The message in ``body``.

        Raises:
            ProtocolError: ``malformed_json``, ``unsupported_document``, ``no_location`` or
                ``invalid_field``, with a reason that names what is wrong.
        """
        ...


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json_object(body: bytes) -> dict[str, Any]:
    """``body`` as a JSON object (UTF-8, at most 1 MiB, no NaN or Infinity).

    Raises:
        ProtocolError: ``too_large`` or ``malformed_json``.
    """
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ProtocolError(
            f"document is {len(body)} bytes; the limit is {MAX_DOCUMENT_BYTES}",
            code="too_large",
        )
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"document is not JSON: {exc}"[:300], code="malformed_json") from None
    if not isinstance(data, dict):
        raise ProtocolError("document must be a JSON object", code="malformed_json")
    return data


def check_ref(ref: object, where: str) -> str:
    """A CAD reference: a non-empty string of at most 128 characters.

    Raises:
        ProtocolError: ``invalid_field`` otherwise.
    """
    if not isinstance(ref, str) or not ref.strip() or len(ref) > MAX_REF:
        raise ProtocolError(
            f"{where} must be a string of 1 to {MAX_REF} characters", code="invalid_field"
        )
    return ref.strip()


def incident_from(fields: dict[str, Any]) -> IncidentCreate:
    """The incident to raise, validated as the REST API validates it.

    Raises:
        ProtocolError: ``invalid_field`` naming the first fields that do not hold.
    """
    try:
        return IncidentCreate.model_validate(fields)
    except ValidationError as exc:
        parts = [
            f"{'.'.join(str(p) for p in e['loc']) or 'document'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:3]
        ]
        raise ProtocolError("; ".join(parts), code="invalid_field") from None
