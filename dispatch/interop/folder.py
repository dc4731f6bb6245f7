"""The folder watcher: for CAD systems that can only export files.

The CAD system writes one document per file into the watched folder (writing under a name
starting with ``.`` and renaming when done, or simply writing it whole: a file is taken once
its size has stopped changing). Each file goes through the same intake as the webhook and
then moves to ``done/`` or, when refused, to ``rejected/`` with a ``.reason`` file beside
it; the inbox keeps a copy either way. A file that cannot be read, or arrives while the store
is away, stays where it is and is tried again, so nothing is lost to a passing error.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from dispatch.interop.cad.base import MAX_DOCUMENT_BYTES
from dispatch.interop.config import FolderConfig
from dispatch.interop.intake import CadIntake
from dispatch.service_errors import UnavailableError
from edge.errors import OutriderError

__all__ = ["FolderWatcher"]

logger = logging.getLogger(__name__)


class FolderWatcher:
    """Polls one folder and hands each finished file to the intake.

    Args:
        folder: which folder, which adapter, how often.
        intake: the CAD intake.
    """

    def __init__(self, folder: FolderConfig, intake: CadIntake) -> None:
        self.folder = folder
        self.intake = intake
        self.done = folder.path / "done"
        self.rejected = folder.path / "rejected"
        self._sizes: dict[Path, int] = {}

    def _finished(self) -> list[Path]:
        """Files whose size has not changed since the last look."""
        seen: dict[Path, int] = {}
        for entry in sorted(self.folder.path.iterdir()):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            seen[entry] = entry.stat().st_size
        ready = [p for p, size in seen.items() if self._sizes.get(p) == size]
        self._sizes = {p: s for p, s in seen.items() if p not in ready}
        return ready

    async def scan(self) -> int:
        """Take every finished file once; the number taken."""
        for folder in (self.folder.path, self.done, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)
        taken = 0
        for path in self._finished():
            try:
                with path.open("rb") as f:
                    body = f.read(MAX_DOCUMENT_BYTES + 1)
            except OSError as exc:
                logger.warning("cannot read %s (%s); trying again", path, exc)
                continue
            try:
                await self.intake.document(self.folder.adapter, self.folder.source, body)
            except UnavailableError as exc:
                logger.warning("cannot take %s now (%s); trying again", path.name, exc)
                continue
            except OutriderError as exc:
                (self.rejected / f"{path.name}.reason").write_text(f"{exc.code}: {exc.reason}\n")
                os.replace(path, self.rejected / path.name)
                logger.warning("refused %s: %s", path.name, exc)
            else:
                os.replace(path, self.done / path.name)
            taken += 1
        return taken

    async def run(self) -> None:
        """Scan forever (the runtime's task group owns it)."""
        while True:
            try:
                await self.scan()
            except OSError as exc:
                logger.warning("cannot scan %s: %s", self.folder.path, exc)
            await asyncio.sleep(self.folder.poll_s)
