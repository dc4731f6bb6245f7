"""The vehicle of each dock: the sim vehicle (fast, any speed factor) or real PX4 SITL (SIH).

:class:`VehicleSource` is the seam; :class:`SimVehicles` and :class:`Px4Vehicles` are its
two implementations. Each starts one vehicle per dock on the dock's pad and yields what the
dock's edge agent needs: the MAVSDK URL and, for the sim vehicle, the control socket its
charger feeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from outrider.demo.config import DemoDock
from outrider.demo.demo_errors import DemoError

__all__ = ["Px4Vehicles", "SimVehicles", "VehicleLink", "VehicleSource", "free_px4_instances"]

PX4_PORT_BASES = (14540, 14580, 18570)
SIM_READY_TIMEOUT_S = 30.0
SIM_STOP_TIMEOUT_S = 5.0
# A dock drone's battery: PX4's battery simulator empties in 60 s by default.
PX4_DEMO_PARAMS = {"SIM_BAT_DRAIN": 1800.0}


@dataclass(frozen=True)
class VehicleLink:
    """How a dock's edge agent reaches its vehicle."""

    url: str
    charger: str | None
    describe: str


class VehicleSource(Protocol):
    """Starts the vehicle of one dock for the length of an ``async with``."""

    real_time_only: bool

    def vehicle(
        self, dock: DemoDock, index: int, logs: Path
    ) -> contextlib.AbstractAsyncContextManager[VehicleLink]:
        """The vehicle of ``dock`` (the ``index``-th dock of the run), logging into ``logs``."""
        ...


class SimVehicles:
    """Sim vehicles (``python -m sim.vehicle``), one child process each, at a speed factor.

    Each runs in a process group of its own, like the demo's other children, so a Ctrl-C at
    the terminal reaches only the demo, which stops the vehicles after the edges flying them.
    A vehicle also exits when the demo goes away (its stdin closes).
    """

    real_time_only = False

    def __init__(self, speed_factor: float = 1.0) -> None:
        self.speed_factor = speed_factor

    def arguments(self, dock: DemoDock, index: int, port: int) -> list[str]:
        """The command-line arguments of one dock's vehicle (``outrider sim vehicle``)."""
        return [
            "--instance", str(index), "--home", f"{dock.lat},{dock.lon},{dock.alt_amsl_m}",
            "--speed-factor", str(self.speed_factor), "--port", str(port), "--local-port", "0",
            "--control-port", "0", "--battery", "100", "--exit-on-stdin-eof",
            "--log-level", "WARNING",
        ]  # fmt: skip

    @contextlib.asynccontextmanager
    async def vehicle(self, dock: DemoDock, index: int, logs: Path) -> AsyncIterator[VehicleLink]:
        from sim.net import free_udp_port

        port = free_udp_port()
        log_path = logs / f"vehicle-{dock.id}.log"
        with log_path.open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sim.vehicle", *self.arguments(dock, index, port),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
                process_group=0,
            )  # fmt: skip
        try:
            ready = await _ready(proc, log_path)
            control = f"127.0.0.1:{ready['control_port']}"
            yield VehicleLink(f"udpin://127.0.0.1:{port}", control, f"sim vehicle (pid {proc.pid})")
        finally:
            await _stop(proc)


async def _ready(proc: asyncio.subprocess.Process, log_path: Path) -> dict[str, int]:
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), SIM_READY_TIMEOUT_S)
    except TimeoutError:
        line = b""
    if not line:
        raise DemoError(f"a sim vehicle did not start; see {log_path}", code="child_failed")
    ready: dict[str, int] = json.loads(line)
    return ready


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    if proc.stdin is not None:
        proc.stdin.close()
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), SIM_STOP_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()


def free_px4_instances(count: int) -> list[int]:
    """PX4 instance numbers whose UDP ports are all free here, highest first.

    PX4 SITL sends the API link of every instance above 9 to port 14549, the one instance 9
    listens on, so only 1-8 are safe when other PX4 instances may be running.

    Raises:
        DemoError: ``px4_unavailable`` when fewer than ``count`` are free.
    """
    free = []
    for instance in range(8, 0, -1):
        try:
            for base in PX4_PORT_BASES:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.1", base + instance))
        except OSError:
            continue
        free.append(instance)
        if len(free) == count:
            return free
    raise DemoError(
        f"only {len(free)} PX4 instance(s) have free ports, {count} needed",
        code="px4_unavailable",
    )


class Px4Vehicles:
    """Real PX4 SITL SIH instances (:class:`sim.px4.Px4Sitl`), one per dock, in real time.

    Args:
        build_dir: PX4 build directory (``bin/px4`` and ``etc/``).
        workdir: each instance's working directory goes under it (fresh every run).
        instances: PX4 instance numbers, one per dock; free ones when not given.
        count: how many docks, to pick free instances.
    """

    real_time_only = True

    def __init__(
        self, build_dir: Path, workdir: Path, count: int, instances: list[int] | None = None
    ) -> None:
        from sim.px4 import check_build_dir

        check_build_dir(build_dir)
        self.build_dir = build_dir
        self.workdir = workdir
        self.instances = instances or free_px4_instances(count)
        if len(self.instances) < count:
            raise DemoError(f"{count} PX4 instances needed", code="px4_unavailable")

    @contextlib.asynccontextmanager
    async def vehicle(self, dock: DemoDock, index: int, logs: Path) -> AsyncIterator[VehicleLink]:
        from sim.px4 import Px4Sitl

        instance = self.instances[index]
        workdir = self.workdir / f"px4-{instance}"
        shutil.rmtree(workdir, ignore_errors=True)  # parameters persist there: start fresh
        px4 = Px4Sitl(
            self.build_dir,
            instance=instance,
            home=(dock.home, dock.alt_amsl_m),
            params=PX4_DEMO_PARAMS,
            workdir=workdir,
        )
        try:  # a start cut short (Ctrl-C) must not leave PX4 running either
            await px4.start()
            yield VehicleLink(px4.url, None, f"PX4 SITL instance {instance} (log {px4.log_path})")
        finally:
            await px4.stop()
