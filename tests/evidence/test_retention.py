"""Retention: the scheduled job deletes what is due and audits each deletion; a legal hold
or an evidence mark keeps an incident's data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dispatch.evidence.store import segment_key
from dispatch.store import tables as t
from tests.evidence.conftest import (
    RunningDispatch,
    fly_incident,
    manifest_of,
    set_incident,
    uploader_for,
    wait_for,
)
from tests.evidence.test_export import dispatch_toml, outrider

pytestmark = pytest.mark.timeout(180)
SOON = 8 / 86400  # days: eight seconds, longer than a scripted sortie


def second_sortie(folder: Path, sortie_id: str) -> Path:
    """A copy of the recording under another sortie id."""
    copy = folder.parent / sortie_id
    shutil.copytree(folder, copy)
    data = manifest_of(copy)
    data["sortie_id"] = sortie_id
    (copy / "manifest.json").write_text(json.dumps(data))
    return copy


async def count(service: RunningDispatch, table, **where: str) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    async with service.runtime.store.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def segment_states(service: RunningDispatch, incident: str) -> set[str]:
    rows = await service.runtime.uploads.records.segments(incident_id=incident)
    return {r["state"] for r in rows}


async def test_retention_deletes_on_schedule_with_audit_rows_and_a_legal_hold_stops_it(
    evidence_settings, edge_factory, sortie_folder: Path, tmp_path: Path
) -> None:
    rule = {"days": SOON}
    settings = evidence_settings(
        retention={"run_every_s": 0.3, "raw_video": rule, "telemetry": rule, "detections": rule}
    )
    async with RunningDispatch(settings) as service:
        held = await fly_incident(service, edge_factory, dock_id="dock-01", kind="theft")
        async with service.client("admin") as admin:
            answer = await admin.put(
                f"/api/v1/evidence/incidents/{held}/hold",
                json={"legal_hold": True, "reason": "Crown Court case 2026/117"},
            )
            assert answer.json() == {"incident_id": held, "legal_hold": True, "evidence": False}
        free = await fly_incident(service, edge_factory, dock_id="dock-02", kind="assault")
        other = second_sortie(sortie_folder, "S-20261121100500-d4e5f6")
        set_incident(sortie_folder, held)
        set_incident(other, free)
        uploader, transport = uploader_for(service, sortie_folder, keep_after_upload=True)
        async with transport:
            assert await uploader.upload_all() == 2

        async def free_gone() -> bool:
            left = await count(service, t.detections, incident_id=free) + await count(
                service, t.track_points, incident_id=free
            )
            return await segment_states(service, free) == {"deleted"} and not left

        await wait_for(free_gone, limit_s=30, every=0.2)
        assert await segment_states(service, held) == {"verified"}
        assert await count(service, t.detections, incident_id=held) > 0
        assert await count(service, t.track_points, incident_id=held) > 0
        assert await count(service, t.track_points, incident_id=free) == 0
        for seg in manifest_of(other)["segments"]:
            key = segment_key("dock-01", other.name, seg["file"])
            assert not service.runtime.segments.exists(key)
        rows = await service.runtime.store.list_audit(limit=1000)
        deletions = [r for r in rows if r.action == "retention.delete"]
        deleted_files = {r.subject for r in deletions if '"raw_video"' in r.detail}
        assert deleted_files == {
            segment_key("dock-01", other.name, s["file"]) for s in manifest_of(other)["segments"]
        }, "one audit row per deleted segment"
        assert all(r.actor == "system:retention" for r in deletions)
        assert not any(held in r.detail for r in deletions), "nothing of the held incident"
        classes = {json.loads(r.detail)["class"] for r in deletions}
        assert {"raw_video", "telemetry", "detections"} <= classes
        assert (await service.runtime.retention.run_once()).held == [held]

        # Lifting the hold but marking the incident as evidence keeps it (evidence_days unset).
        async with service.client("admin") as admin:
            await admin.put(
                f"/api/v1/evidence/incidents/{held}/hold",
                json={"legal_hold": False, "evidence": True, "reason": "Case closed, appeal"},
            )
        report = await service.runtime.retention.run_once()
        assert not [d for d in report.deleted if d.incident_id == held]
        config = dispatch_toml(service, tmp_path / "dispatch.toml")
        listed = outrider("retention", "run", "--config", str(config), "--dry-run")
        assert listed.returncode == 0 and "deleted" not in listed.stdout
        assert await segment_states(service, held) == {"verified"}
