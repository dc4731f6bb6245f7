"""Who sees evidence and why: viewing an incident's evidence, reading a segment, and setting
its legal hold or evidence mark — each audited with who, when and the stated reason."""

from __future__ import annotations

from typing import Any

from dispatch.evidence.export import check_reason, gather, segment_summary
from dispatch.evidence.records import EvidenceRecords, Holds, upsert
from dispatch.service_errors import NotFoundError
from dispatch.store import tables as t
from dispatch.store.sql import SqlStore
from edge.protocol import now_utc

__all__ = ["audited_segment", "set_holds", "view_evidence"]


async def view_evidence(
    store: SqlStore, incident_id: str, actor: str, reason: str
) -> dict[str, Any]:
    """What evidence an incident has (segments and their state, flights, holds); audited.

    Raises:
        DispatchError: ``reason_required``, ``not_found``.
    """
    reason = check_reason(reason)
    g = await gather(store, incident_id)
    async with store.tx() as tx:
        detail = {"incident_id": incident_id, "reason": reason}
        await tx.audit(actor, "evidence.view", incident_id, detail, now_utc())
    holds = await EvidenceRecords(store).holds(incident_id)
    return {
        "incident_id": incident_id,
        "legal_hold": holds.legal_hold,
        "evidence": holds.evidence,
        "flights": [
            {k: f[k] for k in ("sortie_id", "dock_id", "started_at", "ended_at", "outcome")}
            for f in g.flights
        ],
        "segments": [segment_summary(s) for s in g.segments],
    }


async def audited_segment(
    store: SqlStore, incident_id: str, sortie_id: str, file: str, actor: str, reason: str
) -> dict[str, Any]:
    """The row of a kept segment of the incident, after auditing that ``actor`` opens it.

    Raises:
        DispatchError: ``reason_required``; ``not_found`` (not this incident's, or deleted).
    """
    reason = check_reason(reason)
    rows = await EvidenceRecords(store).segments(sortie_id=sortie_id)
    row = next((r for r in rows if r["file"] == file and r["incident_id"] == incident_id), None)
    if row is None or row["state"] != "verified":
        raise NotFoundError(f"{sortie_id}/{file} is not kept evidence of {incident_id}")
    async with store.tx() as tx:
        detail = {"incident_id": incident_id, "reason": reason, "file": file}
        await tx.audit(actor, "evidence.view_segment", sortie_id, detail, now_utc())
    return row


async def set_holds(
    store: SqlStore,
    incident_id: str,
    *,
    actor: str,
    reason: str,
    legal_hold: bool | None = None,
    evidence: bool | None = None,
) -> Holds:
    """Place or lift a legal hold, or mark an incident's data as evidence; audited.

    Raises:
        DispatchError: ``reason_required``, ``not_found``.
    """
    reason = check_reason(reason)
    if await store.get_incident(incident_id) is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    now = now_utc()
    current = await EvidenceRecords(store).holds(incident_id)
    holds = Holds(
        current.legal_hold if legal_hold is None else legal_hold,
        current.evidence if evidence is None else evidence,
    )
    async with store.tx() as tx:
        values = {
            "incident_id": incident_id,
            "legal_hold": holds.legal_hold,
            "evidence": holds.evidence,
            "updated_at": now,
            "updated_by": actor[:128],
        }
        await tx.conn.execute(upsert(tx, t.incident_holds, ["incident_id"], values))
        detail = {
            "incident_id": incident_id,
            "reason": reason,
            "legal_hold": holds.legal_hold,
            "evidence": holds.evidence,
        }
        await tx.audit(actor, "evidence.hold", incident_id, detail, now)
    return holds
