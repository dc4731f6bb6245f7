"""Configuration of one edge agent: a TOML file, ``OUTRIDER_`` environment overrides, CLI flags.

Precedence, highest first: command-line flags, environment variables (``OUTRIDER_MQTT__URL``,
``OUTRIDER_DOCK__ID``: sections joined by a double underscore), the TOML file. Every section
forbids unknown keys, so a typo fails at start-up with a :class:`~edge.errors.ConfigError` that
names the key. Relative paths in the file are relative to the file's own folder.
"""

from __future__ import annotations

import contextvars
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from edge.comms.mqtt import BrokerSettings, parse_mqtt_url
from edge.dock import DockHardware
from edge.drivers import DRIVER_MISSING
from edge.energy import Airframe, EnergyModel
from edge.errors import ConfigError
from edge.evidence.config import EvidenceUploadConfig
from edge.patterns.registry import OnSceneSetting, default_on_scene
from edge.protocol import AirframeFigures, Limits
from edge.protocol.models import DockId
from edge.video.config import VideoConfig

__all__ = [
    "AirframeConfig",
    "DockConfig",
    "EdgeConfig",
    "FailsafeConfig",
    "FlightConfig",
    "HomeConfig",
    "LimitsConfig",
    "MqttConfig",
    "SigningConfig",
    "TelemetryConfig",
    "VehicleConfig",
    "load_config",
]

Positive = Annotated[float, Field(gt=0)]
ARM_AND_CLIMB_OUT_S = 2.0
_FILE_DATA: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("edge_config_file")


class Section(BaseModel):
    """Base of every configuration section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class HomeConfig(Section):
    """Where the dock is: the vehicle takes off from and lands here."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt_amsl_m: float = Field(title="Altitude of the dock's landing pad above mean sea level")
    height_above_ground_m: float = Field(
        0.0, ge=0, title="Height of the pad above the ground (rooftop), counted in the ceiling"
    )


class DockConfig(Section):
    """The dock: its id, where it is, its hardware and when its drone counts as ready."""

    id: DockId
    home: HomeConfig
    hardware: DockHardware = Field(
        default_factory=dict,  # the default driver, validated like a table naming no type
        validate_default=True,
        title="The dock's hardware driver; `type` picks it (see edge.dock)",
    )
    ready_pct: float = Field(95.0, gt=0, le=100, title="Charged enough to count as ready")
    lid_timeout_s: float = Field(30.0, gt=0, title="Longest the lid may take before it is faulty")

    @property
    def recharge_pct(self) -> float:
        """Below this a ready, docked drone goes back on charge (5 points under ``ready_pct``,
        so it does not flip between ready and charging on every reading)."""
        return max(0.0, self.ready_pct - 5.0)


class MqttConfig(Section):
    """The broker link: URL, credentials, TLS files and the reconnect back-off."""

    model_config = ConfigDict(hide_input_in_errors=True)  # the URL may hold a password
    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password: str | None = None
    password_file: Path | None = Field(None, title="File holding the password (outrider certs)")
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    client_id: str | None = Field(
        None, title="Persistent session id; outrider-edge-<dock> if unset"
    )
    keepalive_s: int = Field(15, ge=2, le=3600)
    timeout_s: float = Field(10.0, gt=0, title="Longest wait for any broker answer")
    backoff_initial_s: float = Field(0.5, gt=0)
    backoff_max_s: float = Field(30.0, gt=0)

    @field_validator("url")
    @classmethod
    def _parses(cls, url: str) -> str:
        try:
            parse_mqtt_url(url)
        except ConfigError as exc:
            raise ValueError(exc.reason) from None
        return url

    def broker(self) -> BrokerSettings:
        """Where the broker is and how to log in: the URL, overridden by the keys beside it."""
        return BrokerSettings.from_url(
            self.url,
            username=self.username,
            password=self.password,
            password_file=self.password_file,
            ca_file=self.ca_file,
            cert_file=self.cert_file,
            key_file=self.key_file,
        )


class VehicleConfig(Section):
    """The MAVLink link to the autopilot and the parameters set on it at connect."""

    url: str = "udpin://127.0.0.1:14540"
    connect_timeout_s: float = Field(30.0, gt=0)
    command_timeout_s: float = Field(10.0, gt=0, title="Longest wait for one vehicle command")
    mode_timeout_s: float = Field(6.0, gt=0, title="Longest wait to see a commanded mode")
    link_lost_s: float = Field(3.0, gt=0, title="Silence after which the link counts as lost")
    params: dict[str, float] = Field(
        default_factory=dict, title="Autopilot parameters set at connect (best effort)"
    )
    match_flight: bool = Field(
        True, title="Set the autopilot's speeds and return altitude from [flight] at connect"
    )


