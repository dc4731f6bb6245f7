"""A NATS server of its own for tests and benchmarks: ``nats-server`` on a free port.

It carries the live video between dispatch instances (:mod:`dispatch.video_nats`), set up as
in service: core pub/sub, no persistence, ``max_payload`` large enough for any video frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from edge.protocol.video import MAX_FRAME_BYTES
from sim.net import free_tcp_port

__all__ = ["NatsServer", "nats_server_binary"]


def nats_server_binary() -> str | None:
    """The ``nats-server`` on the PATH (or Debian's), if any."""
    return shutil.which("nats-server") or shutil.which("/usr/sbin/nats-server")


class NatsServer:
    """``nats-server`` on ``127.0.0.1:<free port>`` while entered."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_tcp_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self._proc: asyncio.subprocess.Process | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="outrider-nats-")

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    async def __aenter__(self) -> Self:
        binary = nats_server_binary()
        if binary is None:
            raise FileNotFoundError("nats-server is not installed")
        conf = Path(self._dir.name) / "nats.conf"
        conf.write_text(f"host: 127.0.0.1\nport: {self.port}\nmax_payload: {MAX_FRAME_BYTES}\n")
        self._proc = await asyncio.create_subprocess_exec(
            binary,
            "-c",
            str(conf),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with asyncio.timeout(10):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        proc, self._proc = self._proc, None
        try:
            if proc is not None and proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        finally:
            self._dir.cleanup()
