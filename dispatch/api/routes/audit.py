"""Audit: the hash-chained log of commands, events, API actions and logins."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query

from dispatch.api.deps import Admin, RuntimeDep
from dispatch.audit import verify_chain
from dispatch.models import AuditEntryPublic, AuditReportPublic

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditEntryPublic])
async def list_audit(
    rt: RuntimeDep,
    who: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> list[AuditEntryPublic]:
    """Latest rows first."""
    rows = await rt.store.list_audit(limit=limit, offset=offset)
    out = []
    for r in rows:
        try:
            detail = json.loads(r.detail)
        except ValueError:
            detail = {"unreadable": r.detail[:200]}
        out.append(
            AuditEntryPublic(
                seq=r.seq,
                at=r.at,
                actor=r.actor,
                action=r.action,
                subject=r.subject,
                detail=detail if isinstance(detail, dict) else {"value": detail},
                hash=r.hash,
            )
        )
    return out


@router.get("/verify", response_model=AuditReportPublic)
async def verify(rt: RuntimeDep, who: Admin) -> AuditReportPublic:
    """Check the whole chain; any edited or deleted row makes ``ok`` false."""
    report = await verify_chain(rt.store.audit_rows(), await rt.store.audit_head())
    return AuditReportPublic(
        ok=report.ok, rows=report.rows, first_bad_seq=report.first_bad_seq, problems=report.problems
    )
