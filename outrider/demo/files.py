"""The files a demo run writes into its state directory: dispatch and edge configs, the scene.

Configs are generated from the demo city (:class:`~outrider.demo.config.DemoConfig`) so that
each part runs exactly as it would in service, from its own TOML file. Wall-clock figures
that the sim speeds up (lid travel, charging, time on scene) are scaled by the speed factor.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outrider.demo.config import DemoConfig, DemoDock

__all__ = ["DemoTokens", "RunFiles", "dispatch_settings", "dumps_toml", "edge_settings"]


@dataclass(frozen=True)
class DemoTokens:
    """The API tokens of one run (random each run; the demo listens on loopback)."""

    admin: str
    dispatcher: str
    viewer: str
    edge: str

    def entries(self, docks: Sequence[str]) -> list[dict[str, Any]]:
        """The ``[[tokens]]`` of the run; the edge token streams for the run's docks only."""
        out: list[dict[str, Any]] = [
            {"name": f"demo-{role}", "role": role, "token": getattr(self, role)}
            for role in ("admin", "dispatcher", "viewer", "edge")
        ]
        out[-1]["docks"] = list(docks)
        return out


@dataclass(frozen=True)
class RunFiles:
    """Where a run keeps its files."""

    root: Path

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def scene(self) -> Path:
        return self.root / "scene.json"

    @property
    def dispatch_config(self) -> Path:
        return self.root / "dispatch.toml"

    def dock_key(self, dock_id: str) -> Path:
        """The dock's private key (``outrider keys dock``): what it publishes is signed with it."""
        return self.keys / f"{dock_id}_ed25519.pem"

    def dock_public_key(self, dock_id: str) -> Path:
        return self.keys / f"{dock_id}_ed25519.pub.pem"

    def edge_config(self, dock_id: str) -> Path:
        return self.root / dock_id / "edge.toml"

    def edge_state(self, dock_id: str) -> Path:
        return self.root / dock_id / "state"


