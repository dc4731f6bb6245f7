"""The camera's footprint on the ground: dispatch projects the four corners of each flying
drone's picture from the pose its video carries and the lens its dock publishes."""

from __future__ import annotations

from typing import Any

from edge.geo import LatLon, bearing_deg, distance_m
from edge.protocol import DetectedObject
from edge.protocol.video import FrameHeader, FramePose, pack_frame
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.dispatch.test_incidents_api import docks_seen, near
from tests.dispatch.test_video import jpeg, ws


def posed_frame(dock_id: str, n: int, pose: FramePose) -> bytes:
    header = FrameHeader(
        dock_id=dock_id, frame=n, width=160, height=120, pose=pose,
        objects=[DetectedObject(track_id=1, cls="person", conf=0.9, bbox=[1, 2, 30, 40])],
    )  # fmt: skip
    return pack_frame(header, jpeg(seed=n))


async def dock(service: RunningDispatch, dock_id: str) -> dict[str, Any]:
    r = await service.http.get(f"/api/v1/docks/{dock_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_flying_drone_with_live_video_has_its_cameras_footprint_ahead_of_it(
    dispatch_service: RunningDispatch, edge_factory: Any
) -> None:
    service = dispatch_service
    async with edge_factory(
        "near", *near(0, 700), fly=True, sortie_s=30, limits={"camera_hfov_deg": 60}
    ):
        await docks_seen(service, 1)
        assert (await dock(service, "near"))["footprint"] == []  # docked: nothing to show
        lat, lon = near(0, 300)
        r = await service.http.post(
            "/api/v1/incidents", json={"lat": lat, "lon": lon, "type": "assault"}
        )
        assert r.status_code == 201, r.text
        await wait_for(lambda: _flying(service), 15)
        d = await dock(service, "near")
        assert d["footprint"] == []  # flying, but no video yet: no pose to project
        pose = FramePose(lat=lat, lon=lon, alt_agl_m=60.0, heading_deg=90.0, pitch_deg=-45.0)
        async with ws(service, "/api/v1/video/ingest/near", "edge") as ingest:
            for n in range(3):
                await ingest.send(posed_frame("near", n, pose))
            d = await wait_for(lambda: _with_footprint(service), 10)
        corners = [LatLon(c["lat"], c["lon"]) for c in d["footprint"]]
        assert len(corners) == 4
        camera = LatLon(lat, lon)
        for c in corners:  # the whole picture lies east of the drone, the way the camera faces
            assert 30.0 < bearing_deg(camera, c) < 150.0, corners
        near_edge = distance_m(corners[0], corners[1])
        far_edge = distance_m(corners[2], corners[3])
        assert near_edge < far_edge  # looking obliquely: wider far away
        middle = LatLon(sum(c.lat for c in corners) / 4, sum(c.lon for c in corners) / 4)
        assert 30.0 < distance_m(camera, middle) < 150.0  # 60 m up at 45 degrees: about 60 m on


async def _flying(service: RunningDispatch) -> bool:
    return bool((await dock(service, "near"))["in_air"])


async def _with_footprint(service: RunningDispatch) -> dict[str, Any] | None:
    d = await dock(service, "near")
    return d if d["footprint"] else None
