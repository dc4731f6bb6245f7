"""The segment store: where uploaded recordings are kept, behind one small interface.

A key is ``dock/sortie/file``. Bytes arrive as a *partial* that grows by appends at its end
(so a resumed upload never writes a byte twice), and become the kept segment on
:meth:`SegmentStore.commit` once their hash has been checked. :class:`LocalFolderStore` is the
default; an S3-compatible store implements the same methods (partials as multipart uploads).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from dispatch.service_errors import ConflictError, NotFoundError
from edge.video.record import sha256_file

__all__ = ["LocalFolderStore", "SegmentStore", "segment_key"]

BLOCK = 1 << 20


def segment_key(dock_id: str, sortie_id: str, file: str) -> str:
    """The store key of one segment."""
    return f"{dock_id}/{sortie_id}/{file}"


class SegmentStore(Protocol):
    """What dispatch needs from wherever segments are kept."""

    def offset(self, key: str) -> int:
        """Bytes of the partial under ``key`` (0 when there is none)."""
        ...

    def append(self, key: str, offset: int, data: bytes) -> int:
        """Write ``data`` at ``offset``, which must be the partial's length; the new length.

        Raises:
            ConflictError: ``offset_mismatch`` when ``offset`` is not the partial's length.
        """
        ...

    def partial_sha256(self, key: str) -> str:
        """Hex SHA-256 of the partial's bytes."""
        ...

    def commit(self, key: str) -> None:
        """Make the partial the kept segment."""
        ...

    def discard(self, key: str) -> None:
        """Drop the partial (a segment whose hash did not match)."""
        ...

    def exists(self, key: str) -> bool:
        """Whether a kept segment is under ``key``."""
        ...

    def read(self, key: str) -> Iterator[bytes]:
        """The kept segment's bytes, in blocks.

        Raises:
            NotFoundError: ``segment_missing`` when nothing is kept under ``key``.
        """
        ...

    def delete(self, key: str) -> bool:
        """Remove the kept segment (and any partial); whether there was one."""
        ...


class LocalFolderStore:
    """Segments as files under ``root/segments``, partials under ``root/partial``.

    Args:
        root: the store's folder (created when missing).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "segments").mkdir(parents=True, exist_ok=True)
        (root / "partial").mkdir(parents=True, exist_ok=True)

    def _kept(self, key: str) -> Path:
        return self.root / "segments" / key

    def _partial(self, key: str) -> Path:
        return self.root / "partial" / f"{key}.part"

    def path(self, key: str) -> Path:
        """The file of a kept segment (for readers that need a path, such as a decoder)."""
        return self._kept(key)

    def offset(self, key: str) -> int:
        try:
            return self._partial(key).stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, key: str, offset: int, data: bytes) -> int:
        path = self._partial(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as f:
            have = f.tell()
            if have != offset:
                raise ConflictError(
                    f"{key}: upload is at byte {have}, not {offset}", code="offset_mismatch"
                )
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            return f.tell()

    def partial_sha256(self, key: str) -> str:
        return sha256_file(self._partial(key))

    def commit(self, key: str) -> None:
        target = self._kept(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._partial(key), target)

    def discard(self, key: str) -> None:
        self._partial(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._kept(key).is_file()

    def read(self, key: str) -> Iterator[bytes]:
        try:
            f: BinaryIO = self._kept(key).open("rb")
        except FileNotFoundError:
            raise NotFoundError(
                f"segment {key} is not in the store", code="segment_missing"
            ) from None
        with f:
            yield from iter(lambda: f.read(BLOCK), b"")

    def delete(self, key: str) -> bool:
        self.discard(key)
        path = self._kept(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        for folder in (path.parent, path.parent.parent):
            if folder != self.root / "segments" and not any(folder.iterdir()):
                shutil.rmtree(folder, ignore_errors=True)
        return True
