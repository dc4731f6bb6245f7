"""Configuration of one sim vehicle: where it is, how fast time runs, how it talks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.energy import Airframe
from edge.errors import ConfigError
from sim.vehicle.autopilot.vehicle_state import Home
from sim.vehicle.faults import Fault

__all__ = [
    "API_LOCAL_BASE_PORT",
    "API_REMOTE_BASE_PORT",
    "CONTROL_BASE_PORT",
    "Home",
    "VehicleConfig",
    "parse_home",
]

# PX4 SITL instance N binds 14580+N for its API link and sends to 14540+N.
API_LOCAL_BASE_PORT = 14580
API_REMOTE_BASE_PORT = 14540
# The sim's control socket (TCP, JSON lines): 24540+N.
CONTROL_BASE_PORT = 24540

FrameRule = Literal["any_frame", "global_int_only", "any_global"]
"""Which PX4 the command protocol answers as: ``any_frame`` (PX4 main since 2026-05),
``global_int_only`` (2026-02 to 2026-05), ``any_global`` (before); see
:mod:`sim.vehicle.mavlink.command_protocol`."""


class VehicleConfig(BaseModel):
    """Everything one sim vehicle needs to start.

    Ports left ``None`` follow PX4 SITL's numbering for ``instance``; a port of ``0`` asks the
    system for a free one (the launcher reads the real port from the vehicle's ready line).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    instance: int = Field(0, ge=0, le=255)
    home: Home = Field(default_factory=Home)
    speed_factor: float = Field(1.0, gt=0.0, le=200.0)
    host: str = "127.0.0.1"
    mavsdk_port: int | None = Field(None, ge=1, le=65535)
    local_port: int | None = Field(None, ge=0, le=65535)
    control_port: int | None = Field(None, ge=0, le=65535)
    sysid: int | None = Field(None, ge=1, le=254)
    frame_rule: FrameRule = "any_frame"
    mission_start_delay_s: float = Field(0.02, ge=0.0, le=30.0)
    wind_speed_mps: float = Field(0.0, ge=0.0, le=40.0)
    wind_from_deg: float = Field(0.0, ge=0.0, lt=360.0)
    battery_pct: float = Field(100.0, ge=0.0, le=100.0)
    airframe: Airframe = Field(default_factory=Airframe)
    params: dict[str, float] = Field(default_factory=dict)
    faults: list[Fault] = Field(default_factory=list)

    @property
    def system_id(self) -> int:
        """MAVLink system id: PX4 SITL uses instance + 1."""
        return self.sysid or min(254, self.instance + 1)

    @property
    def remote_port(self) -> int:
        """The UDP port MAVSDK listens on (``udpin://127.0.0.1:PORT``).

        Like PX4's startup script: 14540 + N, but 14549 for every instance above 9, so that
        no instance sends to the ground-station port 14550.
        """
        return self.mavsdk_port or API_REMOTE_BASE_PORT + min(self.instance, 9)

    @property
    def bind_port(self) -> int:
        """The UDP port the vehicle binds (0: any free port)."""
        return API_LOCAL_BASE_PORT + self.instance if self.local_port is None else self.local_port

    @property
    def bind_control_port(self) -> int:
        """The TCP port of the control socket (0: any free port)."""
        if self.control_port is None:
            return CONTROL_BASE_PORT + self.instance
        return self.control_port


def parse_home(text: str) -> Home:
    """Parse ``LAT,LON,ALT_AMSL`` (degrees, degrees, metres).

    Raises:
        ConfigError: not three numbers, or out of range.
    """
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise ConfigError(f"home {text!r}: expected LAT,LON,ALT_AMSL", code="invalid_home")
    try:
        lat, lon, alt = (float(p) for p in parts)
        return Home(lat=lat, lon=lon, alt_amsl=alt)
    except ValueError as exc:
        raise ConfigError(f"home {text!r}: {exc}", code="invalid_home") from exc
