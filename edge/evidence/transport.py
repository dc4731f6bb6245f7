"""The upload's transport: what the uploader needs from the link to dispatch, and its errors.

The HTTP implementation lives in :mod:`edge.evidence.http`."""

from __future__ import annotations

from typing import Protocol

from edge.errors import OutriderError
from edge.protocol.evidence import SegmentStatus, UploadStatus

__all__ = ["OffsetMismatch", "UploadError", "UploadTransport"]


class UploadError(OutriderError):
    """The upload did not go through (the code says why); try again later."""

    default_code = "upload_failed"


class OffsetMismatch(UploadError):
    """Dispatch holds another offset for the segment; carry on from ``offset``."""

    default_code = "offset_mismatch"

    def __init__(self, reason: str, offset: int | None) -> None:
        super().__init__(reason)
        self.offset = offset


class UploadTransport(Protocol):
    """What the uploader needs from the link to dispatch."""

    async def put_manifest(self, sortie_id: str, manifest: bytes) -> UploadStatus:
        """Announce a sortie's recordings; every segment's offset and state."""
        ...

    async def offset(self, sortie_id: str, file: str) -> int:
        """Bytes of ``file`` dispatch holds."""
        ...

    async def append(self, sortie_id: str, file: str, offset: int, data: bytes) -> SegmentStatus:
        """Send ``data`` to go at ``offset`` of ``file``.

        Raises:
            OffsetMismatch: dispatch holds another offset.
            UploadError: anything else (``hash_mismatch`` when the whole file did not match).
        """
        ...
