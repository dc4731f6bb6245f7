"""The dock's evidence uploader: sends every finished sortie's recordings to dispatch, one
chunk at a time from the offset dispatch holds, and keeps them until dispatch confirms that
every SHA-256 matched.

A sortie's folder (``<recordings>/<sortie>/``, holding ``manifest.json`` and the segments)
is pending until :data:`RECEIPT` is written into it, which happens only once dispatch
answers ``complete``. So a dropped link, a restart of the edge or of dispatch loses nothing:
the next attempt asks dispatch for its offsets and carries on; a segment is never sent twice
past what dispatch holds. The uploader runs while no sortie is in progress.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path

from edge.errors import OutriderError
from edge.evidence.transport import OffsetMismatch, UploadError, UploadTransport
from edge.protocol import now_utc
from edge.protocol.evidence import SegmentStatus, UploadStatus, parse_manifest

__all__ = ["RECEIPT", "EvidenceUploader"]

logger = logging.getLogger(__name__)

RECEIPT = "upload-receipt.json"
MANIFEST = "manifest.json"


class EvidenceUploader:
    """Uploads pending sortie folders.

    Args:
        recordings: the recordings folder (``[video.recording] dir``).
        transport: the link to dispatch.
        chunk_bytes: bytes per append.
        keep_after_upload: keep segment files after dispatch verified them.
        busy: whether a sortie is in progress (nothing is uploaded then).
        backoff_s: first and largest wait before trying again after a failure.
    """

    def __init__(
        self,
        recordings: Path,
        transport: UploadTransport,
        *,
        chunk_bytes: int = 1 << 20,
        keep_after_upload: bool = False,
        busy: Callable[[], bool] = lambda: False,
        backoff_s: tuple[float, float] = (2.0, 300.0),
    ) -> None:
        self.recordings = recordings
        self.transport = transport
        self.chunk_bytes = chunk_bytes
        self.keep_after_upload = keep_after_upload
        self.busy = busy
        self.backoff_s = backoff_s
        self.bytes_sent = 0
        self.last_error = ""
        self._wake = asyncio.Event()
        self._wake.set()  # on start, whatever a previous run left pending

    def wake(self) -> None:
        """Look for pending uploads now (a sortie ended)."""
        self._wake.set()

    def pending(self) -> list[Path]:
        """Sortie folders with a manifest and no receipt, oldest first."""
        if not self.recordings.is_dir():
            return []
        found = [
            p
            for p in self.recordings.iterdir()
            if p.is_dir() and (p / MANIFEST).is_file() and not (p / RECEIPT).exists()
        ]
        return sorted(found, key=lambda p: (p / MANIFEST).stat().st_mtime)

    async def run(self) -> None:
        """Upload whenever woken and idle; retry failures with capped backoff."""
        delay = self.backoff_s[0]
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.busy():
                continue
            try:
                await self.upload_all()
                delay = self.backoff_s[0]
            except OutriderError as exc:
                self.last_error = str(exc)
                logger.warning("evidence upload stopped (%s); again in %.0f s", exc, delay)
                try:
                    async with asyncio.timeout(delay):
                        await self._wake.wait()  # a new sortie's end also retries at once
                except TimeoutError:
                    self._wake.set()
                delay = min(delay * 2, self.backoff_s[1])

    async def upload_all(self) -> int:
        """Upload every pending folder now; returns how many were confirmed.

        Raises:
            UploadError: the first failure (the rest wait for the next attempt).
        """
        done = 0
        for folder in self.pending():
            if self.busy():
                break
            if await self.upload(folder):
                done += 1
        return done

    async def upload(self, folder: Path) -> bool:
        """Upload one sortie folder; ``True`` once dispatch confirmed every segment."""
        raw = await asyncio.to_thread((folder / MANIFEST).read_bytes)
        manifest = parse_manifest(raw)
        status = await self.transport.put_manifest(manifest.sortie_id, raw)
        for seg in status.segments:
            if seg.state not in ("verified", "deleted"):
                await self._send(folder, manifest.sortie_id, seg)
        status = await self.transport.put_manifest(manifest.sortie_id, raw)
        if not status.complete:
            raise UploadError(f"dispatch has not verified every segment of {folder.name}")
        await asyncio.to_thread(self._confirm, folder, status)
        logger.info("evidence of %s uploaded and verified", manifest.sortie_id)
        return True

    async def _send(self, folder: Path, sortie_id: str, seg: SegmentStatus) -> None:
        path = folder / seg.file
        offset = seg.offset
        with path.open("rb") as f:
            while True:
                f.seek(offset)
                chunk = await asyncio.to_thread(f.read, self.chunk_bytes)
                if not chunk and offset < seg.bytes:
                    raise UploadError(f"{path} is shorter than its manifest says")
                try:
                    got = await self.transport.append(sortie_id, seg.file, offset, chunk)
                except OffsetMismatch:
                    offset = await self.transport.offset(sortie_id, seg.file)
                    continue
                self.bytes_sent += len(chunk)
                offset = got.offset
                if got.state == "verified" or offset >= seg.bytes:
                    return

    def _confirm(self, folder: Path, status: UploadStatus) -> None:
        receipt = {
            "confirmed_at": now_utc().isoformat(),
            "sortie_id": status.sortie_id,
            "segments": [s.model_dump() for s in status.segments],
        }
        tmp = folder / (RECEIPT + ".tmp")
        tmp.write_text(json.dumps(receipt, indent=1))
        tmp.replace(folder / RECEIPT)
        if self.keep_after_upload:
            return
        for seg in status.segments:
            (folder / seg.file).unlink(missing_ok=True)
