"""The demo's city: docks, no-fly zones, flight and video settings, its street map, actors
(``configs/demo.toml``).

Every section forbids unknown keys, so a typo fails at start-up with a
:class:`~edge.errors.ConfigError` naming the key. Relative paths (no-fly zones, the detector
model, the basemap) are relative to the file's own folder.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dispatch.evidence.config import PublicConfig
from edge.errors import ConfigError
from edge.geo import LatLon
from edge.protocol.models import DockId
from edge.video.config import GimbalConfig
from sim.camera import Actor

__all__ = [
    "DemoBasemap",
    "DemoConfig",
    "DemoDispatch",
    "DemoDock",
    "DemoFlight",
    "DemoVideo",
    "describe_validation",
    "load_demo_config",
]

Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DemoDock(_Section):
    """One rooftop dock: where it stands and what it is called."""

    id: DockId
    name: str = Field("", max_length=64)
    lat: Lat
    lon: Lon
    alt_amsl_m: float = Field(title="Altitude of the landing pad above mean sea level")
    height_above_ground_m: float = Field(15.0, ge=0, le=200)
    max_range_m: float = Field(6000.0, gt=0)
    wind_mps: float = Field(3.0, ge=0)
    wind_from_deg: float = Field(240.0, ge=0, lt=360)

    @property
    def home(self) -> LatLon:
        return LatLon(self.lat, self.lon)


class DemoFlight(_Section):
    """How every dock flies (the ``[flight]`` section of each generated edge config)."""

    transit_alt_m: float = Field(20.0, gt=0, le=120)
    cruise_mps: float = Field(15.0, gt=0, le=30)
    climb_mps: float = Field(3.0, gt=0)
    descent_mps: float = Field(2.0, gt=0)
    lid_time_s: float = Field(3.0, ge=0, title="Lid travel time, divided by the speed factor")
    charge_pct_per_s: float = Field(0.5, gt=0, title="Charge rate, times the speed factor")
    ready_pct: float = Field(95.0, gt=0, le=100)
    reserve_pct: float = Field(20.0, ge=0, lt=100)


class DemoDispatch(_Section):
    """The dispatch service the demo runs."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535, title="0: any free port")
    on_scene_s: float = Field(300.0, ge=0, title="Default time on scene, over the speed factor")
    orbit_radius_m: float | None = Field(
        None, ge=5, le=500, title="Orbit radius; none: the stand-off each dock's camera wants"
    )
    orbit_speed_mps: float = Field(5.0, gt=0, le=30)
    ack_timeout_s: float = Field(5.0, gt=0)
    stale_after_s: float = Field(10.0, gt=0)
    zoom: int = Field(13, ge=1, le=19)


class DemoVideo(_Section):
    """The synthetic camera and detector on every drone; off when no model is found."""

    enabled: bool = True
    model: Path | None = Field(None, title="Detector model; default $OUTRIDER_MODEL")
    width: int = Field(480, ge=64, le=4096)
    height: int = Field(360, ge=64, le=4096)
    fps: float = Field(5.0, gt=0, le=30, title="Frames per simulated second")
    max_wall_fps: float = Field(8.0, gt=0, le=30, title="Most frames per wall second")
    hfov_deg: float = Field(20.0, ge=1, le=170, title="A zoom camera sees people from afar")
    camera_pitch_deg: float | None = Field(
        None, ge=-90, le=30, title="A camera fixed at this pitch; none: aimed by its gimbal"
    )
    gimbal: GimbalConfig = Field(default_factory=GimbalConfig)
    threads: int = Field(1, ge=1, le=64)


class DemoBasemap(_Section):
    """The city's street map: built from OpenStreetMap into a tile file on first use."""

    tiles: Path | None = Field(None, title="Tile file (PMTiles); built when absent; none: no map")
    osm: Path | None = Field(None, title="OpenStreetMap extract; the bundled Helsinki one if unset")
    min_zoom: int = Field(13, ge=0, le=22)
    max_zoom: int = Field(19, ge=0, le=22)

    @model_validator(mode="after")
    def _zooms(self) -> DemoBasemap:
        if self.min_zoom > self.max_zoom:
            raise ValueError("min_zoom must not exceed max_zoom")
        return self


class DemoConfig(_Section):
    """The whole demo city."""

    name: str = Field("demo", max_length=64)
    center_lat: Lat
    center_lon: Lon
    speed_factor: float = Field(1.0, gt=0, le=100, title="Sim vehicle speed, interactive runs")
    scenario: Path | None = Field(None, title="Scenario played by an interactive run")
    nofly: list[Path] = Field(default_factory=list, title="GeoJSON files of no-fly zones")
    nofly_margin_m: float = Field(30.0, ge=0)
    flight: DemoFlight = Field(default_factory=DemoFlight)
    dispatch: DemoDispatch = Field(default_factory=DemoDispatch)
    video: DemoVideo = Field(default_factory=DemoVideo)
    basemap: DemoBasemap = Field(default_factory=DemoBasemap)
    docks: list[DemoDock] = Field(min_length=1, max_length=9)
    actors: list[Actor] = Field(default_factory=list, max_length=500)
    public: PublicConfig = Field(
        default_factory=PublicConfig, title="Dispatch's public registers ([public])"
    )

    @model_validator(mode="after")
    def _unique_docks(self) -> DemoConfig:
        ids = [d.id for d in self.docks]
        if len(set(ids)) != len(ids):
            raise ValueError(f"dock ids must be unique: {ids}")
        return self

    @property
    def center(self) -> LatLon:
        return LatLon(self.center_lat, self.center_lon)


def describe_validation(exc: ValidationError) -> str:
    """The first few problems of a validation error, each naming its key."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "file"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's contents, or a :class:`ConfigError` saying why it cannot be read."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def _resolve(data: dict[str, Any], base: Path) -> dict[str, Any]:
    def fix(value: Any) -> Any:
        if isinstance(value, str) and value and not Path(value).is_absolute():
            return str(base / value)
        return value

    out = dict(data)
    if isinstance(out.get("nofly"), list):
        out["nofly"] = [fix(p) for p in out["nofly"]]
    if "scenario" in out:
        out["scenario"] = fix(out["scenario"]) or None
    ai = out.get("public", {}).get("ai") if isinstance(out.get("public"), dict) else None
    if isinstance(ai, dict):
        fixed = {k: fix(ai[k]) for k in ("detector_model", "accuracy_report") if k in ai}
        out["public"] = {**out["public"], "ai": {**ai, **fixed}}
    video = out.get("video")
    if isinstance(video, dict) and "model" in video:
        out["video"] = {**video, "model": fix(video["model"]) or None}
    basemap = out.get("basemap")
    if isinstance(basemap, dict):

        def fix_path(value: Any) -> Any:
            fixed = fix(value)
            return os.path.normpath(fixed) if isinstance(fixed, str) and fixed else None

        paths = ("tiles", "osm")
        out["basemap"] = {k: fix_path(v) if k in paths else v for k, v in basemap.items()}
    return out


def load_demo_config(path: Path) -> DemoConfig:
    """Load and validate a demo city file.

    Raises:
        ConfigError: the file cannot be read, or a key is missing, unknown or invalid.
    """
    data = _resolve(read_toml(path), path.resolve().parent)
    try:
        config = DemoConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation(exc)}") from None
    for zone_file in config.nofly:
        if not zone_file.is_file():
            raise ConfigError(f"{path}: no-fly file {zone_file} does not exist")
    return config