class FlightConfig(Section):
    """How sorties are flown unless a command says otherwise."""

    transit_alt_m: Positive = 60.0
    cruise_mps: Positive = 15.0
    climb_mps: Positive = 3.0
    descent_mps: Positive = 2.0
    orbit_speed_mps: Positive = 8.0
    acceptance_m: Positive = Field(5.0, title="Waypoint acceptance radius")
    on_scene: OnSceneSetting = Field(
        default_factory=default_on_scene, title="What to do on scene when a command says nothing"
    )
    departure_alt_m: Positive = Field(
        25.0, title="Climb straight up to this height (clear of rooftops) before heading off"
    )
    takeoff_tolerance_m: float = Field(1.5, ge=0, title="Departure height reached this close")
    stall_timeout_s: float = Field(120.0, gt=0, title="No progress for this long is a failure")


class LimitsConfig(Section):
    """What this dock may fly: range, reserve, wind and the height ceiling above ground."""

    max_range_m: Positive = 6000.0
    reserve_pct: float = Field(20.0, ge=0, lt=100)
    wind_limit_mps: Positive = 12.0
    ceiling_m: Positive = Field(120.0, title="Highest flight above the ground")
    geofence_margin_m: float = Field(200.0, ge=0, title="Slack beyond max range before failsafe")


class AirspaceConfig(Section):
    """No-fly zones (GeoJSON polygons) and the clearance kept from them."""

    nofly: list[Path] = Field(default_factory=list, title="GeoJSON files of no-fly zones")
    margin_m: float = Field(30.0, ge=0)


class TelemetryConfig(Section):
    """Telemetry publishing rate (QoS 0, newest wins)."""

    rate_hz: float = Field(2.0, ge=0.1, le=10)


class FailsafeConfig(Section):
    """The edge's own failsafes, on top of the autopilot's."""

    broker_lost: Literal["continue", "return"] = Field(
        "continue", title="While airborne without a broker: keep flying the sortie, or return"
    )
    broker_lost_s: float = Field(30.0, gt=0)
    battery_margin_pct: float = Field(
        5.0, ge=0, title="Return when battery is within this of what getting home needs"
    )
    check_hz: float = Field(2.0, gt=0, le=20)
    link_return_s: float = Field(
        10.0, gt=0, title="A MAVLink outage longer than this ends the sortie: return home"
    )


class SigningConfig(Section):
    """Signatures: dispatch's public key for commands, this dock's key for what it publishes.

    Both keys are required: an edge without them refuses to start, unless ``allow_unsigned``
    (development only, logged loudly) lets it take unsigned commands and publish unsigned.
    """

    public_key: Path | None = Field(
        None, title="PEM public key(s) of dispatch, one block each; unsigned commands refused"
    )
    key: Path | None = Field(
        None, title="This dock's Ed25519 private key (outrider keys dock); signs what it publishes"
    )
    allow_unsigned: bool = Field(
        False,
        title="DEVELOPMENT ONLY: start without keys; a missing public_key means anyone on the "
        "broker can fly this drone",
    )
    window_s: float = Field(300.0, gt=0, title="Oldest or most future issued_at accepted")

    @model_validator(mode="after")
    def _keys_or_switch(self) -> SigningConfig:
        missing = [n for n in ("public_key", "key") if getattr(self, n) is None]
        if missing and not self.allow_unsigned:
            raise ValueError(
                f"{' and '.join(missing)} not set: an edge without dispatch's public key would "
                "fly any command from anyone on the broker; set them (outrider keys init, "
                "outrider keys dock), or allow_unsigned = true for development only"
            )
        return self


