"""Settings of the dispatch service: one typed model from file, environment and flags.

Precedence, highest first: command-line flags, ``OUTRIDER_DISPATCH_*`` environment variables
(nested keys with ``__``, e.g. ``OUTRIDER_DISPATCH_DISPATCH__ACK_TIMEOUT_S``), the TOML file
(``configs/dispatch.toml``), the defaults below. A typo in the file fails at startup.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from dispatch.evidence.config import EvidenceConfig, PublicConfig, RetentionConfig
from dispatch.interop.config import InteropConfig
from edge.comms.mqtt import BrokerSettings
from edge.errors import ConfigError
from edge.patterns.registry import OnSceneSetting, dispatch_on_scene
from edge.protocol.models import DockId

__all__ = [
    "ROLES",
    "AirspaceConfig",
    "ClusterConfig",
    "DispatchConfig",
    "DispatchSettings",
    "DockEntry",
    "HttpLimits",
    "MapConfig",
    "Role",
    "TokenConfig",
    "load_settings",
]

Role = Literal["admin", "dispatcher", "viewer", "edge", "metrics"]
ROLES: tuple[Role, ...] = ("admin", "dispatcher", "viewer", "edge", "metrics")
PLACEHOLDER_SECRET = "changethis"
MIN_SECRET_BYTES = 32
MIN_SECRET_DISTINCT = 12  # a 32-byte run of one word repeated is not random
EVERY_INTERFACE = ("0.0.0.0", "::", "")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DispatchConfig(_Section):
    """How dispatch chooses and commands docks."""

    ack_timeout_s: float = Field(5.0, gt=0, le=120, title="Wait this long for an ack")
    max_attempts: int = Field(3, ge=1, le=20, title="Docks tried per incident before giving up")
    command_ttl_s: float = Field(30.0, gt=0, le=3600, title="Validity of recall/retask/abort")
    stale_after_s: float = Field(5.0, gt=0, title="No telemetry for this long: dock is stale")
    reserve_ttl_s: float = Field(60.0, gt=0, title="Hold a dock for its incident this long")
    alt_rel_m: float | None = Field(None, gt=0, le=1000, title="Transit altitude; dock's if unset")
    dock_rate_per_s: float = Field(
        100.0, gt=0, title="MQTT messages a second each dock may send on average; more dropped"
    )
    dock_burst: int = Field(1000, ge=1, title="MQTT messages a dock may send at once")
    store_batch_max: int = Field(
        200, ge=1, le=10_000, title="Most reported messages stored in one transaction"
    )
    airborne_deadline_s: float = Field(
        90.0,
        gt=0,
        le=3600,
        title="A dock that accepted and is not airborne this long after is passed over",
    )
    on_scene: OnSceneSetting = Field(
        default_factory=dispatch_on_scene,
        title="What a dispatched drone does on scene: a pattern of edge/patterns/ and its fields",
    )


class ClusterConfig(_Section):
    """Several dispatch instances on one PostgreSQL database behind one address.

    With ``shared_group`` set, each instance takes the docks' events and acks through the MQTT
    shared subscription ``$share/<shared_group>/...``: the broker hands each to one instance of
    the group. Availability, state, telemetry and detections still reach every instance (each
    keeps the whole fleet in view). Unset: one instance takes everything (the default).

    With ``video_bus`` set, each instance publishes the frames of the uplinks it holds on NATS
    and follows the docks its viewers watch, so an edge may uplink to any instance and a
    viewer watch on any. Empty: this instance's uplinks reach this instance's viewers only.
    """

    shared_group: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        title="MQTT shared subscription group of the instances; unset: a single instance",
    )
    instance: str = Field(
        "",
        max_length=64,
        title="This instance's name in leases and logs; host name and process id if empty",
    )
    lease_s: float = Field(
        15.0,
        gt=0,
        le=3600,
        title="An instance's hold on an incident it works on, renewed while it works; "
        "once expired, another instance takes the incident over",
    )
    sweep_s: float = Field(
        2.0, gt=0, le=600, title="How often each instance looks for expired holds to take over"
    )
    video_bus: str = Field(
        "",
        pattern=r"^((nats|tls)://[^,\s]+(,(nats|tls)://[^,\s]+)*)?$",
        title="NATS servers the instances relay video through (nats:// or tls://, "
        "comma-separated); empty: this instance only",
    )
    video_subject: str = Field(
        "outrider.video",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        title="Subject prefix of the video on the bus (one per force sharing a NATS)",
    )
    video_bus_username: str | None = Field(None, title="NATS user (else the URL's)")
    video_bus_password_file: Path | None = Field(None, title="File holding the NATS password")
    video_bus_ca_file: Path | None = Field(None, title="CA certificate NATS's TLS must chain to")


class AirspaceConfig(_Section):
    """No-fly zones that dock choice routes around."""

    no_fly: list[Path] = Field(default_factory=list, title="GeoJSON files of no-fly polygons")
    margin_m: float = Field(30.0, ge=0, le=1000)


class MapConfig(_Section):
    """The UI map's basemap and start view.

    The basemap comes from the force's own XYZ tile server (``tile_url``), or from an
    offline tile file that dispatch serves itself (``tile_file``: PMTiles or MBTiles, e.g.
    from ``outrider basemap build``), or neither (a plain grid). The start view defaults to
    the middle of the tile file.
    """

    tile_url: str = Field("", title="XYZ tile URL template with {z}/{x}/{y}; empty: none")
    tile_file: Path | None = Field(None, title="PMTiles or MBTiles file dispatch serves")
    name: str = Field("", max_length=128, title="The basemap's name; the tile file's if empty")
    attribution: str = Field("", title="Credit shown on the map; the tile file's if empty")
    center_lat: float | None = Field(None, ge=-85, le=85)
    center_lon: float | None = Field(None, ge=-180, le=180)
    zoom: int | None = Field(None, ge=1, le=22)

    @model_validator(mode="after")
    def _one_source(self) -> MapConfig:
        if self.tile_url and self.tile_file is not None:
            raise ValueError("give tile_url or tile_file, not both")
        if self.tile_url and not all(k in self.tile_url for k in ("{z}", "{x}", "{y}")):
            raise ValueError("tile_url must hold {z}, {x} and {y}")
        return self


class DockEntry(_Section):
    """A dock dispatch knows: its id and the Ed25519 key its messages are signed with.

    ``outrider keys dock ID`` makes the dock's key pair and prints this entry. Messages of
    docks not listed are refused; a dock without a key is accepted unsigned only with
    ``allow_unsigned_docks`` (development).
    """

    id: DockId
    public_key: str | None = Field(
        None, title="base64 of the dock's 32-byte Ed25519 public key (outrider keys dock)"
    )
    public_key_file: Path | None = Field(None, title="or a PEM file holding it")

    @model_validator(mode="after")
    def _one_key(self) -> DockEntry:
        if self.public_key is not None and self.public_key_file is not None:
            raise ValueError(f"dock {self.id!r}: give public_key or public_key_file, not both")
        return self

    @property
    def signed(self) -> bool:
        """Whether a key is registered for this dock."""
        return self.public_key is not None or self.public_key_file is not None


class HttpLimits(_Section):
    """Bounds on what callers of the HTTP API may send and how often."""

    max_body_bytes: int = Field(1 << 20, ge=1024, title="Largest request body, counted as read")
    address_rate_per_s: float = Field(50.0, gt=0, title="Requests a second from one address")
    address_burst: int = Field(200, ge=1)
    write_rate_per_s: float = Field(
        2.0, gt=0, title="Changes a second (POST, PUT, PATCH, DELETE) by one caller"
    )
    write_burst: int = Field(30, ge=1)
    login_free_failures: int = Field(
        5, ge=1, title="Failed sign-ins from one address before it must wait"
    )
    login_backoff_max_s: float = Field(300.0, gt=0, title="Longest wait after failed sign-ins")
    audit_failures_every_s: float = Field(
        60.0, gt=0, title="Failed sign-ins from one address go into one audit row this often"
    )


class TokenConfig(_Section):
    """An API token: who holds it, their role, and what they may see.

    Give ``sha256`` (hex digest of the token; see ``outrider keys token``). A plain ``token``
    is accepted in development only.
    """

    name: str = Field(min_length=1, max_length=64)
    role: Role
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    token: SecretStr | None = None
    raw_video: bool | None = Field(None, title="See raw video; by default admin and dispatcher")
    docks: list[str] | None = Field(
        None, title="Docks an edge token may stream for (required outside development)"
    )

    @model_validator(mode="after")
    def _one_secret(self) -> TokenConfig:
        if (self.sha256 is None) == (self.token is None):
            raise ValueError(f"token {self.name!r} needs exactly one of sha256 or token")
        return self

    @property
    def digest(self) -> str:
        """Hex SHA-256 of the token."""
        if self.sha256 is not None:
            return self.sha256
        assert self.token is not None
        return hashlib.sha256(self.token.get_secret_value().encode()).hexdigest()


class DispatchSettings(BaseSettings):
    """Every setting of ``outrider dispatch``."""

    model_config = SettingsConfigDict(
        env_prefix="OUTRIDER_DISPATCH_",
        env_nested_delimiter="__",
        env_ignore_empty=True,
        extra="forbid",
    )

    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    mqtt_url: str = Field("mqtt://127.0.0.1:1883", title="mqtt:// or mqtts://, user:pass@ allowed")
    mqtt_client_id: str = Field(
        "outrider-dispatch",
        title="Persistent MQTT session: the broker queues events while dispatch is away; "
        "give each dispatch instance its own",
    )
    mqtt_username: str | None = Field(None, title="Broker username (else the URL's)")
    mqtt_password_file: Path | None = Field(None, title="File holding the broker password")
    mqtt_ca_file: Path | None = Field(None, title="CA certificate the broker's TLS must chain to")
    db_url: str = Field("sqlite:///state/dispatch.db", title="sqlite:///path or postgresql://...")
    signing_key: Path = Field(Path("state/keys/dispatch_ed25519.pem"))
    secret: SecretStr = Field(SecretStr(PLACEHOLDER_SECRET), title="Signs sessions and view links")
    public_url: str = Field("", title="Base URL for officer links; request's own if empty")
    session_ttl_s: float = Field(12 * 3600, gt=0, le=7 * 24 * 3600)
    link_ttl_s: float = Field(4 * 3600, gt=0, title="Default lifetime of an officer view link")
    link_max_ttl_s: float = Field(
        12 * 3600, gt=0, le=7 * 24 * 3600, title="Longest lifetime a link may be given"
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        title="Origins (scheme://host[:port]) besides public_url's that may use a session cookie",
    )
    allow_unsigned_docks: bool = Field(
        False, title="DEVELOPMENT ONLY: accept unsigned messages from docks registered without key"
    )
    docks: list[DockEntry] = Field(default_factory=list, title="Docks whose messages count")
    limits: HttpLimits = HttpLimits()
    log_format: Literal["json", "text"] = "json"
    dispatch: DispatchConfig = DispatchConfig()
    cluster: ClusterConfig = ClusterConfig()
    airspace: AirspaceConfig = AirspaceConfig()
    map: MapConfig = MapConfig()
    evidence: EvidenceConfig = EvidenceConfig()
    retention: RetentionConfig = RetentionConfig()
    public: PublicConfig = PublicConfig()
    tokens: list[TokenConfig] = Field(default_factory=list)
    interop: InteropConfig = InteropConfig()

    @model_validator(mode="after")
    def _coherent(self) -> DispatchSettings:
        ids = [d.id for d in self.docks]
        if len(set(ids)) != len(ids):
            raise ValueError(f"docks: each dock id once, not {ids}")
        if self.link_ttl_s > self.link_max_ttl_s:
            raise ValueError("link_ttl_s is longer than link_max_ttl_s")
        if self.environment == "production":
            problems = production_problems(self)
            if problems:
                raise ValueError("outside development: " + "; ".join(problems))
        return self


def production_problems(s: DispatchSettings) -> list[str]:
    """What keeps these settings from being fit for service (empty when nothing does)."""
    out = []
    secret = s.secret.get_secret_value()
    if secret == PLACEHOLDER_SECRET or len(secret.encode()) < MIN_SECRET_BYTES:
        out.append(f"secret must be a random value of at least {MIN_SECRET_BYTES} bytes")
    elif len(set(secret)) < MIN_SECRET_DISTINCT:
        out.append("secret does not look random")
    plain = [t.name for t in s.tokens if t.token is not None]
    if plain:
        out.append(f"tokens {plain} are in plain text; give sha256")
    unscoped = [t.name for t in s.tokens if t.role == "edge" and not t.docks]
    if unscoped:
        out.append(f"edge tokens {unscoped} name no docks; give each its docks")
    try:
        broker = BrokerSettings.from_url(
            s.mqtt_url, username=s.mqtt_username, password_file=s.mqtt_password_file
        )
        if not broker.tls or not broker.username or not (broker.password or broker.password_file):
            out.append("mqtt_url must be mqtts:// with a username and a password (or file)")
    except ConfigError as exc:
        out.append(exc.reason)
    if s.host in EVERY_INTERFACE:
        out.append(f"host {s.host!r} listens on every interface; give the proxy-facing address")
    if not s.public_url.startswith("https://"):
        out.append("public_url must be the https:// address officers' links use")
    if s.allow_unsigned_docks:
        out.append("allow_unsigned_docks is for development only")
    bus = s.cluster
    if bus.video_bus and not (
        all(u.strip().startswith("tls://") for u in bus.video_bus.split(","))
        and (bus.video_bus_username or "@" in bus.video_bus)
    ):
        out.append("cluster.video_bus must be tls:// with a user (raw video crosses it)")
    keyless = [d.id for d in s.docks if not d.signed]
    if keyless:
        out.append(f"docks {keyless} have no public key")
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def _relative_to(base: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Resolve the file's relative paths (key, zones, tiles, SQLite file) against its folder."""
    out = dict(data)

    def fix(value: str) -> str:
        return value if Path(value).is_absolute() else str(base / value)

    for key in ("signing_key", "mqtt_password_file", "mqtt_ca_file"):
        if isinstance(out.get(key), str):
            out[key] = fix(out[key])
    if isinstance(out.get("docks"), list):
        out["docks"] = [
            {**d, "public_key_file": fix(d["public_key_file"])}
            if isinstance(d, dict) and isinstance(d.get("public_key_file"), str)
            else d
            for d in out["docks"]
        ]
    url = out.get("db_url")
    if isinstance(url, str) and url.startswith("sqlite:///") and ":memory:" not in url:
        out["db_url"] = "sqlite:///" + fix(url.removeprefix("sqlite:///"))
    section = out.get("map")
    if isinstance(section, dict) and isinstance(section.get("tile_file"), str):
        out["map"] = {**section, "tile_file": fix(section["tile_file"])}
    airspace = out.get("airspace")
    if isinstance(airspace, dict) and isinstance(airspace.get("no_fly"), list):
        zones = [fix(z) if isinstance(z, str) else z for z in airspace["no_fly"]]
        out["airspace"] = {**airspace, "no_fly": zones}
    for section, keys in _NESTED_PATHS.items():
        table: Any = out
        for name in section:
            table = table.get(name) if isinstance(table, dict) else None
        if isinstance(table, dict):
            for key in keys:
                if isinstance(table.get(key), str):
                    table[key] = fix(table[key])
    interop = out.get("interop")
    if isinstance(interop, dict) and isinstance(interop.get("folders"), list):
        folders = [
            {**f, "path": fix(f["path"])}
            if isinstance(f, dict) and isinstance(f.get("path"), str)
            else f
            for f in interop["folders"]
        ]
        out["interop"] = {**interop, "folders": folders}
    return out


# Paths inside sections, resolved against the config file's folder like the top-level ones.
_NESTED_PATHS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("evidence",): ("dir",),
    ("cluster",): ("video_bus_password_file", "video_bus_ca_file"),
    ("evidence", "redaction", "detector"): ("model",),
    ("evidence", "redaction", "plate_detector"): ("model",),
    ("public", "ai"): ("detector_model", "accuracy_report"),
}


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def load_settings(path: Path | None = None, **overrides: Any) -> DispatchSettings:
    """Settings from ``path`` (if any), the environment and ``overrides`` (flags), in that order.

    Relative paths in the file (signing key, no-fly zones, SQLite database) are relative to
    the file's folder; those from flags and the environment to the working directory.

    Raises:
        ConfigError: when the file cannot be read or a value is invalid.
    """
    file_data = _relative_to(path.parent, _read_toml(path)) if path is not None else {}
    flags = {k: v for k, v in overrides.items() if v is not None}

    class _Loaded(DispatchSettings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, InitSettingsSource(settings_cls, file_data))

    try:
        loaded = _Loaded(**flags)
    except ValidationError as exc:
        raise ConfigError(f"{path or 'settings'}: {_describe(exc)}") from None
    return loaded
