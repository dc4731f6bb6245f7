"""The live ETA: counted down from the drone's telemetry while it flies, right after a retask,
and "on scene since" once there."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.dispatch.test_incidents_api import INCIDENT, docks_seen, near


async def eta_when(service: RunningDispatch, path: str, state: str) -> dict[str, Any]:
    async def seen() -> dict[str, Any] | None:
        body = (await service.http.get(path)).json()
        eta = body.get("eta")
        return body if eta and eta["state"] == state else None

    found: dict[str, Any] = await wait_for(seen, limit_s=30, every=0.05)
    return found


async def test_the_eta_counts_down_from_telemetry_and_follows_a_retask(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 2000), fly=True, sortie_s=24, telemetry_hz=10):
        await docks_seen(dispatch_service, 1)
        r = await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)
        path = f"/api/v1/incidents/{r.json()['id']}"
        at_once = r.json()["eta"]  # the scripted dock takes off as it accepts: either may show
        assert at_once["state"] in ("before_launch", "en_route") and at_once["to_scene_s"] > 0
        first = (await eta_when(dispatch_service, path, "en_route"))["eta"]
        assert first["basis"] == "telemetry" and first["ground_speed_mps"] == 15.0

        async def closer() -> dict[str, Any] | None:
            eta = (await dispatch_service.http.get(path)).json()["eta"]
            ok = eta and eta["state"] == "en_route" and eta["distance_m"] < first["distance_m"] - 50
            return eta if ok else None

        later = await wait_for(closer, limit_s=10, every=0.05)
        assert later["to_scene_s"] < first["to_scene_s"]
        assert later["to_scene_s"] == pytest.approx(later["distance_m"] / 15.0)
        lat, lon = near(180, 1500)
        retask = await dispatch_service.http.post(f"{path}/retask", json={"lat": lat, "lon": lon})
        assert retask.status_code == 200
        moved = (await dispatch_service.http.get(path)).json()["eta"]
        assert moved["state"] == "en_route" and moved["distance_m"] > later["distance_m"] + 1000
        on_scene = await eta_when(dispatch_service, path, "on_scene")
        assert on_scene["eta"]["on_scene_since"] is not None
        assert on_scene["eta"]["on_scene_left_s"] > 0 and on_scene["eta"]["to_scene_s"] is None
