"""The EIDO adapter: NENA's Emergency Incident Data Object (NENA-STA-021, JSON).

What is read, and from where (names as in NENA's ``Schema/openapi.yaml``; the older
spellings of the 2020 sample are accepted too):

- reference: the top-level ``incidentTrackingIdentifier`` if present, else the top-level
  ``$id`` (``urn:emergency:uid:incidentid:...``);
- type: ``incidentComponent.incidentTypeCommonRegistryText`` (else the internal text);
- priority: ``incidentCommonPriorityNumber`` (higher is more urgent; 9-10 → 1, 7-8 → 2,
  5-6 → 3, 3-4 → 4, below → 5), 2 when absent;
- location: the first PIDF-LO ``locationByValue`` with a GML ``pos`` (``lat lon [alt]``)
  among the incident's ``locationReference``, else among all location components;
  a civic address alone is refused (``no_location``): the CAD system geocodes;
- closure: an ``incidentStatusCommonRegistryText`` of closed, cleared, completed or cancelled.

PIDF-LO positions are read with one pattern, not an XML parser: the XML inside an EIDO is
often not well-formed (NENA's own sample is not), and no entity is ever expanded.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from dispatch.interop.cad.base import (
    CadAction,
    CadMessage,
    check_ref,
    incident_from,
    read_json_object,
)
from edge.errors import ProtocolError

__all__ = ["CLOSED_STATUSES", "EidoAdapter", "eido_priority", "pidf_position"]

CLOSED_STATUSES = frozenset({"closed", "cleared", "completed", "complete", "cancelled", "canceled"})
_POS = re.compile(r"<(?:[\w.-]+:)?pos(?:\s[^<>]*)?>\s*([-+]?[0-9.]{1,20})\s+([-+]?[0-9.]{1,20})")
LOCATION_LISTS = ("locationComponent", "locationInformationComponent")


def eido_priority(number: object) -> int:
    """Outrider's priority (1 most urgent, 5 least) of an EIDO common priority number."""
    if not isinstance(number, int | float) or isinstance(number, bool) or not math.isfinite(number):
        return 2
    for floor, ours in ((9, 1), (7, 2), (5, 3), (3, 4)):
        if number >= floor:
            return ours
    return 5


def pidf_position(pidf: str) -> tuple[float, float] | None:
    """The first GML position (latitude, longitude) in a PIDF-LO document, if it has one."""
    match = _POS.search(pidf[: 1 << 18])
    if match is None:
        return None
    try:
        lat, lon = float(match.group(1)), float(match.group(2))
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _get(obj: dict[str, Any], *names: str) -> Any:
    """The first of ``names`` that ``obj`` has (EIDO spellings changed between drafts)."""
    for name in names:
        if name in obj:
            return obj[name]
    return None


def _objects(value: object) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def _refs(value: object) -> list[str]:
    return [str(r["$ref"]) for r in _objects(value) if isinstance(r.get("$ref"), str)]


def _location(doc: dict[str, Any], incident: dict[str, Any]) -> tuple[float, float]:
    locations = [loc for name in LOCATION_LISTS for loc in _objects(doc.get(name))]
    wanted = set(_refs(incident.get("locationReference")))

    def referenced(loc: dict[str, Any]) -> bool:
        return str(loc.get("$id")) in wanted

    ordered = sorted(locations, key=lambda loc: not referenced(loc))  # stable: order kept
    civic = False
    for loc in ordered:
        pidf = loc.get("locationByValue")
        if isinstance(pidf, str):
            found = pidf_position(pidf)
            if found is not None:
                return found
            civic = civic or "civicAddress" in pidf
    why = "only a civic address; geocode it in the CAD system" if civic else "no GML position"
    raise ProtocolError(f"the EIDO has {why}", code="no_location")


def _closed(incident: dict[str, Any]) -> bool:
    statuses = incident.get("incidentStatusCommonRegistryText")
    values = statuses if isinstance(statuses, list) else [statuses]
    return any(isinstance(v, str) and v.strip().lower() in CLOSED_STATUSES for v in values)


def _text(value: object, limit: int) -> str | None:
    return value.strip()[:limit] or None if isinstance(value, str) else None


def _sent_at(doc: dict[str, Any]) -> datetime | None:
    stamp = _get(doc, "lastUpdateTimeStamp", "LastUpdateTimeStamp")
    if not isinstance(stamp, str):
        return None
    try:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


class EidoAdapter:
    """Reads EIDO JSON documents."""

    key = "eido"

    def parse(self, body: bytes) -> CadMessage:
        doc = read_json_object(body)
        if _get(doc, "eidoVersion", "EIDOVersion") is None:
            raise ProtocolError("not an EIDO: eidoVersion is missing", code="unsupported_document")
        ref = check_ref(_get(doc, "incidentTrackingIdentifier", "$id"), "the EIDO's $id")
        incidents = _objects(doc.get("incidentComponent"))
        if not incidents:
            raise ProtocolError("the EIDO has no incidentComponent", code="unsupported_document")
        incident = incidents[0]
        sent_at = _sent_at(doc)
        if _closed(incident):
            return CadMessage(ref, CadAction.CLOSE, None, sent_at)
        lat, lon = _location(doc, incident)
        kind = _text(incident.get("incidentTypeCommonRegistryText"), 64) or _text(
            incident.get("incidentTypeInternalText"), 64
        )
        fields = {
            "cad_ref": ref,
            "lat": lat,
            "lon": lon,
            "type": kind or "unknown",
            "priority": eido_priority(incident.get("incidentCommonPriorityNumber")),
            "description": _text(incident.get("incidentTypeInternalText"), 2000),
        }
        return CadMessage(ref, CadAction.UPSERT, incident_from(fields), sent_at)
