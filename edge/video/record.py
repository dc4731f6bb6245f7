"""Evidence recording: raw and annotated video in time-boxed segments, each hashed in a manifest.

One folder per sortie holds ``raw-0001.avi``, ``annotated-0001.avi``, ... (Motion-JPEG AVI, the
JPEGs exactly as encoded) and ``manifest.json``: for every closed segment its file name, stream,
frame count, first and last capture time, size and SHA-256. The manifest is rewritten atomically
after each segment, so a crash loses at most the open segment's entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from edge.video.avi import MjpegAviWriter

__all__ = ["Recorder", "Stream", "sha256_file"]

logger = logging.getLogger(__name__)

Stream = Literal["raw", "annotated"]
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(slots=True)
class _Open:
    writer: MjpegAviWriter
    number: int
    first: datetime
    last: datetime
    t0_mono: float


class Recorder:
    """Writes segments for one sortie at a time; used from the pipeline's encoding thread.

    Args:
        root: the recordings folder; each sortie gets a sub-folder.
        segment_s: length of a segment.
        fps: nominal frame rate written into the files.
    """

    def __init__(self, root: Path, *, segment_s: float = 60.0, fps: float = 15.0) -> None:
        self.root = root
        self.segment_s = segment_s
        self.fps = fps
        self.folder: Path | None = None
        self._open: dict[Stream, _Open] = {}
        self._count: dict[Stream, int] = {}
        self._entries: list[dict[str, Any]] = []
        self._meta: dict[str, Any] = {}

    def start(self, sortie_id: str, incident_id: str | None = None) -> Path:
        """Begin recording a sortie (closing any sortie still open)."""
        self.stop()
        folder = self.root / _SAFE.sub("_", sortie_id)
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self._entries, self._count = folder, [], {}
        self._meta = {"sortie_id": sortie_id, "incident_id": incident_id}
        self._write_manifest()
        logger.info("recording sortie %s into %s", sortie_id, folder)
        return folder

    @property
    def active(self) -> bool:
        """Whether a sortie is being recorded."""
        return self.folder is not None

    def write(
        self, stream: Stream, jpeg: bytes, t: datetime, t_mono: float, size: tuple[int, int]
    ) -> None:
        """Add a frame to the stream's open segment, starting a new segment when it is due."""
        if self.folder is None:
            return
        seg = self._open.get(stream)
        if seg is not None and t_mono - seg.t0_mono >= self.segment_s:
            self._close(stream)
            seg = None
        if seg is None:
            n = self._count[stream] = self._count.get(stream, 0) + 1
            path = self.folder / f"{stream}-{n:04d}.avi"
            seg = _Open(MjpegAviWriter(path, *size, self.fps), n, t, t, t_mono)
            self._open[stream] = seg
        seg.writer.add(jpeg)
        seg.last = t

    def stop(self) -> None:
        """Close every open segment and finish the sortie's manifest."""
        for stream in list(self._open):
            self._close(stream)
        self.folder = None

    def _close(self, stream: Stream) -> None:
        seg = self._open.pop(stream)
        seg.writer.close()
        path = seg.writer.path
        self._entries.append(
            {
                "file": path.name,
                "stream": stream,
                "frames": seg.writer.frames,
                "start": seg.first.isoformat(),
                "end": seg.last.isoformat(),
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
            }
        )
        self._write_manifest()

    def _write_manifest(self) -> None:
        assert self.folder is not None
        body = {"v": 1, **self._meta, "segments": self._entries}
        tmp = self.folder / "manifest.json.tmp"
        tmp.write_text(json.dumps(body, indent=1))
        os.replace(tmp, self.folder / "manifest.json")
