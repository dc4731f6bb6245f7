"""Driver registries: hardware drivers found by key, and configs that pick their driver by key.

A driver is one module that defines ``KEY``, a config class with ``type: Literal[KEY]`` (a
subclass of the registry's base config) and an opener function (``open_dock``,
``open_camera``, ...). A :class:`DriverRegistry` finds the built-in drivers in its package
the first time it is asked (a driver whose runtime is missing raises ``ImportError`` at
import; it is logged and left out), and takes more with :meth:`DriverRegistry.add`: the
simulator's drivers are added by the command line's wiring, never imported by the edge.

A config field typed :meth:`DriverRegistry.config_type` validates a table by its ``type``:
the driver's own config class checks the keys, and a ``type`` no registered driver has is
refused with the error type ``driver_missing``, whose message says what to install or run.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass
from types import ModuleType
from typing import Annotated, Any, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict, PlainValidator, SerializeAsAny
from pydantic_core import PydanticCustomError

from edge.errors import ConfigError

__all__ = [
    "DRIVER_MISSING",
    "Driver",
    "DriverConfig",
    "DriverRegistry",
    "config_class",
    "import_plugins",
]

logger = logging.getLogger(__name__)

DRIVER_MISSING = "driver_missing"
"""The error code (and pydantic error type) of a config naming a driver that is not here."""

Opener = TypeVar("Opener")
Config = TypeVar("Config", bound=BaseModel)


class DriverConfig(BaseModel):
    """Base of every driver's config: ``type`` names the driver, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    type: str


@dataclass(frozen=True, slots=True)
class Driver(Generic[Opener]):
    """One registered driver: its key, its config class and the function that opens it."""

    key: str
    config: type[DriverConfig]
    open: Opener
    module: str


def import_plugins(
    package: str, kind: str, skipped: dict[str, str] | None = None
) -> list[ModuleType]:
    """Every module of ``package`` that imports; one whose runtime is missing is logged.

    Args:
        package: the package whose modules are the plugins.
        kind: what they are, for the log.
        skipped: filled with the name of each module that did not import, and why.

    Returns:
        the imported modules, in name order.
    """
    found = []
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        try:
            found.append(importlib.import_module(f"{package}.{info.name}"))
        except ImportError as exc:
            logger.info("%s %s skipped: %s", kind, info.name, exc)
            if skipped is not None:
                skipped[info.name] = str(exc)
    return found


def config_class(module: ModuleType, base: type[Config]) -> type[Config] | None:
    """The config class a plugin module defines: a ``base`` whose ``type`` defaults to ``KEY``."""
    return next(
        (
            c
            for c in vars(module).values()
            if isinstance(c, type)
            and issubclass(c, base)
            and c.model_fields["type"].default == module.KEY
        ),
        None,
    )


class DriverRegistry(Generic[Opener]):
    """The drivers of one kind of hardware, by key.

    Args:
        kind: what the drivers drive, for messages (``dock hardware``, ``camera source``).
        package: where the built-in driver modules are (every module in it is a driver).
        base: the base class of the drivers' configs.
        opener: the name of the function each driver module defines to open its hardware.
        default: the key of a table that gives no ``type``.
        elsewhere: hints for keys that other packages register, e.g. the simulator's.
    """

    def __init__(
        self,
        kind: str,
        package: str,
        base: type[DriverConfig],
        opener: str,
        *,
        default: str,
        elsewhere: dict[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.package = package
        self.base = base
        self.opener = opener
        self.default = default
        self.elsewhere = dict(elsewhere or {})
        self._drivers: dict[str, Driver[Opener]] = {}
        self._skipped: dict[str, str] = {}
        self._discovered = False

    def _discover(self) -> None:
        if not self._discovered:
            self._discovered = True
            for module in import_plugins(self.package, f"{self.kind} driver", self._skipped):
                self.add(module)

    def add(self, module: ModuleType) -> Driver[Opener]:
        """Register the driver a module defines (``KEY``, its config class, its opener).

        Raises:
            TypeError: when the module lacks one of the three.
        """
        key = module.KEY
        config = config_class(module, self.base)
        opener = getattr(module, self.opener, None)
        if config is None or not callable(opener):
            raise TypeError(
                f"{module.__name__} is not a {self.kind} driver: it needs KEY, a config class "
                f"with type = {key!r} and {self.opener}()"
            )
        driver = Driver(key, config, cast(Opener, opener), module.__name__)
        self._drivers[key] = driver
        return driver

    def keys(self) -> list[str]:
        """The keys of every driver available here."""
        self._discover()
        return sorted(self._drivers)

    def get(self, key: str) -> Driver[Opener]:
        """The driver registered as ``key``.

        Raises:
            ConfigError: ``driver_missing``, naming what provides the driver.
        """
        self._discover()
        driver = self._drivers.get(key)
        if driver is None:
            raise ConfigError(self.missing(key), code=DRIVER_MISSING)
        return driver

    def missing(self, key: str) -> str:
        """Why ``key`` is not available, and what would make it so."""
        where = self.elsewhere.get(key, "no such driver")
        message = f"{self.kind} {key!r} is not available here ({where}); available: {self.keys()}"
        if self._skipped:
            why = "; ".join(f"{name}: {reason}" for name, reason in sorted(self._skipped.items()))
            message += f"; drivers that could not load: {why}"
        return message

    def validate(self, value: object) -> DriverConfig:
        """A config table (or a config already built) checked by its driver's config class."""
        if isinstance(value, self.base):
            return value
        if not isinstance(value, dict):
            raise PydanticCustomError("model_type", "must be a table with a type key")
        key = value.get("type", self.default)
        self._discover()
        driver = self._drivers.get(str(key))
        if driver is None:
            # pydantic formats the message with str.format: braces must be doubled
            message = self.missing(str(key)).replace("{", "{{").replace("}", "}}")
            raise PydanticCustomError(DRIVER_MISSING, message)
        return driver.config.model_validate({**value, "type": key})

    def config_type(self) -> Any:
        """The type of a config field that holds one of these drivers' configs."""
        any_subclass = cast(Any, SerializeAsAny)[self.base]  # dumps the driver's own fields
        return Annotated[any_subclass, PlainValidator(self.validate)]
