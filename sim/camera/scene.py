"""Scenes for the synthetic camera: actors (people, vehicles) placed at known coordinates.

A scene file is TOML or JSON::

    name = "market-square"
    ground = "helsinki.pmtiles"  # optional: a basemap tile file the ground shows (relative
                                 # to the scene file); a plain textured ground without it
    [[actors]]
    kind = "person"          # person | bus
    lat = 51.50790
    lon = -0.08770
    heading_deg = 90         # optional: which way the actor faces
    height_m = 1.8           # optional: overrides the kind's height
    variant = 1              # optional: which photograph of the kind

Unknown keys are refused, so a typo fails at load.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.errors import ConfigError
from edge.geo import LatLon, destination

__all__ = ["KINDS", "Actor", "ActorKind", "Scene", "load_scene", "parse_scene", "ring_of_actors"]

ActorKind = Literal["person", "bus"]
KINDS: dict[str, float] = {"person": 1.75, "bus": 3.2}
"""Each kind with its default height in metres."""


class Actor(BaseModel):
    """One person or vehicle standing at a known place."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    kind: ActorKind
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    heading_deg: Annotated[float, Field(ge=0, lt=360)] = 0.0
    height_m: Annotated[float, Field(gt=0, le=20)] | None = None
    variant: Annotated[int, Field(ge=0, le=1000)] = 0
    name: Annotated[str, Field(max_length=64)] | None = None

    @property
    def position(self) -> LatLon:
        """Where the actor stands."""
        return LatLon(self.lat, self.lon)

    @property
    def height(self) -> float:
        """Height in metres: the actor's own or its kind's."""
        return self.height_m or KINDS[self.kind]


class Scene(BaseModel):
    """What stands on the ground the synthetic camera looks at."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: Annotated[str, Field(max_length=128)] = "scene"
    seed: Annotated[int, Field(ge=0, le=2**31)] = 7
    ground: Path | None = Field(None, title="Basemap tile file (PMTiles or MBTiles) of the city")
    actors: list[Actor] = Field(default_factory=list, max_length=500)


def parse_scene(data: bytes, *, fmt: Literal["toml", "json"]) -> Scene:
    """A scene from TOML or JSON bytes.

    Raises:
        ConfigError: ``invalid_config`` naming what is wrong.
    """
    try:
        text = data.decode("utf-8")
        raw = tomllib.loads(text) if fmt == "toml" else json.loads(text)
        return Scene.model_validate(raw)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"scene is not valid {fmt.upper()}: {exc}") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "scene"
        raise ConfigError(f"scene {where}: {err['msg']}") from None


def load_scene(path: Path) -> Scene:
    """A scene from a ``.toml`` or ``.json`` file.

    Raises:
        ConfigError: the file is missing or invalid; the reason names the file and key.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"scene file {path} cannot be read: {exc.strerror}") from exc
    try:
        scene = parse_scene(data, fmt="json" if path.suffix.lower() == ".json" else "toml")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.reason}") from exc
    if scene.ground is not None and not scene.ground.is_absolute():
        scene = scene.model_copy(update={"ground": path.parent / scene.ground})
    return scene


def ring_of_actors(
    centre: LatLon, kinds: list[ActorKind], radius_m: float = 15.0, start_deg: float = 0.0
) -> list[Actor]:
    """Actors spaced evenly on a circle around a point, e.g. around an incident."""
    step = 360.0 / max(1, len(kinds))
    actors = []
    for i, kind in enumerate(kinds):
        p = destination(centre, start_deg + i * step, radius_m)
        actors.append(Actor(kind=kind, lat=p.lat, lon=p.lon, variant=i))
    return actors
