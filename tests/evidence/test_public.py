"""The public flight register and AI register: no login, an allow-list of fields, no
position near a scene or a dock, and nothing before the publication delay."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import itertools
import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from dispatch.evidence.config import PublicConfig
from dispatch.evidence.records import EvidenceRecords
from dispatch.transparency.flights import FlightRegister
from dispatch.transparency.generalise import segment_distance_m
from edge.geo import LatLon, distance_m
from tests.evidence.conftest import DESCRIPTION, SCENE, RunningDispatch, fly_incident

pytestmark = pytest.mark.timeout(180)

FLIGHT_FIELDS = {
    "id", "date", "takeoff_time", "dock", "category", "duration_min", "distance_km",
    "detection_ran", "redaction_ran", "outcome",
}  # fmt: skip
REGISTER_FIELDS = {"generated_at", "publication_delay_h", "exclusion_m", "flights"}
EXCLUSION_M = 400.0


@pytest.fixture
async def public_service(evidence_settings, edge_factory):
    settings = evidence_settings(
        public={
            "delay_h": 0,
            "exclusion_m": EXCLUSION_M,
            "grid_m": 50,
            "categories": {"collision": "road traffic"},
        }
    )
    async with RunningDispatch(settings) as service:
        first = await fly_incident(service, edge_factory, dock_id="dock-01", kind="collision")
        second = await fly_incident(
            service, edge_factory, dock_id="dock-02", kind="theft", metres=2500, bearing=120
        )
        yield service, [first, second]


async def test_the_feeds_show_only_allowed_fields_and_nothing_near_a_scene_or_dock(
    public_service,
) -> None:
    service, incidents = public_service
    async with httpx.AsyncClient(base_url=service.url) as anyone:
        feed = (await anyone.get("/public/flights.json")).json()
        text_csv = (await anyone.get("/public/flights.csv")).text
        geo_answer = await anyone.get("/public/flights.geojson")
        pages = [await anyone.get(p) for p in ("/public/", "/public/ai")]
        closed = await anyone.get("/api/v1/incidents")
    assert all(p.status_code == 200 and "<html" in p.text for p in pages)
    assert closed.status_code == 401, "the public pages open nothing else"
    assert set(feed) == REGISTER_FIELDS
    assert len(feed["flights"]) == 2
    assert all(set(f) == FLIGHT_FIELDS for f in feed["flights"])
    by_dock = {f["dock"]: f for f in feed["flights"]}
    assert by_dock["dock-01"]["category"] == "road traffic"
    assert by_dock["dock-02"]["category"] == "other", "unmapped types are 'other'"
    assert all(f["outcome"] == "completed" and f["detection_ran"] for f in feed["flights"])
    # 2 km out and back, as the track shows it: more than the straight line's 2 km, less a
    # few hundred metres that telemetry sampled under load may miss at either end
    assert 3.0 <= by_dock["dock-01"]["distance_km"] <= 4.5
    assert by_dock["dock-01"]["takeoff_time"].endswith(("00", "15", "30", "45"))

    rows = list(csv.DictReader(io.StringIO(text_csv)))
    assert set(rows[0]) == FLIGHT_FIELDS and len(rows) == 2

    assert geo_answer.headers["content-type"].startswith("application/geo+json")
    geo = geo_answer.json()
    assert set(geo) == {"type", "features"}
    docks: list[LatLon] = []
    for record in await EvidenceRecords(service.runtime.store).flights():
        docks.append(LatLon(record["home_lat"], record["home_lon"]))
    assert len(docks) == 2
    shown = 0
    for feature in geo["features"]:
        assert set(feature) == {"type", "geometry", "properties"}
        assert set(feature["properties"]) == FLIGHT_FIELDS
        if feature["geometry"] is None:
            continue  # a flight too short to show anything clear of the scene and dock
        assert feature["geometry"]["type"] == "MultiLineString"
        for line in feature["geometry"]["coordinates"]:
            points = [LatLon(lat, lon) for lon, lat in line]
            for place in [SCENE, *docks]:
                assert all(distance_m(p, place) > EXCLUSION_M for p in points)
                for a, b in itertools.pairwise(points):
                    assert segment_distance_m(a, b, place) > EXCLUSION_M
            shown += len(points)
    assert shown >= 4, "the transit between the exclusion zones is shown"

    everything = json.dumps(feed) + text_csv + json.dumps(geo)
    secrets = [DESCRIPTION, "Jane", "CAD-", *incidents]
    sorties = [r["sortie_id"] for r in await EvidenceRecords(service.runtime.store).flights()]
    assert not [s for s in [*secrets, *sorties] if s in everything]
    assert f"{SCENE.lat:.4f}" not in everything


async def test_a_flight_appears_only_after_the_publication_delay(public_service) -> None:
    service, _ = public_service
    late = service.settings.public.model_copy(update={"delay_h": 1.0})
    secret = service.settings.secret.get_secret_value().encode()
    register = FlightRegister(service.runtime.store, late, secret)
    flights = await EvidenceRecords(service.runtime.store).flights()
    last = max(f["ended_at"] for f in flights)
    first = min(f["ended_at"] for f in flights)
    early, _ = await register.build(now=first + timedelta(minutes=59))
    assert early.flights == []
    middle, _ = await register.build(now=first + timedelta(hours=1, seconds=1) + (last - first) / 2)
    assert 1 <= len(middle.flights) <= 2
    after, _ = await register.build(now=last + timedelta(hours=1, seconds=1))
    assert len(after.flights) == 2


async def test_the_api_feed_keeps_recent_flights_back(evidence_settings, edge_factory) -> None:
    settings = evidence_settings(public={"delay_h": 72})
    async with RunningDispatch(settings) as service:
        await fly_incident(service, edge_factory)
        async with httpx.AsyncClient(base_url=service.url) as anyone:
            feed = (await anyone.get("/public/flights.json")).json()
    assert feed["flights"] == [] and feed["publication_delay_h"] == 72


async def test_the_ai_register_names_the_model_by_hash_and_its_measured_accuracy(
    evidence_settings, model_path: Path, tmp_path: Path
) -> None:
    sha = hashlib.sha256(await asyncio.to_thread(model_path.read_bytes)).hexdigest()
    report = tmp_path / "accuracy.json"
    report.write_text(json.dumps({"model_sha256": sha, "precision": 0.91, "recall": 0.84,
                                  "benchmark": "outrider bench detection"}))  # fmt: skip
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"model_sha256": "0" * 64, "precision": 1.0}))
    ai = {"detector_model": str(model_path), "deployed_since": "2026-11-01"}
    for path, measured in ((report, True), (other, False)):
        settings = evidence_settings(public={"ai": {**ai, "accuracy_report": str(path)}})
        async with (
            RunningDispatch(settings) as service,
            httpx.AsyncClient(base_url=service.url) as anyone,
        ):
            register = (await anyone.get("/public/ai.json")).json()
        assert "Algorithmic Transparency Recording Standard" in register["standard"]
        detector, redaction = register["records"]
        spec = detector["tier_2"]["model_specification"]
        assert spec["model"]["sha256"] == sha and "person" in spec["model"]["classes"]
        assert spec["deployed_since"] == "2026-11-01"
        assert spec["performance"]["measured"] is measured
        if measured:
            assert spec["performance"]["precision"] == 0.91
        assert detector["tier_2"]["decision_making_process"]["human_decisions"]
        assert redaction["tier_2"]["model_specification"]["classes_redacted"] == ["person"]
    PublicConfig.model_validate({"categories": {"collision": "road traffic"}})
