"""The public flight register: completed flights, published after a delay, with nothing
personal — the date and a rounded take-off time, the dock, a coarse category mapped from the
incident type, duration, distance, a generalised path that keeps clear of the scene and the
dock, whether detection and redaction ran, and the outcome. No video, no free text.

Every field that leaves here is in :data:`PUBLIC_FIELDS`; the models forbid anything else.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import itertools
import math
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from dispatch.evidence.config import PublicConfig
from dispatch.evidence.records import EvidenceRecords
from dispatch.store.sql import SqlStore
from dispatch.transparency.generalise import generalise_path
from edge.geo import LatLon, distance_m
from edge.protocol import now_utc

__all__ = [
    "PUBLIC_FIELDS",
    "FlightRegister",
    "PublicFlight",
    "RegisterPublic",
    "flights_csv",
    "flights_geojson",
]

MAX_FLIGHTS = 5000
OTHER = "other"


class PublicFlight(BaseModel):
    """One flight as the public sees it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    date: str
    takeoff_time: str
    dock: str
    category: str
    duration_min: int
    distance_km: float
    detection_ran: bool
    redaction_ran: bool
    outcome: str


PUBLIC_FIELDS: tuple[str, ...] = tuple(PublicFlight.model_fields)


class RegisterPublic(BaseModel):
    """The register: what rules it follows, and the flights."""

    model_config = ConfigDict(extra="forbid")

    generated_at: str
    publication_delay_h: float
    exclusion_m: float
    flights: list[PublicFlight]


class FlightRegister:
    """Builds the register from the store.

    Args:
        store: the dispatch store.
        config: the ``[public]`` settings.
        secret: keys the public flight ids, so they reveal nothing of the sortie ids.
    """

    def __init__(self, store: SqlStore, config: PublicConfig, secret: bytes) -> None:
        self.store = store
        self.config = config
        self.secret = secret

    def _id(self, sortie_id: str) -> str:
        mac = hmac.new(self.secret, f"flight:{sortie_id}".encode(), hashlib.sha256)
        return "F-" + mac.hexdigest()[:12]

    def _rounded(self, at: datetime) -> datetime:
        step = self.config.time_resolution_min
        minutes = (at.hour * 60 + at.minute) // step * step
        return at.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)

    async def build(self, now: datetime | None = None) -> tuple[RegisterPublic, list[Any]]:
        """The register at ``now`` and, per flight, its generalised path (list of lines)."""
        now = now or now_utc()
        cutoff = now - timedelta(hours=self.config.delay_h)
        records = EvidenceRecords(self.store)
        rows = (await records.flights(ended_before=cutoff))[:MAX_FLIGHTS]
        track = await records.track([r["sortie_id"] for r in rows])
        incidents = {r["sortie_id"]: await self.store.get_incident(r["incident_id"] or "")
                     for r in rows}  # fmt: skip
        places = _places(rows, incidents)
        flights, paths = [], []
        for row in rows:
            incident = incidents[row["sortie_id"]]
            mine = [LatLon(p["lat"], p["lon"]) for p in track if p["sortie_id"] == row["sortie_id"]]
            flights.append(self._public(row, incident.type if incident else None, mine))
            paths.append(self._path(mine, places))
        register = RegisterPublic(
            generated_at=now.replace(microsecond=0).isoformat(),
            publication_delay_h=self.config.delay_h,
            exclusion_m=self.config.exclusion_m,
            flights=flights,
        )
        return register, paths

    def _public(self, row: dict[str, Any], kind: str | None, points: list[LatLon]) -> PublicFlight:
        started, ended = row["started_at"], row["ended_at"]
        takeoff = self._rounded(started)
        distance = sum(distance_m(a, b) for a, b in itertools.pairwise(points))
        return PublicFlight(
            id=self._id(row["sortie_id"]),
            date=takeoff.date().isoformat(),
            takeoff_time=takeoff.strftime("%H:%M"),
            dock=row["dock_id"],
            category=self.config.categories.get(kind or "", OTHER),
            duration_min=max(1, round((ended - started).total_seconds() / 60)),
            distance_km=round(distance / 1000, 1),
            detection_ran=bool(row["detection_ran"]),
            redaction_ran=bool(row["redaction_ran"]),
            outcome=row["outcome"] or "completed",
        )

    def _path(self, points: list[LatLon], places: list[LatLon]) -> list[Any]:
        """The generalised path, clear of every scene and dock in the register."""
        if len(points) < 2:
            return []
        reach = self.config.exclusion_m + self.config.grid_m
        near = [c for c in places if _near_box(points, c, reach)]
        if not near and points:
            near = [points[0], points[-1]]  # nothing known: the ends stand for the dock
        lines = generalise_path(
            points, near, exclusion_m=self.config.exclusion_m, grid_m=self.config.grid_m
        )
        return [[[p.lon, p.lat] for p in line] for line in lines]


def _places(rows: list[dict[str, Any]], incidents: dict[str, Any]) -> list[LatLon]:
    """Every scene (and retask target) and every dock of the register's flights."""
    found: set[LatLon] = set()
    for row in rows:
        if row["home_lat"] is not None:
            found.add(LatLon(row["home_lat"], row["home_lon"]))
        incident = incidents.get(row["sortie_id"])
        if incident is not None:
            found.add(LatLon(incident.lat, incident.lon))
            found.add(LatLon(incident.target_lat, incident.target_lon))
    return sorted(found)


def _near_box(points: list[LatLon], place: LatLon, reach_m: float) -> bool:
    """Whether ``place`` is within ``reach_m`` of the points' bounding box (a cheap screen)."""
    dlat = reach_m / 111_320.0
    dlon = dlat / max(0.01, math.cos(math.radians(place.lat)))
    lats = [p.lat for p in points]
    lons = [p.lon for p in points]
    return (min(lats) - dlat <= place.lat <= max(lats) + dlat) and (
        min(lons) - dlon <= place.lon <= max(lons) + dlon
    )


def flights_csv(register: RegisterPublic) -> str:
    """The register as CSV, one row per flight, columns :data:`PUBLIC_FIELDS`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(PUBLIC_FIELDS), lineterminator="\n")
    writer.writeheader()
    for flight in register.flights:
        writer.writerow(flight.model_dump())
    return out.getvalue()


def flights_geojson(register: RegisterPublic, paths: list[Any]) -> dict[str, Any]:
    """The register as GeoJSON: one Feature per flight, its generalised path as geometry."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "MultiLineString", "coordinates": path} if path else None,
                "properties": flight.model_dump(),
            }
            for flight, path in zip(register.flights, paths, strict=True)
        ],
    }
