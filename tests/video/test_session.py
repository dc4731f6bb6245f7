"""The agent's video starter: one sortie's pipeline from its session, with a real uplink."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest

from edge.agent import VideoSession
from edge.errors import DetectorError
from edge.geo import LatLon, bearing_deg, destination
from edge.geoproject import CameraPose
from edge.protocol import Detections
from edge.video import VideoConfig, start_video
from tests.video.conftest import Receiver

pytestmark = pytest.mark.timeout(90)

INCIDENT = LatLon(51.5079, -0.0877)


def session(config: VideoConfig, pose: CameraPose, sink: list[Detections]) -> VideoSession:
    async def publish(message: Detections) -> None:
        sink.append(message)

    return VideoSession(config, "dock-01", "S-42", "INC-42", lambda: pose, publish)


async def test_a_sortie_streams_the_synthetic_scene_to_dispatch_tagged_with_its_ids(
    model_path: Path, tmp_path: Path, receiver: Receiver
) -> None:
    scene = tmp_path / "scene.json"
    spot = destination(INCIDENT, 0.0, 0.0)
    scene.write_text(json.dumps({"actors": [{"kind": "bus", "lat": spot.lat, "lon": spot.lon}]}))
    cam_at = destination(INCIDENT, 180.0, 20.0)
    pose = CameraPose(cam_at.lat, cam_at.lon, 12.0, 0.0, -90.0)
    config = VideoConfig.model_validate(
        {
            "camera": {"type": "sim", "scene": str(scene)},
            "detector": {"type": "auto", "model": str(model_path)},
            "uplink": {"url": receiver.url, "token": "secret"},
            "hfov_deg": 40.0,
            "camera_pitch_deg": -math.degrees(math.atan2(12.0, 20.0)),
            "fps": 10,
        }
    )
    published: list[Detections] = []
    async with start_video(session(config, pose, published)) as video:
        await receiver.wait_for(6)
    headers = [h for h, _ in receiver.frames]
    assert all(h.sortie_id == "S-42" and h.incident_id == "INC-42" for h in headers)  # type: ignore[attr-defined]
    assert {h.rendition for h in headers} == {"raw", "redacted"}  # type: ignore[attr-defined]
    assert receiver.paths[0] == "/api/v1/video/ingest/dock-01"
    assert video.stats.analysed >= 3


async def test_a_missing_model_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    config = VideoConfig.model_validate(
        {"detector": {"type": "auto", "model": str(tmp_path / "none.onnx")}}
    )
    pose = CameraPose(INCIDENT.lat, INCIDENT.lon, 30.0, 0.0)
    with pytest.raises(DetectorError) as err:
        async with start_video(session(config, pose, [])):
            await asyncio.sleep(0)
    assert err.value.code == "model_missing"


@pytest.mark.parametrize(
    ("turned_deg", "seen", "pitch"),
    [(0.0, True, -48), (120.0, False, -25)],  # behind the mount's reach: it looks ahead
)
async def test_the_gimbal_points_the_camera_at_the_scene_and_each_frame_says_if_it_is_in_view(
    model_path: Path, receiver: Receiver, turned_deg: float, seen: bool, pitch: int
) -> None:
    at = destination(INCIDENT, 200.0, 40.0)
    nose = CameraPose(at.lat, at.lon, 45.0, (bearing_deg(at, INCIDENT) + turned_deg) % 360)
    config = VideoConfig.model_validate(
        {
            "camera": {"type": "sim"},
            "detector": {"type": "auto", "model": str(model_path)},
            "uplink": {"url": receiver.url, "token": "secret"},
            "hfov_deg": 20.0,
            "fps": 10,
        }
    )
    reported: list[bool | None] = []

    async def publish(message: Detections) -> None:
        return None

    live = VideoSession(
        config, "dock-01", "S-42", "INC-42", lambda: nose, publish, lambda: INCIDENT,
        reported.append,
    )  # fmt: skip
    async with start_video(live):
        await receiver.wait_for(6)
    headers = [h for h, _ in receiver.frames]
    assert reported and set(reported) == {seen}
    assert {h.scene_in_view for h in headers} == {seen}  # type: ignore[attr-defined]
    pitches = {round(h.pose.pitch_deg) for h in headers}  # type: ignore[attr-defined]
    assert pitches == {pitch}  # facing it: down at the scene, 45 m below and 40 m ahead
