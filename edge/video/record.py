"""Evidence recording: the streamed packets in time-boxed MP4 segments, each hashed in a manifest.

One folder per sortie holds ``raw-0001.mp4``, ``raw-0002.mp4``, ... (one series per recorded
rendition: the very packets the uplink sends, muxed without a second encode), beside each a
``raw-0001.jsonl`` with every frame's metadata (frame number, capture time, keyframe, pose,
detections), and ``manifest.json``. A segment starts at a keyframe and is cut at the first
keyframe after ``segment_s``, so each plays on its own in any player. For every closed segment
the manifest lists its file name, rendition, codec, frame count, first and last capture time,
duration, size and SHA-256, and the same for its metadata file. The manifest is rewritten
atomically after each segment, so a crash loses at most the open segment's entry::

    {"v": 1, "sortie_id": "S-1", "incident_id": "INC-1", "segments": [
      {"file": "raw-0001.mp4", "rendition": "raw", "codec": "h264", "frames": 900,
       "keyframes": 60, "start": "2026-11-21T10:01:31.002+00:00", "end": "…",
       "duration_s": 60.0, "bytes": 4312345, "sha256": "9f…",
       "metadata": {"file": "raw-0001.jsonl", "bytes": 512345, "sha256": "1c…"}}]}
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
from typing import IO, Any

from edge.protocol.video import Rendition
from edge.video.encode import EncodedFrame
from edge.video.mp4 import Mp4Writer

__all__ = ["Recorder", "sha256_file"]

logger = logging.getLogger(__name__)

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
    writer: Mp4Writer
    meta: IO[str]
    meta_path: Path
    first: datetime
    last: datetime
    t0_mono: float


class Recorder:
    """Writes segments for one sortie at a time; used from the pipeline's encoding thread.

    Args:
        root: the recordings folder; each sortie gets a sub-folder.
        segment_s: least length of a segment (it ends at the next keyframe).
        fps: nominal frame rate (the last frame's duration in each file).
    """

    def __init__(self, root: Path, *, segment_s: float = 60.0, fps: float = 15.0) -> None:
        self.root = root
        self.segment_s = segment_s
        self.fps = fps
        self.folder: Path | None = None
        self.skipped = 0
        self._open: dict[Rendition, _Open] = {}
        self._count: dict[Rendition, int] = {}
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

    def write(self, frame: EncodedFrame) -> None:
        """Add a frame to its rendition's open segment, starting a new one at a keyframe when due.

        Frames before the first keyframe of a segment are skipped (counted in ``skipped``).
        """
        if self.folder is None:
            return
        r, head = frame.rendition, frame.header
        seg = self._open.get(r)
        if seg is not None and head.key and frame.t_mono - seg.t0_mono >= self.segment_s:
            self._close(r)
            seg = None
        if seg is None:
            if not head.key:
                self.skipped += 1
                return
            n = self._count[r] = self._count.get(r, 0) + 1
            path = self.folder / f"{r}-{n:04d}.mp4"
            writer = Mp4Writer(path, head.codec, head.width, head.height, self.fps)
            meta_path = path.with_suffix(".jsonl")
            meta = meta_path.open("w", encoding="utf-8")
            seg = self._open[r] = _Open(writer, meta, meta_path, head.t, head.t, frame.t_mono)
        seg.writer.add(frame.body, head.key, frame.t_mono)
        seg.meta.write(head.model_dump_json(exclude_none=True) + "\n")
        seg.last = head.t

    def stop(self) -> None:
        """Close every open segment and finish the sortie's manifest."""
        for rendition in list(self._open):
            self._close(rendition)
        self.folder = None

    def _close(self, rendition: Rendition) -> None:
        seg = self._open.pop(rendition)
        seg.writer.close()
        seg.meta.close()
        path = seg.writer.path
        self._entries.append(
            {
                "file": path.name,
                "rendition": rendition,
                "codec": seg.writer.codec,
                "frames": seg.writer.frames,
                "keyframes": seg.writer.keyframes,
                "start": seg.first.isoformat(),
                "end": seg.last.isoformat(),
                "duration_s": round(seg.writer.duration_s, 3),
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
                "metadata": {
                    "file": seg.meta_path.name,
                    "bytes": seg.meta_path.stat().st_size,
                    "sha256": sha256_file(seg.meta_path),
                },
            }
        )
        self._write_manifest()

    def _write_manifest(self) -> None:
        assert self.folder is not None
        body = {"v": 1, **self._meta, "segments": self._entries}
        tmp = self.folder / "manifest.json.tmp"
        tmp.write_text(json.dumps(body, indent=1))
        os.replace(tmp, self.folder / "manifest.json")
