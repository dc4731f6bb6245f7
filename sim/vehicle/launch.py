"""Start a sim vehicle as a child process and talk to it: the API other parts' tests use.

The vehicle runs in a process of its own, so MAVSDK and the vehicle never share an event loop
or a core's time slice, exactly as with PX4 SITL. The child exits when its parent closes its
stdin, so a crashed test never leaves a vehicle flying.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from sim.net import free_udp_port
from sim.vehicle.config import Home
from sim.vehicle.control import ControlClient, ControlError
from sim.vehicle.faults import Fault

__all__ = ["SimVehicleProcess", "launch"]

logger = logging.getLogger(__name__)

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


def _home_arg(home: Home | tuple[float, float, float] | str | None) -> str | None:
    if home is None:
        return None
    if isinstance(home, str):
        return home
    if isinstance(home, Home):
        return f"{home.lat},{home.lon},{home.alt_amsl}"
    return ",".join(str(float(x)) for x in home)


class SimVehicleProcess:
    """One sim vehicle in a child process; an async context manager.

    Use :func:`launch` to make one. Inside ``async with``, :attr:`url` is what MAVSDK connects
    to; :meth:`inject`, :meth:`clear` and :meth:`truth` talk to the vehicle's control socket.
    The same object can be entered again after it exits (a fresh vehicle), but not twice at once.
    """

    def __init__(self, args: list[str], port: int, log_level: str) -> None:
        self._args = args
        self.port = port
        self._log_level = log_level
        self._proc: asyncio.subprocess.Process | None = None
        self._control: ControlClient | None = None
        self._lock = asyncio.Lock()
        self.ready: dict[str, int] = {}

    # ------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Self:
        if self._lock.locked():
            raise ControlError("this sim vehicle is already running", code="sim_reentered")
        await self._lock.acquire()
        try:
            await self._start()
        except BaseException:
            await self._shutdown(kill=True)
            self._lock.release()
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._shutdown(kill=False)
        finally:
            if self._lock.locked():
                self._lock.release()

    async def _start(self) -> None:
        cmd = [sys.executable, "-m", "sim.vehicle", *self._args, "--log-level", self._log_level]
        self._proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert self._proc.stdout is not None
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), READY_TIMEOUT_S)
        except TimeoutError as exc:
            raise ControlError("sim vehicle did not become ready", code="sim_start_failed") from exc
        if not line:
            code = await self._proc.wait()
            raise ControlError(f"sim vehicle exited with {code}", code="sim_start_failed")
        self.ready = json.loads(line)
        self._control = ControlClient(self.ready["control_port"])
        await self._control.__aenter__()

    async def _shutdown(self, kill: bool) -> None:
        if self._control is not None:
            await self._control.__aexit__(None, None, None)
            self._control = None
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        if kill:
            proc.kill()
        else:
            if proc.stdin is not None:
                proc.stdin.close()
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def stop(self) -> None:
        """Stop the vehicle cleanly (SIGTERM); it vanishes from the network."""
        await self._shutdown(kill=False)

    async def kill(self) -> None:
        """Kill the vehicle at once (SIGKILL), like a crashed autopilot."""
        await self._shutdown(kill=True)

    # ---------------------------------------------------------- addresses
    @property
    def url(self) -> str:
        """MAVSDK connection URL, ``udpin://127.0.0.1:PORT``."""
        return f"udpin://127.0.0.1:{self.port}"

    @property
    def sysid(self) -> int:
        return int(self.ready.get("sysid", 1))

    @property
    def control_port(self) -> int:
        return int(self.ready["control_port"])

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    # ------------------------------------------------------------ control
    async def request(self, req: dict[str, Any]) -> dict[str, Any]:
        """One raw control-socket request (see :mod:`sim.vehicle.control`)."""
        if self._control is None:
            raise ControlError("sim vehicle is not running", code="sim_unreachable")
        return await self._control.request(req)

    async def inject(self, fault: str | Fault | Mapping[str, Any], **fields: Any) -> None:
        """Inject a fault now: ``"link_loss:5"``, a :class:`Fault`, or ``kind`` plus fields.

        Example: ``await v.inject("battery_sag", to_pct=10)``.
        """
        spec: Any
        if isinstance(fault, Fault):
            spec = fault.model_dump(mode="json")
        elif isinstance(fault, str) and fields:
            spec = {"kind": fault, **fields}
        elif isinstance(fault, str):
            spec = fault
        else:
            spec = dict(fault)
        await self.request({"op": "fault", "fault": spec})

    async def clear(self, kind: str | None = None) -> None:
        """End faults of ``kind`` (every fault when ``None``)."""
        await self.request({"op": "clear", "kind": kind})

    async def truth(self) -> dict[str, Any]:
        """The vehicle's ground truth: position, mode, battery, faults, link counters."""
        return (await self.request({"op": "state"}))["state"]  # type: ignore[no-any-return]

    async def set_wind(self, speed_mps: float, from_deg: float) -> None:
        await self.request({"op": "wind", "speed_mps": speed_mps, "from_deg": from_deg})

    async def set_speed_factor(self, value: float) -> None:
        await self.request({"op": "speed_factor", "value": value})

    async def charge(self, pct: float) -> float:
        """Add ``pct`` percent of charge (a dock's charger); returns the new charge."""
        reply = await self.request({"op": "charge", "pct": pct})
        return float(reply["battery_pct"])

    async def param(self, name: str, value: float | None = None) -> float:
        """Read (or set, bypassing MAVLink) one parameter."""
        req: dict[str, Any] = {"op": "param", "name": name}
        if value is not None:
            req["value"] = value
        return float((await self.request(req))["value"])


