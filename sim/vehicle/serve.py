"""Runs sim vehicles in this process until cancelled, a signal, or the parent going away."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence

from sim.vehicle.config import VehicleConfig
from sim.vehicle.sim_vehicle import SimVehicle

__all__ = ["run_vehicles"]

logger = logging.getLogger(__name__)


def _announce(info: dict[str, int]) -> None:
    sys.stdout.write(json.dumps({"event": "ready", **info}) + "\n")
    sys.stdout.flush()


async def _until_stdin_closes() -> None:
    """Return when the parent process closes our stdin (or dies)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


async def _main(configs: Sequence[VehicleConfig], exit_on_stdin_eof: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    async def watch_stdin() -> None:
        await _until_stdin_closes()
        stop.set()

    async def stopper(tasks: list[asyncio.Task[None]]) -> None:
        await stop.wait()
        for task in tasks:
            task.cancel()

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(SimVehicle(c).run(_announce)) for c in configs]
        if exit_on_stdin_eof:
            tasks.append(tg.create_task(watch_stdin()))
        tg.create_task(stopper(tasks))


def run_vehicles(configs: Sequence[VehicleConfig], *, exit_on_stdin_eof: bool = False) -> int:
    """Fly ``configs`` in this process; each writes a JSON ready line on stdout once bound.

    Returns:
        The process exit status.
    """
    try:
        asyncio.run(_main(configs, exit_on_stdin_eof))
    except ExceptionGroup as group:
        failures = group.subgroup(OSError)
        if failures is None:
            raise
        for exc in failures.exceptions:
            sys.stderr.write(f"sim vehicle: {exc}\n")
        return 1
    return 0
