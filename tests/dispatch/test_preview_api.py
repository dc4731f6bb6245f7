"""The confirm step's dry run: which dock would go, its route and ETA, or why none; and the
caller's words (description, address, CAD reference) kept with the incident."""

from __future__ import annotations

from tests.dispatch.conftest import RunningDispatch
from tests.dispatch.test_incidents_api import INCIDENT, docks_seen, near
from tests.dispatch.test_queue_api import dock_seen

PREVIEW = "/api/v1/incidents/preview"


async def test_a_preview_names_the_dock_its_route_and_eta_and_sends_nothing(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with (
        edge_factory("near", *near(0, 800)) as near_edge,
        edge_factory("far", *near(90, 2500)) as far_edge,
    ):
        await docks_seen(dispatch_service, 2)
        r = await dispatch_service.http.post(PREVIEW, json=INCIDENT)
        assert r.status_code == 200, r.text
        dry = r.json()
        assert dry["outcome"] == "dispatch" and dry["dock_id"] == "near"
        assert 20 < dry["eta_s"] < 200 and dry["route_m"] >= dry["distance_m"] > 700
        first, last = dry["route"][0], dry["route"][-1]
        assert abs(first["lat"] - near(0, 800)[0]) < 1e-6
        assert (last["lat"], last["lon"]) == (INCIDENT["lat"], INCIDENT["lon"])
        assert near_edge.commands == far_edge.commands == []
        assert (await dispatch_service.http.get("/api/v1/incidents")).json() == []
        sent = (await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)).json()
        assert sent["dock_id"] == "near" and abs(sent["eta_s"] - dry["eta_s"]) < 1


async def test_a_preview_says_queue_or_refuse_with_the_docks_reasons(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800), ready=False):
        await dock_seen(dispatch_service, "near")
        dry = (await dispatch_service.http.post(PREVIEW, json=INCIDENT)).json()
        assert dry["outcome"] == "queue" and dry["dock_id"] is None
        assert [d["dock_id"] for d in dry["docks"]] == ["near"]
        far_away = {**INCIDENT, "lat": INCIDENT["lat"] + 0.2}
        dry = (await dispatch_service.http.post(PREVIEW, json=far_away)).json()
        assert dry["outcome"] == "refuse" and dry["docks"][0]["code"] == "out_of_range"
        viewer = dispatch_service.client("viewer")
        async with viewer:
            assert (await viewer.post(PREVIEW, json=INCIDENT)).status_code == 403


async def test_the_callers_description_address_and_cad_reference_stay_with_the_incident(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    words = {"description": "two men at the rear door", "address": "Mannerheimintie 5",
             "cad_ref": "CAD-2026-118"}  # fmt: skip
    async with edge_factory("near", *near(0, 800)):
        await docks_seen(dispatch_service, 1)
        r = await dispatch_service.http.post("/api/v1/incidents", json={**INCIDENT, **words})
        assert r.status_code == 201, r.text
        got = (await dispatch_service.http.get(f"/api/v1/incidents/{r.json()['id']}")).json()
        assert {k: got[k] for k in words} == words
        too_long = {**INCIDENT, "address": "x" * 501}
        bad = await dispatch_service.http.post("/api/v1/incidents", json=too_long)
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_field"
