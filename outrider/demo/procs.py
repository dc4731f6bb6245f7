"""Child processes of the demo: started guarded, logged to a file, stopped with their group.

Each child runs under :mod:`outrider.demo.guard` in a process group of its own, so a Ctrl-C at
the terminal reaches only the demo, which then stops its children in order (edges first, so
they say ``offline``; then dispatch), and a demo killed outright still takes them with it.
Stopping sends SIGTERM to the child's whole group, waits, and kills what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from outrider.demo.demo_errors import DemoError

__all__ = ["ChildProcess", "outrider_command"]

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 12.0  # longer than the guard's grace (outrider.demo.guard.GRACE_S)


def outrider_command(*args: str) -> list[str]:
    """The command line of ``outrider ARGS`` with this interpreter."""
    return [sys.executable, "-m", "outrider", *args]


class ChildProcess:
    """One guarded child process, as an async context manager.

    Args:
        name: a short name for logs and errors (``dispatch``, ``edge dock-01``).
        argv: the command to run.
        log_path: file that receives the child's stdout and stderr.
        env: extra environment variables.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env or {})
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc else None

    async def start(self) -> None:
        """Start the child (guarded so that it dies with this process)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "OUTRIDER_GUARD_PARENT": str(os.getpid())}
        cmd = [sys.executable, "-m", "outrider.demo.guard", "--", *self.argv]
        with self.log_path.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                process_group=0,
            )
        logger.info("started %s (pid %d), log %s", self.name, self._proc.pid, self.log_path)

    def check_alive(self) -> None:
        """Raise when the child has exited.

        Raises:
            DemoError: ``child_failed``, naming the child, its status and its log.
        """
        if self._proc is not None and self._proc.returncode is not None:
            raise DemoError(
                f"{self.name} exited with status {self._proc.returncode}; see {self.log_path}",
                code="child_failed",
            )

    async def wait(self) -> int:
        """Wait for the child to exit; its status."""
        assert self._proc is not None
        return await self._proc.wait()

    async def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM to the child's group, then SIGKILL to whatever is left after the timeout."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), timeout_s)
            except TimeoutError:
                logger.warning("%s did not stop in %.0f s; killing it", self.name, timeout_s)
                proc.kill()
                await proc.wait()
        _signal_group(proc.pid, signal.SIGKILL)  # anything it started and left behind

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
