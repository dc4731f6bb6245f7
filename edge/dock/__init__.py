"""The dock hardware as the edge sees it: lid, charger and weather sensor, with its drivers.

:class:`Dock` is the seam. Each driver is one module of this package (``KEY``, a config
class with ``type: Literal[KEY]``, and ``open_dock(config)``); :data:`DOCKS` finds them, and
``[dock.hardware] type = ...`` picks one. :mod:`edge.dock.http_dock` talks to a dock
controller over HTTP/JSON; the simulated dock (``sim.dock``) is added by the command line's
wiring. The edge only needs to open and close the lid (waiting until it has), switch the
charger, and read the status and the wind.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from pydantic import Field

from edge.drivers import DriverConfig, DriverRegistry
from edge.energy import Wind
from edge.errors import OutriderError
from edge.protocol import DockStatus

__all__ = ["DOCKS", "Dock", "DockError", "DockHardware", "DockHardwareConfig", "open_dock"]


class DockError(OutriderError):
    """The dock hardware did not do what it was asked (lid stuck, charger fault)."""

    default_code = "dock_not_ready"


class Dock(Protocol):
    """A dock: an async context manager that is connected while entered."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def status(self) -> DockStatus:
        """Lid, charger and the latest weather reading, now."""
        ...

    def wind(self) -> Wind | None:
        """The latest wind reading, ``None`` while the sensor has none."""
        ...

    async def open_lid(self, timeout_s: float) -> None:
        """Open the lid and return once it is fully open.

        Raises:
            DockError: when the lid is not open within ``timeout_s``.
        """
        ...

    async def close_lid(self, timeout_s: float) -> None:
        """Close the lid and return once it is fully closed.

        Raises:
            DockError: when the lid is not closed within ``timeout_s``.
        """
        ...

    async def set_charging(self, on: bool) -> None:
        """Switch the charger on or off."""
        ...


class DockHardwareConfig(DriverConfig):
    """Base of every dock driver's config (the ``[dock.hardware]`` table)."""

    lid_time_s: float = Field(
        3.0, ge=0, title="Time the lid takes to open or close (counted in the launch estimate)"
    )


DockOpener = Callable[[DockHardwareConfig], Dock]

DOCKS: DriverRegistry[DockOpener] = DriverRegistry(
    "dock hardware",
    __name__,
    DockHardwareConfig,
    "open_dock",
    default="sim",
    elsewhere={
        "sim": "the simulator's dock: `outrider edge` and `outrider demo` add it when "
        "Outrider's sim package is installed",
    },
)
"""Dock drivers by key, e.g. ``http`` (and ``sim`` once the simulator's wiring added it)."""

if TYPE_CHECKING:
    DockHardware = DockHardwareConfig
else:
    DockHardware = DOCKS.config_type()
"""The type of ``[dock.hardware]``: validating it picks the driver by ``type``."""


def open_dock(config: DockHardwareConfig) -> Dock:
    """The dock driver ``config`` names, not yet entered.

    Raises:
        ConfigError: ``driver_missing`` when that driver is not available here.
    """
    return DOCKS.get(config.type).open(config)
