"""Incident updates as other systems read them: GeoJSON features and EIDO documents."""

from __future__ import annotations

from typing import Any, Literal

from dispatch.interop.updates import IncidentUpdate
from dispatch.models import IncidentRecord, IncidentStatus, TimelineRecord

__all__ = ["FORMATS", "Format", "eido_document", "geojson_feature", "render"]

Format = Literal["geojson", "eido"]
FORMATS: tuple[Format, ...] = ("geojson", "eido")
# Outrider's priority 1..5 (1 most urgent) as an EIDO common priority number (higher: more).
EIDO_PRIORITY = {1: 10, 2: 8, 3: 6, 4: 4, 5: 2}


def _line(line: TimelineRecord) -> dict[str, Any]:
    return {
        "at": line.at.isoformat(),
        "kind": line.kind,
        "type": line.type,
        "dock_id": line.dock_id,
        "code": line.code,
        "text": line.text,
        "detail": line.detail,
    }


def geojson_feature(update: IncidentUpdate) -> dict[str, Any]:
    """The incident as a GeoJSON Feature at its target, with the update in ``properties``."""
    r = update.incident
    return {
        "type": "Feature",
        "id": r.id,
        "geometry": {"type": "Point", "coordinates": [r.target_lon, r.target_lat]},
        "properties": {
            "update_id": update.id,
            "incident_id": r.id,
            "cad_ref": r.cad_ref,
            "type": r.type,
            "priority": r.priority,
            "description": r.description,
            "status": r.status.value,
            "dock_id": r.dock_id,
            "sortie_id": r.sortie_id,
            "eta_s": r.eta_s,
            "created_at": r.created_at.isoformat(),
            "updated_at": r.updated_at.isoformat(),
            "closed_at": r.closed_at.isoformat() if r.closed_at else None,
            "update": _line(update.line),
        },
    }


def _prologue(component_id: str, force: str, at: str) -> dict[str, Any]:
    return {
        "$id": component_id,
        "lastUpdateTimeStamp": at,
        "updatedByAgencyReference": {"$ref": force},
    }


def _pidf(r: IncidentRecord) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" '
        'xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:gml="http://www.opengis.net/gml" '
        f'entity="pres:{r.id}@outrider"><tuple id="target"><status><gp:geopriv>'
        '<gp:location-info><gml:Point srsName="urn:ogc:def:crs:EPSG::4326">'
        f"<gml:pos>{r.target_lat:.7f} {r.target_lon:.7f}</gml:pos></gml:Point></gp:location-info>"
        "<gp:usage-rules/></gp:geopriv></status></tuple></presence>"
    )


def eido_document(update: IncidentUpdate, force: str) -> dict[str, Any]:
    """The incident as an EIDO (NENA-STA-021 JSON), the update as its newest note."""
    r, at = update.incident, update.line.at.isoformat()
    base = f"urn:emergency:uid:incidentid:{r.id}:{force}"
    status = ["Closed"] if r.status is IncidentStatus.CLOSED else ["Open"]
    return {
        **_prologue(base, force, at),
        "eidoVersion": "1.0",
        "issuingElementIdentification": f"outrider.{force}",
        "agencyComponent": [
            {**_prologue(force, force, at), "agencyRoleDescriptionRegistryText": ["Dispatch"]}
        ],
        "incidentComponent": {
            **_prologue(f"{base}:incident", force, at),
            "incidentTypeCommonRegistryText": r.type,
            "incidentTypeInternalText": r.description or r.type,
            "incidentStatusCommonRegistryText": status,
            "incidentStatusInternalText": [r.status.value],
            "internalIncidentId": r.id,
            "incidentCommonPriorityNumber": EIDO_PRIORITY.get(r.priority, 6),
            "locationReference": [{"$ref": f"{base}:location"}],
            "notesReference": [{"$ref": f"{base}:note:{update.id}"}],
        },
        "locationComponent": [
            {
                **_prologue(f"{base}:location", force, at),
                "locationTypeDescriptionRegistryText": "Incident",
                "locationByValue": _pidf(r),
            }
        ],
        "notesComponent": [
            {
                **_prologue(f"{base}:note:{update.id}", force, at),
                "notesActionComments": update.line.text,
            }
        ],
    }


def render(update: IncidentUpdate, fmt: Format, force: str) -> dict[str, Any]:
    """The update in ``fmt``."""
    return eido_document(update, force) if fmt == "eido" else geojson_feature(update)
