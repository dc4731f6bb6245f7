"""Fixtures of the demo tests: the shipped files, the demo command as a child, process trees."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from outrider.demo.config import DemoConfig, load_demo_config
from outrider.demo.scenario import Scenario, load_scenario

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "0")
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="outrider-yolo-"))

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
DEMO_TOML = CONFIGS / "demo.toml"
ONE_INCIDENT = CONFIGS / "scenarios" / "one-incident.toml"
BUSY_HOUR = CONFIGS / "scenarios" / "busy-hour.toml"


@pytest.fixture(scope="session")
def city() -> DemoConfig:
    return load_demo_config(DEMO_TOML)


@pytest.fixture(scope="session")
def busy_hour() -> Scenario:
    return load_scenario(BUSY_HOUR)


@pytest.fixture(scope="session")
def one_incident() -> Scenario:
    return load_scenario(ONE_INCIDENT)


def demo_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "outrider", "demo", *args]


class DemoProcess:
    """``outrider demo`` as a child of the test, its output collected line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    async def line_with(self, text: str, timeout_s: float) -> str:
        """The first stdout line holding ``text`` (reading on from where the last call ended)."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout_s):
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise AssertionError(f"demo exited before printing {text!r}: {self.lines}")
                line = raw.decode(errors="replace")
                self.lines.append(line)
                if text in line:
                    return line

    def tree(self) -> list[psutil.Process]:
        """Every process the demo started, at any depth."""
        return psutil.Process(self.proc.pid).children(recursive=True)


@contextlib.asynccontextmanager
async def demo_process(*args: str) -> AsyncIterator[DemoProcess]:
    """Start ``outrider demo ARGS``; killed (with whatever it started) if the test leaves early."""
    proc = await asyncio.create_subprocess_exec(
        *demo_command(*args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},
    )
    demo = DemoProcess(proc)
    try:
        yield demo
    finally:
        if proc.returncode is None:
            survivors = demo.tree()
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            for p in survivors:
                with contextlib.suppress(psutil.Error):
                    p.kill()


def alive(processes: list[psutil.Process]) -> list[str]:
    """The processes of the list still running (zombies count as gone), described."""
    out = []
    for p in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(f"{p.pid} {' '.join(p.cmdline()[:6])}")
    return out
