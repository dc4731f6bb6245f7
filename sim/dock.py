"""A simulated dock: a lid that takes time to move, a charger, and a wind sensor tests can script.

It implements :class:`edge.dock.Dock` and is the ``sim`` dock driver (``KEY``,
:class:`SimDockConfig`, :func:`open_dock`), which :func:`sim.drivers.register` adds to the
edge's registry. Charging feeds a ``charge`` coroutine with the percent added each tick (for
the sim vehicle, through its control socket), so the vehicle's battery fills while it sits
in the dock; with no callback the dock only reports that it is charging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Final, Literal, Self

from pydantic import Field, field_validator

from edge.aio import within
from edge.dock import DockError, DockHardwareConfig
from edge.energy import Wind
from edge.protocol import DockStatus

__all__ = ["KEY", "SimDock", "SimDockConfig", "open_dock"]

logger = logging.getLogger(__name__)

LidState = Literal["open", "closed", "opening", "closing", "unknown"]
CHARGE_TICK_S = 0.2
CHARGE_TIMEOUT_S = 5.0
CALM = Wind()
Charger = Callable[[float], Awaitable[None]]
KEY: Final = "sim"


class SimDockConfig(DockHardwareConfig):
    """The simulated dock hardware: lid motor, charger and weather sensor."""

    type: Literal["sim"] = KEY
    charge_pct_per_s: float = Field(0.5, gt=0, title="Charge rate, battery percent per second")
    wind_mps: float = Field(0.0, ge=0, title="Wind the weather sensor reads at start")
    wind_from_deg: float = Field(0.0, ge=0, lt=360)
    vehicle_control: str | None = Field(
        None, title="host:port of the sim vehicle's control socket the charger feeds"
    )

    @field_validator("vehicle_control")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None:
            host, _, port = value.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError("must be host:port")
        return value


class SimDock:
    """The sim dock, as an async context manager.

    Args:
        lid_time_s: how long the lid takes to open or close.
        charge_pct_per_s: charge rate in battery percent per second.
        wind: the first wind reading.
        charge: called with the percent to add to the vehicle's battery on each charger tick.
        vehicle_control: host and port of a sim vehicle's control socket to charge through,
            when no ``charge`` is given.
    """

    def __init__(
        self,
        *,
        lid_time_s: float = 3.0,
        charge_pct_per_s: float = 0.5,
        wind: Wind | None = CALM,
        charge: Charger | None = None,
        vehicle_control: tuple[str, int] | None = None,
    ) -> None:
        self.lid_time_s = lid_time_s
        self.charge_pct_per_s = charge_pct_per_s
        self._wind = wind
        self._charge = charge
        self._vehicle_control = vehicle_control
        self._lid: LidState = "closed"
        self._jammed = False
        self._charger_on = asyncio.Event()
        self._charger_task: asyncio.Task[None] | None = None
        self._stack = contextlib.AsyncExitStack()
        self.lid_moves = 0

    async def __aenter__(self) -> Self:
        if self._charge is None and self._vehicle_control is not None:
            await self._connect_charger(*self._vehicle_control)
        tasks = await self._stack.enter_async_context(asyncio.TaskGroup())
        self._charger_task = tasks.create_task(self._charger())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._charger_task is not None:
            self._charger_task.cancel()
        self._charger_task = None
        await self._stack.aclose()

    async def _connect_charger(self, host: str, port: int) -> None:
        """Charge the sim vehicle through its control socket (logged, never fatal)."""
        from sim.vehicle.control import ControlClient, ControlError

        try:
            client = await self._stack.enter_async_context(ControlClient(port, host))
        except ControlError as exc:
            logger.warning("the charger cannot reach the sim vehicle: %s", exc)
            return

        async def charge(pct: float) -> None:
            await client.request({"op": "charge", "pct": pct})

        self._charge = charge

    # -- what tests script --------------------------------------------------------------------

    def set_wind(self, speed_mps: float | None, from_deg: float = 0.0) -> None:
        """The next wind reading (``None``: the sensor has failed)."""
        self._wind = None if speed_mps is None else Wind(speed_mps, from_deg)

    def jam_lid(self, jammed: bool = True) -> None:
        """Make the lid motor stall (or work again)."""
        self._jammed = jammed

    def set_charge_sink(self, charge: Charger | None) -> None:
        """Where the charger's energy goes (the sim vehicle's battery)."""
        self._charge = charge

    # -- the Dock protocol --------------------------------------------------------------------

    def status(self) -> DockStatus:
        wind = self._wind
        return DockStatus(
            lid=self._lid,
            charging=self._charger_on.is_set(),
            wind_mps=None if wind is None else wind.speed_mps,
            wind_from_deg=None if wind is None else wind.from_deg % 360.0,
        )

    def wind(self) -> Wind | None:
        return self._wind

    async def open_lid(self, timeout_s: float) -> None:
        await self._move("open", timeout_s)

    async def close_lid(self, timeout_s: float) -> None:
        await self._move("closed", timeout_s)

    async def set_charging(self, on: bool) -> None:
        if on:
            self._charger_on.set()
        else:
            self._charger_on.clear()

    async def _move(self, to: Literal["open", "closed"], timeout_s: float) -> None:
        if self._lid == to:
            return
        self._lid = "opening" if to == "open" else "closing"
        self.lid_moves += 1
        try:
            async with asyncio.timeout(timeout_s):
                if self._jammed:
                    await asyncio.Event().wait()  # a stalled motor never finishes
                await asyncio.sleep(self.lid_time_s)  # the motor's travel time
        except TimeoutError:
            self._lid = "unknown"
            verb = "open" if to == "open" else "close"
            raise DockError(f"lid did not {verb} within {timeout_s:g} s") from None
        self._lid = to

    async def _charger(self) -> None:
        """Feed the vehicle's battery while the charger is on."""
        loop = asyncio.get_running_loop()
        while True:
            await self._charger_on.wait()
            last = loop.time()
            await asyncio.sleep(CHARGE_TICK_S)
            now = loop.time()
            if self._charger_on.is_set() and self._charge is not None:
                try:
                    await within(
                        self._charge(self.charge_pct_per_s * (now - last)), CHARGE_TIMEOUT_S
                    )
                except Exception:  # a charger fault must not stop the dock
                    logger.exception("charger could not feed the vehicle battery")


def open_dock(config: SimDockConfig) -> SimDock:
    """The sim dock ``config`` describes, charging the sim vehicle at ``vehicle_control``."""
    control = None
    if config.vehicle_control:
        host, _, port = config.vehicle_control.rpartition(":")
        control = (host, int(port))
    return SimDock(
        lid_time_s=config.lid_time_s,
        charge_pct_per_s=config.charge_pct_per_s,
        wind=Wind(config.wind_mps, config.wind_from_deg),
        vehicle_control=control,
    )
