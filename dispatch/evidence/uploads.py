"""The receiving end of the evidence upload: manifests registered, chunks appended at their
offset, every segment's SHA-256 checked on arrival and the result recorded and audited.

Offsets live in the segment store (the partial's length), so a restart of dispatch loses
nothing already written, and an edge that lost an answer asks again and carries on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sqlalchemy import insert, select, update

from dispatch.auth import Principal
from dispatch.evidence.config import EvidenceConfig
from dispatch.evidence.records import EvidenceRecords, set_segment
from dispatch.evidence.store import SegmentStore, segment_key
from dispatch.incidents import note
from dispatch.service_errors import ConflictError, DispatchError, NotFoundError
from dispatch.store import tables as t
from dispatch.store.sql import SqlStore, Tx
from edge.protocol import now_utc
from edge.protocol.evidence import RecordingManifest, SegmentStatus, UploadStatus

__all__ = ["UploadService"]

logger = logging.getLogger(__name__)


class UploadService:
    """Manifests and segment bytes from the docks.

    Args:
        store: the dispatch store (rows and audit).
        segments: where the bytes go.
        config: limits.
    """

    def __init__(self, store: SqlStore, segments: SegmentStore, config: EvidenceConfig) -> None:
        self.store = store
        self.segments = segments
        self.config = config
        self.records = EvidenceRecords(store)
        self._locks: dict[str, asyncio.Lock] = {}

    async def register(
        self, dock_id: str, sortie_id: str, manifest: RecordingManifest, who: Principal
    ) -> UploadStatus:
        """Record a sortie's manifest (again, after a restart: it must agree) and answer offsets.

        Raises:
            DispatchError: ``invalid_field`` (sortie differs from the path), ``too_large``,
                ``manifest_conflict`` (a segment's hash or size changed, or another dock).
        """
        if manifest.sortie_id != sortie_id:
            raise DispatchError(
                f"manifest is of sortie {manifest.sortie_id}, not {sortie_id}",
                code="invalid_field",
            )
        if len(manifest.segments) > self.config.max_segments:
            raise DispatchError(
                f"{len(manifest.segments)} segments; limit {self.config.max_segments}",
                code="too_large",
            )
        big = [s.file for s in manifest.segments if s.bytes > self.config.max_segment_bytes]
        if big:
            raise DispatchError(f"segments {big[:5]} are over the size limit", code="too_large")
        known = {r["file"]: r for r in await self.records.segments(sortie_id=sortie_id)}
        previous = await self.records.manifest(sortie_id)
        if previous is not None and previous["dock_id"] != dock_id:
            raise ConflictError(
                f"sortie {sortie_id} was uploaded by {previous['dock_id']}",
                code="manifest_conflict",
            )
        for seg in manifest.segments:
            row = known.get(seg.file)
            if row is not None and (row["sha256"], row["bytes"]) != (seg.sha256, seg.bytes):
                raise ConflictError(
                    f"{seg.file} was announced with another hash or size",
                    code="manifest_conflict",
                )
        incident_id = await self._incident_of(manifest, previous)
        new = [s for s in manifest.segments if s.file not in known]
        async with self.store.tx() as tx:
            await self._save_manifest(tx, dock_id, incident_id, manifest, previous)
            for seg in new:
                await tx.conn.execute(
                    insert(t.evidence_segments).values(
                        sortie_id=sortie_id,
                        dock_id=dock_id,
                        incident_id=incident_id,
                        state="pending",
                        **seg.model_dump(exclude={"rendition"}),
                        rendition=seg.rendition,
                    )
                )
            detail = {"dock_id": dock_id, "incident_id": incident_id, "new": len(new)}
            await tx.audit(who.actor, "evidence.manifest", sortie_id, detail, now_utc())
        return await self.status(dock_id, sortie_id)

    async def _incident_of(
        self, manifest: RecordingManifest, previous: dict[str, Any] | None
    ) -> str | None:
        if previous is not None and previous["incident_id"]:
            return str(previous["incident_id"])
        by_sortie = await self.store.incident_by("sortie_id", manifest.sortie_id)
        if by_sortie is not None:
            return by_sortie.id
        if manifest.incident_id and await self.store.get_incident(manifest.incident_id):
            return manifest.incident_id
        return None

    async def _save_manifest(
        self,
        tx: Tx,
        dock_id: str,
        incident_id: str | None,
        manifest: RecordingManifest,
        previous: dict[str, Any] | None,
    ) -> None:
        text = manifest.model_dump_json()
        if previous is None:
            await tx.conn.execute(
                insert(t.evidence_manifests).values(
                    sortie_id=manifest.sortie_id,
                    dock_id=dock_id,
                    incident_id=incident_id,
                    manifest=text,
                    received_at=now_utc(),
                )
            )
            return
        merged = _merge(previous["manifest"], manifest)
        await tx.conn.execute(
            update(t.evidence_manifests)
            .where(t.evidence_manifests.c.sortie_id == manifest.sortie_id)
            .values(manifest=merged)
        )

    async def status(self, dock_id: str, sortie_id: str) -> UploadStatus:
        """Every segment's offset and state.

        Raises:
            NotFoundError: no manifest of this sortie from this dock.
        """
        manifest = await self.records.manifest(sortie_id)
        if manifest is None or manifest["dock_id"] != dock_id:
            raise NotFoundError(f"no upload of sortie {sortie_id} from {dock_id}")
        out = []
        for row in await self.records.segments(sortie_id=sortie_id):
            out.append(await self._segment_status(row))
        complete = all(s.state in ("verified", "deleted") for s in out)
        return UploadStatus(dock_id=dock_id, sortie_id=sortie_id, segments=out, complete=complete)

    async def _segment_status(self, row: dict[str, Any]) -> SegmentStatus:
        state = row["state"]
        if state in ("verified", "deleted"):
            offset = row["bytes"]
        else:
            key = segment_key(row["dock_id"], row["sortie_id"], row["file"])
            offset = await asyncio.to_thread(self.segments.offset, key)
            if state == "pending" and offset:
                state = "partial"
        return SegmentStatus(file=row["file"], bytes=row["bytes"], offset=offset, state=state)

    async def _row(self, dock_id: str, sortie_id: str, file: str) -> dict[str, Any]:
        rows = await self.records._rows(
            select(t.evidence_segments).where(
                t.evidence_segments.c.sortie_id == sortie_id,
                t.evidence_segments.c.file == file,
                t.evidence_segments.c.dock_id == dock_id,
            )
        )
        if not rows:
            raise NotFoundError(f"{file} is not in the manifest of {sortie_id} from {dock_id}")
        return rows[0]

    async def offset(self, dock_id: str, sortie_id: str, file: str) -> SegmentStatus:
        """One segment's offset and state."""
        return await self._segment_status(await self._row(dock_id, sortie_id, file))

    async def append(
        self, dock_id: str, sortie_id: str, file: str, offset: int, data: bytes, who: Principal
    ) -> SegmentStatus:
        """Append a chunk at ``offset``; check the hash when the segment is whole.

        Raises:
            DispatchError: ``too_large`` (chunk or past the segment's size),
                ``offset_mismatch`` (carries on from the offset dispatch holds),
                ``hash_mismatch`` (the whole segment does not match its manifest entry;
                its bytes are dropped and it may be sent again).
        """
        if len(data) > self.config.max_chunk_bytes:
            raise DispatchError(
                f"chunk of {len(data)} bytes; limit {self.config.max_chunk_bytes}",
                code="too_large",
            )
        key = segment_key(dock_id, sortie_id, file)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            row = await self._row(dock_id, sortie_id, file)
            if row["state"] in ("verified", "deleted"):
                return await self._segment_status(row)
            if offset + len(data) > row["bytes"]:
                raise DispatchError(
                    f"{file} is {row['bytes']} bytes; a chunk at {offset} of {len(data)} "
                    "goes past its end",
                    code="too_large",
                )
            size = await asyncio.to_thread(self.segments.append, key, offset, data)
            if size == row["bytes"]:
                await self._finish(row, key, who)
            return await self._segment_status(await self._row(dock_id, sortie_id, file))

    async def _finish(self, row: dict[str, Any], key: str, who: Principal) -> None:
        got = await asyncio.to_thread(self.segments.partial_sha256, key)
        sortie_id, file = row["sortie_id"], row["file"]
        detail = {"file": file, "expected": row["sha256"], "received": got}
        if got != row["sha256"]:
            await asyncio.to_thread(self.segments.discard, key)
            async with self.store.tx() as tx:
                await set_segment(tx, sortie_id, file, state="hash_mismatch", received_sha256=got)
                await tx.audit(who.actor, "evidence.hash_mismatch", sortie_id, detail, now_utc())
            logger.warning("segment %s arrived with the wrong hash; dropped", key)
            raise DispatchError(
                f"{file} arrived with SHA-256 {got}, the manifest says {row['sha256']}; "
                "its bytes were dropped, send it again",
                code="hash_mismatch",
            )
        await asyncio.to_thread(self.segments.commit, key)
        async with self.store.tx() as tx:
            await set_segment(
                tx, sortie_id, file, state="verified", received_sha256=got, verified_at=now_utc()
            )
            await tx.audit(who.actor, "evidence.segment_verified", sortie_id, detail, now_utc())
            await self._maybe_complete(tx, row)

    async def _maybe_complete(self, tx: Tx, row: dict[str, Any]) -> None:
        sortie_id = row["sortie_id"]
        states = list(
            (
                await tx.conn.execute(
                    select(t.evidence_segments.c.state).where(
                        t.evidence_segments.c.sortie_id == sortie_id
                    )
                )
            ).scalars()
        )
        if any(s not in ("verified", "deleted") for s in states):
            return
        await tx.conn.execute(
            update(t.evidence_manifests)
            .where(t.evidence_manifests.c.sortie_id == sortie_id)
            .values(completed_at=now_utc())
        )
        detail = {"dock_id": row["dock_id"], "segments": len(states)}
        await tx.audit("system", "evidence.upload_complete", sortie_id, detail, now_utc())
        if row["incident_id"]:
            await note(
                tx,
                row["incident_id"],
                "note",
                "recordings_received",
                f"{row['dock_id']}: recordings of {sortie_id} received, every SHA-256 verified",
                dock_id=row["dock_id"],
            )


def _merge(previous: str, manifest: RecordingManifest) -> str:
    """The stored manifest with any segments the new one adds."""
    try:
        old = json.loads(previous)
    except ValueError:
        old = {}
    segments = {s["file"]: s for s in old.get("segments", []) if isinstance(s, dict)}
    for seg in manifest.segments:
        segments.setdefault(seg.file, json.loads(seg.model_dump_json()))
    body = json.loads(manifest.model_dump_json())
    body["segments"] = [segments[k] for k in sorted(segments)]
    return json.dumps(body)
