"""Real PX4 SITL (SIH quad, no Gazebo) as the vehicle, started from a PX4 build directory.

Outrider never builds PX4: the user gives a build directory holding ``bin/px4`` and ``etc/``
(``OUTRIDER_PX4_BUILD`` in tests). Each instance runs in a fresh working directory of its own,
so parameters saved by one run never leak into the next, with the parameters a dock-based
drone needs applied at boot through PX4's ``PX4_PARAM_*`` environment variables. SIH runs in
real time only: there is no speed factor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from pymavlink.dialects.v20 import common as mavlink2

from edge.errors import ConfigError
from edge.geo import LatLon

__all__ = ["DOCK_PARAMS", "PX4_BUILD_ENV", "Px4Sitl", "check_build_dir"]

logger = logging.getLogger(__name__)

PX4_BUILD_ENV = "OUTRIDER_PX4_BUILD"
READY_LINE = "Ready for takeoff"

# What a drone in a dock needs that PX4's defaults do not give it: no RC at all, a return
# home on data-link loss and low battery, brisk take-off and landing, and no flight logs.
DOCK_PARAMS: dict[str, float] = {
    "COM_RC_IN_MODE": 4,  # manual control disabled: no RC, so no RC-loss failsafe
    "COM_RCL_EXCEPT": 3,  # and none in mission or auto modes should a stick appear
    "NAV_DLL_ACT": 2,  # data-link loss: return
    "COM_DL_LOSS_T": 10,
    "COM_LOW_BAT_ACT": 3,  # return at low, land at emergency level
    "MPC_TKO_SPEED": 3.0,
    "MPC_Z_V_AUTO_UP": 3.0,
    "MPC_Z_V_AUTO_DN": 2.0,
    "MPC_Z_VEL_MAX_DN": 2.5,
    "MPC_LAND_SPEED": 1.2,
    "MPC_XY_CRUISE": 12.0,
    "MPC_XY_VEL_MAX": 15.0,
    "SDLOG_BACKEND": 0,  # no flight logs (PX4 since 2025-08; SDLOG_MODE=-1 no longer stops them)
}


def check_build_dir(build_dir: Path) -> Path:
    """The PX4 binary of a build directory.

    Raises:
        ConfigError: when the directory lacks ``bin/px4`` or ``etc/``.
    """
    px4 = build_dir / "bin" / "px4"
    if not (px4.is_file() and os.access(px4, os.X_OK)):
        raise ConfigError(
            f"{build_dir} is not a PX4 build directory: no executable bin/px4 "
            "(build PX4 SITL with its own instructions and pass its build/px4_sitl_default)"
        )
    if not (build_dir / "etc").is_dir():
        raise ConfigError(f"{build_dir} is not a PX4 build directory: no etc/ folder")
    return px4


class Px4Sitl:
    """One PX4 SITL SIH instance, as an async context manager.

    Args:
        build_dir: PX4 build directory with ``bin/px4`` and ``etc/``.
        instance: PX4 instance number; MAVSDK listens on UDP 14540 + instance.
        home: home position and its altitude above mean sea level.
        params: parameters applied at boot, on top of :data:`DOCK_PARAMS`.
        keep_logs: keep PX4 flight logs (off by default: ~50 MB a flight).
        workdir: working directory; a fresh temporary one when not given.
    """

    def __init__(
        self,
        build_dir: Path,
        *,
        instance: int = 0,
        home: tuple[LatLon, float] = (LatLon(47.397742, 8.545594), 489.4),
        params: Mapping[str, float] | None = None,
        keep_logs: bool = False,
        workdir: Path | None = None,
        ready_timeout_s: float = 90.0,
    ) -> None:
        self.px4 = check_build_dir(build_dir)
        self.build_dir = build_dir
        self.instance = instance
        self.home = home
        self.params = {**DOCK_PARAMS, **(params or {})}
        if keep_logs:
            self.params.pop("SDLOG_BACKEND")
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"outrider-px4-{instance}-"))
        self.ready_timeout_s = ready_timeout_s
        self._proc: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The MAVSDK connection URL of this instance's API link."""
        return f"udpin://127.0.0.1:{14540 + self.instance}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "px4.out"

    def environment(self) -> dict[str, str]:
        """The process environment PX4 reads its model, home and parameters from."""
        lat_lon, alt = self.home
        env = {
            **os.environ,
            "PX4_SIMULATOR": "sihsim",
            "PX4_SIM_MODEL": "sihsim_quadx",
            "PX4_SYS_AUTOSTART": "10040",
            "PX4_HOME_LAT": f"{lat_lon.lat:.7f}",
            "PX4_HOME_LON": f"{lat_lon.lon:.7f}",
            "PX4_HOME_ALT": f"{alt:.2f}",
        }
        env.update({f"PX4_PARAM_{k}": f"{v:g}" for k, v in self.params.items()})
        return env

    async def start(self) -> None:
        """Start PX4 and return once it reports it is ready for take-off.

        Raises:
            TimeoutError: when PX4 is not ready in time (its output is in :attr:`log_path`).
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._proc = await asyncio.create_subprocess_exec(
            str(self.px4),
            "-i",
            str(self.instance),
            "-d",
            str(self.build_dir / "etc"),
            cwd=self.workdir,
            env=self.environment(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        ready = asyncio.Event()
        self._pump = asyncio.create_task(self._read_output(ready))
        try:
            async with asyncio.timeout(self.ready_timeout_s):
                await self._greet_until(ready)
        except TimeoutError:
            await self.stop()
            raise TimeoutError(
                f"PX4 instance {self.instance} not ready after {self.ready_timeout_s:.0f} s; "
                f"see {self.log_path}"
            ) from None
        logger.info("PX4 instance %d ready (%s)", self.instance, self.url)

    async def _greet_until(self, ready: asyncio.Event) -> None:
        """Send GCS heartbeats to PX4's GCS link until it is ready for take-off.

        With a data-link-loss action set, PX4 is not ready for take-off before it has heard a
        ground station; MAVSDK will be that station later, on the API link.
        """
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=("127.0.0.1", 18570 + self.instance)
        )
        mav = mavlink2.MAVLink(None, srcSystem=255, srcComponent=190)
        beat = mav.heartbeat_encode(mavlink2.MAV_TYPE_GCS, mavlink2.MAV_AUTOPILOT_INVALID, 0, 0, 0)
        try:
            while not ready.is_set():
                transport.sendto(beat.pack(mav))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await ready.wait()
        finally:
            transport.close()

    async def _read_output(self, ready: asyncio.Event) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        with self.log_path.open("wb") as log:
            async for line in self._proc.stdout:
                log.write(line)
                log.flush()
                if READY_LINE.encode() in line:
                    ready.set()

    async def stop(self) -> None:
        """Stop PX4 and everything it started."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
        if self._own_workdir and et is None:
            shutil.rmtree(self.workdir, ignore_errors=True)
