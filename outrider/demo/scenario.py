"""Scenarios as data: incidents raised at given times and places, with actors around them.

A scenario file is TOML (``configs/scenarios/*.toml``)::

    name = "one-incident"
    timeout_s = 900                 # simulated seconds for the whole run

    [defaults]                      # any incident key, applied where an incident is silent
    on_scene_s = 90
    alt_rel_m = 20

    [[incidents]]
    name = "borough-market"
    at_s = 0                        # simulated seconds after the start
    lat = 51.5055
    lon = -0.0910
    type = "assault"
    expect = "served"               # served | refused (then expect_code: no_fly, out_of_range)

    [[incidents.actors]]            # placed by bearing and distance from the incident
    kind = "person"
    bearing_deg = 0
    distance_m = 60

    [incidents.ring]                # or evenly on a circle
    kinds = ["person", "bus"]
    radius_m = 60

Times are simulated seconds: a run at speed factor ``k`` raises them ``k`` times sooner.
Unknown keys are refused, so a typo fails at load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edge.errors import ConfigError
from edge.geo import LatLon, destination
from outrider.demo.config import describe_validation, read_toml
from sim.camera import Actor, Scene, ring_of_actors
from sim.camera.scene import ActorKind

__all__ = [
    "IncidentSpec",
    "PlacedActor",
    "Ring",
    "Scenario",
    "load_scenario",
    "world_scene",
]

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PlacedActor(_Model):
    """An actor placed relative to its incident."""

    kind: ActorKind
    bearing_deg: float = Field(ge=0, lt=360)
    distance_m: float = Field(ge=0, le=2000)
    heading_deg: float = Field(0.0, ge=0, lt=360)
    variant: int = Field(0, ge=0, le=1000)
    name: str | None = Field(None, max_length=64)


class Ring(_Model):
    """Actors spaced evenly on a circle around the incident."""

    kinds: list[ActorKind] = Field(min_length=1, max_length=50)
    radius_m: float = Field(60.0, gt=0, le=2000)
    start_deg: float = Field(0.0, ge=0, lt=360)


class IncidentSpec(_Model):
    """One incident of a scenario and what should become of it."""

    name: Name
    at_s: float = Field(ge=0, title="Simulated seconds after the start")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    type: str = Field("incident", min_length=1, max_length=64)
    priority: int = Field(2, ge=1, le=5)
    description: str | None = Field(None, max_length=2000)
    on_scene_s: float = Field(120.0, ge=0, le=4 * 3600, title="Simulated seconds on scene")
    alt_rel_m: float | None = Field(None, gt=0, le=120)
    expect: Literal["served", "refused"] = "served"
    expect_code: str | None = Field(None, title="The refusal's code when expect = refused")
    expect_dock: str | None = Field(None, title="The dock that should fly it")
    actors: list[PlacedActor] = Field(default_factory=list, max_length=100)
    ring: Ring | None = None

    @model_validator(mode="after")
    def _coherent(self) -> IncidentSpec:
        if self.expect == "served" and self.expect_code is not None:
            raise ValueError("expect_code is only for expect = 'refused'")
        if self.expect == "refused" and self.expect_dock is not None:
            raise ValueError("expect_dock is only for expect = 'served'")
        return self

    @property
    def target(self) -> LatLon:
        return LatLon(self.lat, self.lon)

    def placed_actors(self) -> list[Actor]:
        """This incident's actors at their absolute positions, named after the incident."""
        out = []
        for i, a in enumerate(self.actors):
            p = destination(self.target, a.bearing_deg, a.distance_m)
            out.append(
                Actor(
                    kind=a.kind,
                    lat=p.lat,
                    lon=p.lon,
                    heading_deg=a.heading_deg,
                    variant=a.variant,
                    name=f"{self.name}/{a.name or f'{a.kind}-{i + 1}'}"[:64],
                )
            )
        if self.ring is not None:
            ring = ring_of_actors(
                self.target, list(self.ring.kinds), self.ring.radius_m, self.ring.start_deg
            )
            for i, ringed in enumerate(ring):
                out.append(ringed.model_copy(update={"name": f"{self.name}/ring-{i + 1}"[:64]}))
        return out


class Scenario(_Model):
    """A whole scenario: its incidents, and how long the run may take."""

    name: Name
    description: str = Field("", max_length=4000)
    timeout_s: float = Field(1800.0, gt=0, title="Simulated seconds for the whole run")
    max_wait_s: float = Field(900.0, ge=0, title="Longest an incident waits for a free dock")
    incidents: list[IncidentSpec] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _unique(self) -> Scenario:
        names = [i.name for i in self.incidents]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"incident names must be unique: {dupes}")
        return self

    def actors(self) -> list[Actor]:
        """Every incident's actors."""
        return [a for inc in self.incidents for a in inc.placed_actors()]


def load_scenario(path: Path) -> Scenario:
    """Load and validate a scenario file; ``[defaults]`` fill in what incidents leave out.

    Raises:
        ConfigError: the file cannot be read or a key is missing, unknown or invalid.
    """
    data = read_toml(path)
    defaults = data.pop("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"{path}: defaults must be a table")
    incidents = data.get("incidents")
    if isinstance(incidents, list):
        data["incidents"] = [
            {**defaults, **inc} if isinstance(inc, dict) else inc for inc in incidents
        ]
    data.setdefault("name", path.stem)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation(exc)}") from None


def world_scene(name: str, *groups: list[Actor]) -> Scene:
    """One scene holding every actor: the world all the synthetic cameras look at."""
    return Scene(name=name, actors=[a for group in groups for a in group])
