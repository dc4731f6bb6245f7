"""Typed errors of Outrider, each carrying a machine-readable code and a human reason.

Our exception hierarchy::

    OutriderError
    ├── ProtocolError        bytes from outside that are not a valid v1 message
    ├── ConfigError          a configuration file or flag that cannot be used
    ├── RefusedError         a valid command that this dock will not carry out
    ├── FlightError          the vehicle refused, timed out or was lost
    │   └── LinkLostError    no MAVLink from the vehicle
    └── DetectorError        a detection model that cannot be loaded or run

The ``code`` vocabulary is the one of the ``ack`` message (``out_of_range``, ``malformed_json``,
...), so an error can travel to the control room as it is.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DetectorError",
    "FlightError",
    "LinkLostError",
    "OutriderError",
    "ProtocolError",
    "RefusedError",
]


class OutriderError(Exception):
    """Root of Outrider's errors.

    Args:
        code: snake_case machine-readable code, stable across releases.
        reason: one human sentence saying what went wrong and, where it helps, what to do.
    """

    default_code = "internal_error"

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.code = code or self.default_code
        self.reason = reason

    def __str__(self) -> str:
        return f"[{self.code}] {self.reason}"


class ProtocolError(OutriderError):
    """Bytes that are not a valid v1 message; ``cmd_id`` is set when the id could be read."""

    default_code = "invalid_field"

    def __init__(self, reason: str, *, code: str | None = None, cmd_id: str | None = None) -> None:
        super().__init__(reason, code=code)
        self.cmd_id = cmd_id


class ConfigError(OutriderError):
    """A configuration that cannot be used; the reason names the bad key."""

    default_code = "invalid_config"


class RefusedError(OutriderError):
    """A well-formed command that this dock refuses (busy, out of range, ...)."""

    default_code = "refused"


class FlightError(OutriderError):
    """The vehicle refused an action, did not do it in time, or behaved unexpectedly."""

    default_code = "flight_error"


class LinkLostError(FlightError):
    """No MAVLink from the vehicle for longer than the allowed silence."""

    default_code = "vehicle_link_lost"


class DetectorError(OutriderError):
    """A detection model that is missing, corrupt, or cannot run on any installed runtime."""

    default_code = "detector_unavailable"
