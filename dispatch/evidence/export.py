"""Exporting an incident's evidence: gather it from the store, make the release copies, and
write the signed bundle (:mod:`dispatch.evidence.bundle`). The export is audited first, with
who asked and why, so the bundle carries the record of its own making.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dispatch.evidence.bundle import BundleWriter
from dispatch.evidence.config import RedactionCopyConfig
from dispatch.evidence.records import EvidenceRecords, audit_of
from dispatch.evidence.release import ReleaseRedactor
from dispatch.evidence.store import SegmentStore, segment_key
from dispatch.models import IncidentRecord
from dispatch.service_errors import DispatchError, NotFoundError
from dispatch.store.sql import SqlStore
from edge.protocol import now_utc

__all__ = ["Gathered", "check_reason", "export_incident", "segment_summary", "track_geojson"]

MIN_REASON = 5


def check_reason(reason: str | None) -> str:
    """The stated reason for seeing or exporting evidence, tidied.

    Raises:
        DispatchError: ``reason_required`` when missing or too short to mean anything.
    """
    text = " ".join((reason or "").split())[:500]
    if len(text) < MIN_REASON:
        raise DispatchError(
            f"state why (at least {MIN_REASON} characters): it goes into the audit log",
            code="reason_required",
        )
    return text


@dataclass
class Gathered:
    """Everything about one incident that goes into its bundle."""

    incident: IncidentRecord
    timeline: list[dict[str, Any]]
    detections: list[dict[str, Any]]
    flights: list[dict[str, Any]]
    track: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    manifests: list[dict[str, Any]]
    audit: list[dict[str, Any]]


async def gather(store: SqlStore, incident_id: str) -> Gathered:
    """Read the incident's evidence from the store.

    Raises:
        NotFoundError: no such incident.
    """
    incident = await store.get_incident(incident_id)
    if incident is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    records = EvidenceRecords(store)
    flights = await records.flights(incident_id=incident_id)
    manifests = await records.manifests_of(incident_id)
    sorties = sorted({f["sortie_id"] for f in flights} | {m["sortie_id"] for m in manifests})
    if incident.sortie_id and incident.sortie_id not in sorties:
        sorties.append(incident.sortie_id)
    return Gathered(
        incident=incident,
        timeline=[r.model_dump(mode="json") for r in await store.timeline(incident_id)],
        detections=await store.list_detections(incident_id),
        flights=flights,
        track=await records.track(sorties),
        segments=await records.segments(incident_id=incident_id),
        manifests=manifests,
        audit=await audit_of(store, incident_id, sorties),
    )


def track_geojson(g: Gathered) -> dict[str, Any]:
    """The flight track as GeoJSON: one LineString per sortie (lon, lat, height above the
    dock; times in ``properties.times``), the scene and each dock as Points."""
    features: list[dict[str, Any]] = [
        _point([g.incident.lon, g.incident.lat], kind="scene", incident_id=g.incident.id)
    ]
    for flight in g.flights:
        points = [p for p in g.track if p["sortie_id"] == flight["sortie_id"]]
        if flight["home_lat"] is not None:
            home = [flight["home_lon"], flight["home_lat"]]
            features.append(_point(home, kind="dock", dock_id=flight["dock_id"]))
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[p["lon"], p["lat"], p["alt_rel_m"]] for p in points],
                },
                "properties": {
                    "kind": "track",
                    "sortie_id": flight["sortie_id"],
                    "dock_id": flight["dock_id"],
                    "started_at": _iso(flight["started_at"]),
                    "ended_at": _iso(flight["ended_at"]),
                    "outcome": flight["outcome"],
                    "times": [_iso(p["t"]) for p in points],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _point(coordinates: list[float], **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coordinates},
        "properties": properties,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def export_incident(
    store: SqlStore,
    segments: SegmentStore,
    key: Ed25519PrivateKey,
    redaction: RedactionCopyConfig,
    *,
    incident_id: str,
    actor: str,
    reason: str,
    out: Path,
) -> dict[str, Any]:
    """Audit the export, then write the bundle of ``incident_id`` to ``out``; its manifest.

    Raises:
        DispatchError: ``reason_required``; ``not_found``; ``hash_mismatch`` when a kept
            segment no longer matches the hash it arrived with; ``redaction_failed``.
    """
    reason = check_reason(reason)
    if await store.get_incident(incident_id) is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    at = now_utc()
    async with store.tx() as tx:
        detail = {"incident_id": incident_id, "reason": reason, "file": out.name}
        await tx.audit(actor, "evidence.export", incident_id, detail, at)
    g = await gather(store, incident_id)
    header = {
        "incident_id": incident_id,
        "exported_at": at.isoformat(),
        "exported_by": actor,
        "reason": reason,
    }
    return await asyncio.to_thread(_write, g, segments, key, redaction, header, out)


def _write(
    g: Gathered,
    segments: SegmentStore,
    key: Ed25519PrivateKey,
    redaction: RedactionCopyConfig,
    header: dict[str, Any],
    out: Path,
) -> dict[str, Any]:
    writer = BundleWriter(out, key, header)
    try:
        writer.add_json("incident.json", _incident_summary(g))
        writer.add_json("timeline.json", g.timeline)
        writer.add_json("detections.json", g.detections)
        writer.add_json("track.geojson", track_geojson(g))
        writer.add_json("audit.json", g.audit)
        for m in g.manifests:
            writer.add_bytes(f"original/{m['sortie_id']}/manifest.json", m["manifest"].encode())
        kept = [s for s in g.segments if s["state"] == "verified"]
        if kept:
            with ReleaseRedactor(redaction) as redactor, tempfile.TemporaryDirectory() as tmp:
                for seg in kept:
                    _add_segment(writer, segments, redactor, seg, Path(tmp))
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def _add_segment(
    writer: BundleWriter,
    segments: SegmentStore,
    redactor: ReleaseRedactor,
    seg: dict[str, Any],
    tmp: Path,
) -> None:
    key = segment_key(seg["dock_id"], seg["sortie_id"], seg["file"])
    original = tmp / seg["file"]
    digest = hashlib.sha256()
    with original.open("wb") as f:
        for block in segments.read(key):
            digest.update(block)
            f.write(block)
    if digest.hexdigest() != seg["sha256"]:
        raise DispatchError(
            f"stored segment {key} no longer matches the SHA-256 it arrived with",
            code="hash_mismatch",
        )
    where = f"{seg['sortie_id']}/{seg['file']}"
    writer.add_file(f"original/{where}", original, rendition=seg["rendition"])
    release = tmp / f"{Path(seg['file']).stem}-release.mp4"
    redactor.copy(original, release)
    writer.add_file(f"release/{where}.mp4", release, redacted_from=f"original/{where}")
    original.unlink()
    release.unlink()


SEGMENT_FIELDS = ("sortie_id", "file", "rendition", "frames", "start", "end", "bytes",
                  "sha256", "state", "verified_at", "deleted_at")  # fmt: skip


def segment_summary(row: dict[str, Any]) -> dict[str, Any]:
    """What the bundle and an audited view say of one segment."""
    return {k: row[k] for k in SEGMENT_FIELDS}


def _incident_summary(g: Gathered) -> dict[str, Any]:
    return {
        "incident": g.incident.model_dump(mode="json"),
        "flights": g.flights,
        "segments": [segment_summary(s) for s in g.segments],
    }
