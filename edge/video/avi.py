"""A minimal Motion-JPEG AVI writer: stores JPEG frames as they are, no re-encoding.

The files play in common players and open with OpenCV (``cv2.VideoCapture``). Layout:
``RIFF AVI { LIST hdrl { avih, LIST strl { strh, strf } }, LIST movi { 00dc... }, idx1 }``;
sizes and frame counts are patched in when the file is closed.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

__all__ = ["MjpegAviWriter"]

_AVIF_HASINDEX = 0x10
_AVIIF_KEYFRAME = 0x10


class MjpegAviWriter:
    """Appends JPEG frames to an AVI file.

    Args:
        path: the file to create.
        width, height: frame size in pixels.
        fps: nominal frame rate written in the header.
    """

    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        self.path = path
        self.frames = 0
        self._f: BinaryIO = path.open("wb")
        self._index: list[tuple[int, int]] = []
        self._size = (width, height)
        self._fps = fps
        self._write_headers()

    def _write_headers(self) -> None:
        w, h = self._size
        us = round(1_000_000 / self._fps)
        avih = struct.pack("<10I4I", us, 0, 0, _AVIF_HASINDEX, 0, 0, 1, 0, w, h, 0, 0, 0, 0)
        strh = struct.pack(
            "<4s4sIHHIIIIIIIIhhhh",
            b"vids", b"MJPG", 0, 0, 0, 0, 1000, round(self._fps * 1000), 0, 0, 0,
            0xFFFFFFFF, 0, 0, 0, w, h,
        )  # fmt: skip
        strf = struct.pack("<IiiHH4sIiiII", 40, w, h, 1, 24, b"MJPG", w * h * 3, 0, 0, 0, 0)
        strl = b"strl" + _chunk(b"strh", strh) + _chunk(b"strf", strf)
        hdrl = b"hdrl" + _chunk(b"avih", avih) + _chunk(b"LIST", strl)
        self._f.write(b"RIFF\0\0\0\0AVI ")
        self._f.write(_chunk(b"LIST", hdrl))
        self._movi_at = self._f.tell()
        self._f.write(b"LIST\0\0\0\0movi")
        self._avih_frames_at = 12 + 8 + 4 + 8 + 16
        self._strh_length_at = 12 + 8 + 4 + 8 + len(avih) + 8 + 4 + 8 + 32

    def add(self, jpeg: bytes) -> None:
        """Append one JPEG frame."""
        offset = self._f.tell() - (self._movi_at + 8)
        self._f.write(_chunk(b"00dc", jpeg))
        self._index.append((offset, len(jpeg)))
        self.frames += 1

    def close(self) -> None:
        """Write the index, patch the sizes and counts, and close the file."""
        if self._f.closed:
            return
        movi_end = self._f.tell()
        idx = b"".join(
            struct.pack("<4sIII", b"00dc", _AVIIF_KEYFRAME, off, size) for off, size in self._index
        )
        self._f.write(_chunk(b"idx1", idx))
        end = self._f.tell()
        for at, value in (
            (4, end - 8),
            (self._movi_at + 4, movi_end - self._movi_at - 8),
            (self._avih_frames_at, self.frames),
            (self._strh_length_at, self.frames),
        ):
            self._f.seek(at)
            self._f.write(struct.pack("<I", value))
        self._f.close()


def _chunk(fourcc: bytes, data: bytes) -> bytes:
    pad = b"\0" if len(data) % 2 else b""
    return fourcc + struct.pack("<I", len(data)) + data + pad
