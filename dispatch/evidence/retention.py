"""Retention: delete each class of data when its time is up, audit every deletion, and keep
whatever belongs to an incident under legal hold.

Classes (``[retention]``): ``raw_video`` (uploaded segments, by the end of the segment),
``telemetry`` (flight-track points), ``detections`` (first sightings of tracks), ``events``
(the docks' stored events); each has ``days`` and, for incidents marked as evidence,
``evidence_days`` (none: kept). The audit log is never cut. One audit row per deleted segment,
and per sortie for rows of the other classes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select

from dispatch.evidence.config import RetentionConfig, RetentionRule
from dispatch.evidence.records import EvidenceRecords, Holds, set_segment
from dispatch.evidence.store import SegmentStore, segment_key
from dispatch.store import tables as t
from dispatch.store.sql import SqlStore
from edge.protocol import now_utc

__all__ = ["Deletion", "RetentionJob", "RetentionReport"]

logger = logging.getLogger(__name__)

ACTOR = "system:retention"
# class -> (table, time column, how one deletion is grouped)
ROW_CLASSES: dict[str, tuple[Any, str]] = {
    "telemetry": (t.track_points, "t"),
    "detections": (t.detections, "first_seen"),
    "events": (t.events, "at"),
}


@dataclass(frozen=True)
class Deletion:
    """One thing the job deleted (or would delete, in a dry run)."""

    data_class: str
    subject: str
    incident_id: str | None
    count: int


@dataclass
class RetentionReport:
    """What one run deleted and what it kept because of a legal hold."""

    at: datetime
    deleted: list[Deletion] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    dry_run: bool = False


def _cutoff(rule: RetentionRule, holds: Holds, now: datetime) -> datetime | None:
    """Data older than this goes; ``None``: keep it."""
    if holds.legal_hold:
        return None
    days = rule.evidence_days if holds.evidence else rule.days
    return None if days is None else now - timedelta(days=days)


class RetentionJob:
    """Runs the retention policy over the store and the segment store.

    Args:
        store: the dispatch store.
        segments: the segment store.
        policy: the ``[retention]`` settings.
    """

    def __init__(self, store: SqlStore, segments: SegmentStore, policy: RetentionConfig) -> None:
        self.store = store
        self.segments = segments
        self.policy = policy
        self.records = EvidenceRecords(store)

    async def every(self) -> None:
        """Run now and then every ``run_every_s`` until cancelled; a failed run is logged."""
        while True:
            try:
                report = await self.run_once()
                if report.deleted:
                    logger.info("retention deleted %d items", len(report.deleted))
            except Exception:
                logger.exception("retention run failed; trying again at the next run")
            await asyncio.sleep(self.policy.run_every_s)  # the schedule itself

    async def run_once(self, now: datetime | None = None, dry_run: bool = False) -> RetentionReport:
        """Delete what is due at ``now`` (default: the clock); audit each deletion."""
        report = RetentionReport(now or now_utc(), dry_run=dry_run)
        holds = await self.records.all_holds()
        await self._video(report, holds)
        for name, (table, column) in ROW_CLASSES.items():
            await self._rows(report, holds, name, table, column)
        return report

    def _rule(self, name: str) -> RetentionRule:
        rule: RetentionRule = getattr(self.policy, name)
        return rule

    def _earliest(self, rule: RetentionRule, now: datetime) -> datetime | None:
        days = [d for d in (rule.days, rule.evidence_days) if d is not None]
        return now - timedelta(days=min(days)) if days else None

    async def _video(self, report: RetentionReport, holds: dict[str, Holds]) -> None:
        rule = self._rule("raw_video")
        earliest = self._earliest(rule, report.at)
        if earliest is None:
            return
        for row in await self.records.segments_before(earliest):
            incident = row["incident_id"]
            cutoff = _cutoff(rule, holds.get(incident or "", Holds()), report.at)
            if cutoff is None:
                _note_held(report, incident)
                continue
            if row["end"] >= cutoff:
                continue
            key = segment_key(row["dock_id"], row["sortie_id"], row["file"])
            report.deleted.append(Deletion("raw_video", key, incident, 1))
            if report.dry_run:
                continue
            await asyncio.to_thread(self.segments.delete, key)
            async with self.store.tx() as tx:
                await set_segment(tx, row["sortie_id"], row["file"], state="deleted",
                                  deleted_at=report.at)  # fmt: skip
                detail = {
                    "class": "raw_video",
                    "incident_id": incident,
                    "file": row["file"],
                    "sha256": row["sha256"],
                    "ended": row["end"].isoformat(),
                }
                await tx.audit(ACTOR, "retention.delete", key, detail, now_utc())

    async def _rows(
        self,
        report: RetentionReport,
        holds: dict[str, Holds],
        name: str,
        table: Any,
        column: str,
    ) -> None:
        rule = self._rule(name)
        earliest = self._earliest(rule, report.at)
        if earliest is None:
            return
        when = table.c[column]
        groups = await self.records._rows(
            select(table.c.sortie_id, table.c.incident_id, func.count().label("n"))
            .where(when < earliest)
            .group_by(table.c.sortie_id, table.c.incident_id)
        )
        for g in groups:
            incident = g["incident_id"]
            cutoff = _cutoff(rule, holds.get(incident or "", Holds()), report.at)
            if cutoff is None:
                _note_held(report, incident)
                continue
            same = and_(
                table.c.sortie_id.is_(None)
                if g["sortie_id"] is None
                else table.c.sortie_id == g["sortie_id"],
                table.c.incident_id.is_(None)
                if incident is None
                else table.c.incident_id == incident,
                when < cutoff,
            )
            subject = g["sortie_id"] or "(no sortie)"
            if report.dry_run:
                report.deleted.append(Deletion(name, subject, incident, g["n"]))
                continue
            async with self.store.tx() as tx:
                gone = (await tx.conn.execute(delete(table).where(same))).rowcount
                if not gone:
                    continue
                detail = {"class": name, "incident_id": incident, "rows": gone,
                          "before": cutoff.isoformat()}  # fmt: skip
                await tx.audit(ACTOR, "retention.delete", subject, detail, now_utc())
            report.deleted.append(Deletion(name, subject, incident, gone))


def _note_held(report: RetentionReport, incident: str | None) -> None:
    if incident and incident not in report.held:
        report.held.append(incident)
