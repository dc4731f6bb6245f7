"""The edge pipeline streaming into the real dispatch service, watched by a viewer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from dispatch.config import load_settings
from dispatch.keys import init_keys
from edge.detect import AutoDetectorConfig, load_detector
from edge.geoproject import CameraPose
from edge.protocol.video import unpack_frame
from edge.video import ImageLoopCamera, Uplink, VideoConfig, VideoPipeline
from sim.broker import LocalBroker
from tests.dispatch.conftest import TOKENS, RunningDispatch
from tests.keys import registered

pytestmark = pytest.mark.timeout(90)

POSE = CameraPose(51.5079, -0.0877, 30.0, 90.0, -45.0)


@pytest.fixture
async def dispatch(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[RunningDispatch]:
    """The dispatch service on a free port with a token for each role."""
    settings = load_settings(
        None,
        mqtt_url=broker.url,
        db_url=f"sqlite:///{tmp_path / 'dispatch.db'}",
        signing_key=init_keys(tmp_path / "keys")[0],
        secret="test-secret-test-secret",
        log_format="text",
        tokens=[{"name": f"{r}-1", "role": r, "token": t} for r, t in TOKENS.items()],
        docks=registered("dock-01"),
    )
    async with RunningDispatch(settings) as service:
        yield service


async def test_a_viewer_of_the_dispatch_service_sees_the_edges_redacted_frames_live(
    dispatch: RunningDispatch, model_path: Path, assets: Path
) -> None:
    detector = load_detector(AutoDetectorConfig(model=model_path))
    viewer_url = f"{dispatch.ws_url}/api/v1/video/dock-01/ws"
    headers = {"Authorization": f"Bearer {TOKENS['viewer']}"}
    async with (
        Uplink(dispatch.url, "dock-01", TOKENS["edge"], backoff_s=(0.05, 0.5)) as uplink,
        VideoPipeline(
            VideoConfig(fps=10),
            ImageLoopCamera([assets / "bus.jpg"]),
            detector,
            lambda: POSE,
            None,
            uplink,
            dock_id="dock-01",
        ) as video,
        connect(viewer_url, additional_headers=headers, open_timeout=5) as viewer,
    ):
        video.set_sortie("S-1", "INC-1")
        async with asyncio.timeout(30):
            while True:
                header, jpeg = unpack_frame(await viewer.recv())  # type: ignore[arg-type]
                if header.sortie_id == "S-1":
                    break
    assert header.rendition == "redacted" and header.dock_id == "dock-01"
    assert sum(o.cls == "person" for o in header.objects) >= 3
    assert all(o.geo is not None for o in header.objects)
    assert jpeg.startswith(b"\xff\xd8")
    assert uplink.stats.connects == 1 and uplink.stats.failures == 0


async def test_dispatch_refuses_a_wrong_edge_token_and_the_uplink_backs_off(
    dispatch: RunningDispatch,
) -> None:
    async with Uplink(dispatch.url, "dock-01", "not-a-token", backoff_s=(0.05, 5.0)) as up:
        up.offer("raw", b"x", 0.0)
        await asyncio.sleep(1.5)  # the first attempt is refused; the next waits ~5 s
        assert up.stats.failures == 1, "a refused token must not be retried at once"
        assert "403" in up.stats.last_error or "401" in up.stats.last_error
        assert up.stats.connects == 0