class AirframeConfig(Airframe):
    """The airframe as a config section: same fields as the energy model's, typos refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class EdgeConfig(BaseSettings):
    """The whole configuration of one edge agent."""

    model_config = SettingsConfigDict(
        env_prefix="OUTRIDER_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
    )

    dock: DockConfig
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    vehicle: VehicleConfig = Field(default_factory=VehicleConfig)
    flight: FlightConfig = Field(default_factory=FlightConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    airspace: AirspaceConfig = Field(default_factory=AirspaceConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    failsafe: FailsafeConfig = Field(default_factory=FailsafeConfig)
    signing: SigningConfig = Field(
        default_factory=dict,  # validated like an empty table, so a config without keys fails
        validate_default=True,
    )
    airframe: AirframeConfig = Field(default_factory=AirframeConfig)
    video: VideoConfig | None = Field(
        None, title="The video pipeline run during a sortie (edge.video); none when unset"
    )
    evidence: EvidenceUploadConfig = Field(
        default_factory=EvidenceUploadConfig,
        title="Upload of the recordings to dispatch after each sortie (edge.evidence)",
    )
    state_dir: Path = Path("state")

    @model_validator(mode="after")
    def _coherent(self) -> EdgeConfig:
        if self.flight.transit_alt_m > self.ceiling_rel_m:
            raise ValueError(
                f"flight.transit_alt_m {self.flight.transit_alt_m:g} m is above the ceiling "
                f"({self.limits.ceiling_m:g} m above ground, dock at "
                f"{self.dock.home.height_above_ground_m:g} m)"
            )
        if self.flight.cruise_mps > self.airframe.max_airspeed_mps:
            raise ValueError("flight.cruise_mps is faster than airframe.max_airspeed_mps")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _FileSource(settings_cls)

    @property
    def ceiling_rel_m(self) -> float:
        """The ceiling as altitude above the dock's pad."""
        return self.limits.ceiling_m - self.dock.home.height_above_ground_m

    def autopilot_params(self) -> dict[str, float]:
        """Parameters set on the autopilot at connect: speeds that match the energy model.

        PX4 climbs, cruises and returns at its own parameters; with ``vehicle.match_flight``
        they are set from ``[flight]`` so the vehicle flies the figures preflight planned with.
        ``vehicle.params`` wins over these.
        """
        f = self.flight
        derived: dict[str, float] = {}
        if self.vehicle.match_flight:
            derived = {
                "MPC_TKO_SPEED": f.climb_mps,
                "MPC_Z_V_AUTO_UP": f.climb_mps,
                "MPC_Z_VEL_MAX_UP": max(3.0, f.climb_mps),
                "MPC_Z_V_AUTO_DN": f.descent_mps,
                "MPC_Z_VEL_MAX_DN": max(1.5, f.descent_mps),
                "MPC_XY_CRUISE": f.cruise_mps,
                "MPC_XY_VEL_MAX": max(12.0, f.cruise_mps),
                "RTL_RETURN_ALT": f.transit_alt_m,
            }
        return {**derived, **self.vehicle.params}

    @property
    def launch_overhead_s(self) -> float:
        """Dispatch to climbing: the lid's travel, arming and lift-off."""
        return ARM_AND_CLIMB_OUT_S + self.dock.hardware.lid_time_s

    def energy_model(self) -> EnergyModel:
        """The energy model with this dock's airframe and flight speeds."""
        return EnergyModel(
            self.airframe,
            cruise_mps=self.flight.cruise_mps,
            climb_mps=self.flight.climb_mps,
            descent_mps=self.flight.descent_mps,
        )

    def published_limits(self, launch_overhead_s: float | None = None) -> Limits:
        """The ``limits`` the retained ``state`` carries: every figure of this dock the
        feasibility model reads, so dispatch decides as this dock does."""
        return Limits(
            max_range_m=self.limits.max_range_m,
            reserve_pct=self.limits.reserve_pct,
            ceiling_m=self.limits.ceiling_m,
            pad_height_m=self.dock.home.height_above_ground_m,
            wind_limit_mps=self.limits.wind_limit_mps,
            transit_alt_m=self.flight.transit_alt_m,
            cruise_mps=self.flight.cruise_mps,
            climb_mps=self.flight.climb_mps,
            descent_mps=self.flight.descent_mps,
            orbit_speed_mps=self.flight.orbit_speed_mps,
            airspace_margin_m=self.airspace.margin_m,
            launch_overhead_s=(
                self.launch_overhead_s if launch_overhead_s is None else launch_overhead_s
            ),
            ready_pct=self.dock.ready_pct,
            airframe=AirframeFigures.model_validate(self.airframe.model_dump()),
            camera_hfov_deg=(
                self.video.hfov_deg if self.video is not None and self.video.enabled else None
            ),
        )


class _FileSource(PydanticBaseSettingsSource):
    """The TOML file's contents, lowest precedence (set by :func:`load_config`)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return _FILE_DATA.get({}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_DATA.get({}))


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:8]:
        key = ".".join(str(p) for p in err["loc"]) or "config"
        parts.append(f"{key}: {err['msg']}")
    return "; ".join(parts)


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Make the file's relative paths relative to the file's folder."""

    def fix(value: Any) -> Any:
        if isinstance(value, str) and value and not Path(value).is_absolute():
            return str(base / value)
        return value

    if "state_dir" in data:
        data["state_dir"] = fix(data["state_dir"])
    for section, keys in {
        "mqtt": ("ca_file", "cert_file", "key_file", "password_file"),
        "signing": ("public_key", "key"),
    }.items():
        sub = data.get(section)
        if isinstance(sub, dict):
            for key in keys:
                if key in sub:
                    sub[key] = fix(sub[key])
    airspace = data.get("airspace")
    if isinstance(airspace, dict) and isinstance(airspace.get("nofly"), list):
        airspace["nofly"] = [fix(p) for p in airspace["nofly"]]


def load_config(path: Path | None, **overrides: Any) -> EdgeConfig:
    """Load and validate the configuration.

    Args:
        path: the TOML file, or ``None`` to build from environment and overrides alone.
        overrides: nested values that win over file and environment, e.g.
            ``mqtt={"url": ...}`` from command-line flags.

    Raises:
        ConfigError: when the file cannot be read or any key is missing, unknown or invalid;
            the reason names every bad key. The code is ``driver_missing`` when a driver the
            config names (dock hardware, camera source) is not available here.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        _resolve_paths(data, path.resolve().parent)
    token = _FILE_DATA.set(data)
    try:
        return EdgeConfig(**overrides)
    except ValidationError as exc:
        where = f"config file {path}" if path else "configuration"
        missing = any(err["type"] == DRIVER_MISSING for err in exc.errors())
        raise ConfigError(
            f"{where}: {_describe(exc)}", code=DRIVER_MISSING if missing else None
        ) from None
    finally:
        _FILE_DATA.reset(token)