def launch(
    *,
    home: Home | tuple[float, float, float] | str | None = None,
    speed_factor: float = 1.0,
    port: int | None = None,
    instance: int = 0,
    faults: Sequence[str] = (),
    params: Mapping[str, float] | None = None,
    wind: tuple[float, float] | None = None,
    battery_pct: float = 100.0,
    frame_rule: str = "any_frame",
    mission_start_delay_s: float = 0.02,
    log_level: str = "WARNING",
) -> SimVehicleProcess:
    """A sim vehicle ready to start with ``async with``.

    Args:
        home: ``(lat, lon, alt_amsl)``, ``"LAT,LON,ALT"`` or a :class:`Home`; PX4's default
            when ``None``.
        speed_factor: simulated seconds per wall second for the flight physics.
        port: UDP port MAVSDK listens on; a free one when ``None``.
        instance: PX4 instance number; the system id is ``instance + 1``, so vehicles that
            share one MAVSDK instance need different instances.
        faults: fault specs active from the start (see :mod:`sim.vehicle.faults`).
        params: PX4 parameters that differ from PX4's defaults.
        wind: ``(speed_mps, from_deg)``.
        battery_pct: charge at start.
        frame_rule: ``"any_frame"`` (PX4 main), ``"global_int_only"`` or ``"any_global"``
            (older PX4), see :mod:`sim.vehicle.mavlink.command_protocol`.
        mission_start_delay_s: how long after an upload mission mode is refused.
        log_level: the child's log level (its log goes to this process's stderr).
    """
    mavsdk_port = port or free_udp_port()
    args = [
        "--instance", str(instance), "--speed-factor", str(speed_factor),
        "--port", str(mavsdk_port), "--local-port", "0", "--control-port", "0",
        "--battery", str(battery_pct), "--frame-rule", frame_rule,
        "--mission-start-delay", str(mission_start_delay_s), "--exit-on-stdin-eof",
    ]  # fmt: skip
    home_arg = _home_arg(home)
    if home_arg is not None:
        args.append(f"--home={home_arg}")
    for spec in faults:
        args += ["--fault", spec]
    for name, value in (params or {}).items():
        args += ["--param", f"{name}={value}"]
    if wind is not None:
        args += ["--wind", f"{wind[0]},{wind[1]}"]
    return SimVehicleProcess(args, mavsdk_port, log_level)