def _quote(text: str) -> str:
    """A TOML basic string: JSON's escapes, plus DEL, which TOML wants escaped too."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("TOML files of the demo hold finite numbers only")
        return repr(value)
    if isinstance(value, str | Path):
        return _quote(str(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_quote(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def dumps_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    """A TOML document of nested mappings, lists and scalars (what the demo's configs use)."""
    lines = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    arrays: list[tuple[str, list[Mapping[str, Any]]]] = []
    for key, value in data.items():
        if value is None:
            continue
        name = f"{prefix}.{_quote(key)}" if prefix else _quote(key)
        if isinstance(value, Mapping):
            tables.append((name, value))
        elif _is_table_list(value):
            arrays.append((name, value))
        else:
            lines.append(f"{_quote(key)} = {_toml_value(value)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for name, table in tables:
        out += f"\n[{name}]\n" + dumps_toml(table, name)
    for name, items in arrays:
        for item in items:
            out += f"\n[[{name}]]\n" + dumps_toml(item, name)
    return out


def dispatch_settings(
    city: DemoConfig,
    files: RunFiles,
    *,
    mqtt_url: str,
    port: int,
    tokens: DemoTokens,
    speed_factor: float,
    docks: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The ``outrider dispatch`` settings of a run: SQLite in the state dir, the city's zones,
    the run's docks (all of the city's by default) registered with their public keys."""
    d = city.dispatch
    ids = list(docks) if docks is not None else [dock.id for dock in city.docks]
    return {
        "environment": "development",
        "host": d.host,
        "port": port,
        "mqtt_url": mqtt_url,
        "mqtt_client_id": f"outrider-demo-dispatch-{port}",
        "db_url": f"sqlite:///{files.root / 'dispatch.db'}",
        "signing_key": files.keys / "dispatch_ed25519.pem",
        "secret": tokens.admin + tokens.dispatcher,
        "log_format": "text",
        "dispatch": {
            "ack_timeout_s": d.ack_timeout_s,
            "stale_after_s": d.stale_after_s,
            "on_scene": {
                "pattern": "orbit",
                "duration_s": d.on_scene_s / speed_factor,
                "speed_mps": d.orbit_speed_mps,
            }
            | ({"radius_m": d.orbit_radius_m} if d.orbit_radius_m is not None else {}),
        },
        "airspace": {"no_fly": [str(p) for p in city.nofly], "margin_m": city.nofly_margin_m},
        "map": {
            "tile_file": city.basemap.tiles,
            "center_lat": city.center_lat,
            "center_lon": city.center_lon,
            "zoom": d.zoom,
        },
        "docks": [{"id": i, "public_key_file": files.dock_public_key(i)} for i in ids],
        "evidence": {"dir": files.root / "evidence"},
        "public": city.public.model_dump(mode="json", exclude_none=True),
        "tokens": tokens.entries(ids),
    }


def edge_settings(
    city: DemoConfig,
    dock: DemoDock,
    files: RunFiles,
    *,
    mqtt_url: str,
    vehicle_url: str,
    charger: str | None,
    dispatch_url: str,
    tokens: DemoTokens,
    speed_factor: float,
    model: Path | None,
    px4: bool,
) -> dict[str, Any]:
    """The ``outrider edge`` settings of one dock of a run."""
    settings: dict[str, Any] = {
        "state_dir": files.edge_state(dock.id),
        "dock": _dock(city, dock, charger, speed_factor),
        "mqtt": {
            "url": mqtt_url,
            "client_id": f"outrider-demo-{dock.id}",
            "backoff_initial_s": 0.2,
            "backoff_max_s": 2.0,
        },
        # PX4 gets the dock parameters at boot (sim.px4.DOCK_PARAMS); the sim vehicle here.
        "vehicle": {
            "url": vehicle_url,
            "connect_timeout_s": 60.0 if px4 else 30.0,
            "params": {} if px4 else {"NAV_DLL_ACT": 2, "COM_DL_LOSS_T": 10, "COM_LOW_BAT_ACT": 3},
        },
        "flight": {
            "transit_alt_m": city.flight.transit_alt_m,
            "cruise_mps": city.flight.cruise_mps,
            "climb_mps": city.flight.climb_mps,
            "descent_mps": city.flight.descent_mps,
            "orbit_speed_mps": city.dispatch.orbit_speed_mps,
        },
        "limits": {"max_range_m": dock.max_range_m, "reserve_pct": city.flight.reserve_pct},
        "airspace": {"nofly": [str(p) for p in city.nofly], "margin_m": city.nofly_margin_m},
        "telemetry": {"rate_hz": min(5.0, max(2.0, 2.0 * speed_factor))},
        "signing": {
            "public_key": files.keys / "dispatch_ed25519.pub.pem",
            "key": files.dock_key(dock.id),
        },
    }
    if model is not None:
        settings["video"] = _video(city, files, model, dispatch_url, tokens, speed_factor)
        # Recordings stay in the dock's state folder until dispatch has verified their upload.
        settings["video"]["recording"] = {"dir": files.edge_state(dock.id) / "recordings"}
    return settings


def _dock(
    city: DemoConfig, dock: DemoDock, charger: str | None, speed_factor: float
) -> dict[str, Any]:
    """The ``[dock]`` section: where the dock stands, its sim hardware on the run's clock."""
    f = city.flight
    hardware: dict[str, Any] = {
        "type": "sim",
        "lid_time_s": f.lid_time_s / speed_factor,
        "charge_pct_per_s": f.charge_pct_per_s * speed_factor,
        "wind_mps": dock.wind_mps,
        "wind_from_deg": dock.wind_from_deg,
    }
    if charger is not None:
        hardware["vehicle_control"] = charger
    return {
        "id": dock.id,
        "home": {
            "lat": dock.lat,
            "lon": dock.lon,
            "alt_amsl_m": dock.alt_amsl_m,
            "height_above_ground_m": dock.height_above_ground_m,
        },
        "hardware": hardware,
        "ready_pct": f.ready_pct,
    }


def _video(
    city: DemoConfig,
    files: RunFiles,
    model: Path,
    dispatch_url: str,
    tokens: DemoTokens,
    speed_factor: float,
) -> dict[str, Any]:
    v = city.video
    return {
        "camera": {"type": "sim", "scene": files.scene},
        "detector": {"type": "auto", "model": model},
        "width": v.width,
        "height": v.height,
        "fps": min(v.fps * speed_factor, v.max_wall_fps),
        "hfov_deg": v.hfov_deg,
        "camera_pitch_deg": v.camera_pitch_deg,
        "gimbal": v.gimbal.model_dump(),
        "threads": v.threads,
        "uplink": {"url": dispatch_url, "token": tokens.edge},
    }
