"""The dock hardware as the edge sees it: lid, charger and weather sensor.

:class:`Dock` is the seam: the real driver talks to the dock's controller, ``sim.dock.SimDock``
simulates it. The edge only needs to open and close the lid (waiting until it has), switch the
charger, and read the status and the wind.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from edge.energy import Wind
from edge.errors import OutriderError
from edge.protocol import DockStatus

__all__ = ["Dock", "DockError"]


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
