"""Fixtures of the evidence suites: a sortie recorded by the edge's real pipeline, a dispatch
service with an evidence store, and helpers to upload and to raise a flown incident."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from dispatch.config import DispatchSettings
from edge.detect import AutoDetectorConfig, load_detector
from edge.evidence import EvidenceUploader
from edge.evidence.http import HttpUploadTransport
from edge.geo import LatLon, destination
from edge.geoproject import CameraPose
from edge.video import ImageLoopCamera, VideoConfig, VideoPipeline
from tests.dispatch.conftest import (  # noqa: F401 - fixtures used by the suites
    RunningDispatch,
    bearer,
    dispatch_service,
    edge_factory,
    keys,
    make_settings,
    public_key,
    wait_for,
)
from tests.video.conftest import assets, model_path  # noqa: F401 - fixtures

SORTIE = "S-20261121100000-a1b2c3"
POSE = CameraPose(51.5079, -0.0877, 30.0, 90.0, -45.0)


async def record_sortie(root: Path, model: Path, photos: list[Path], frames: int) -> Path:
    """Record ``frames`` frames of a sortie with the real pipeline; its folder."""
    detector = load_detector(AutoDetectorConfig(model=model))
    cfg = VideoConfig.model_validate(
        {
            "fps": 20,
            "recording": {"dir": str(root), "segment_s": 0.4},
            "h264": {"keyframe_interval_s": 0.4},  # segments are cut at keyframes
            "width": 640,
            "height": 480,
        }
    )
    seen = asyncio.Event()
    count = 0

    class Sink:
        link = None

        def offer(self, rendition: str, data: bytes, t: float, key: bool) -> None:
            nonlocal count
            count += rendition == "raw"
            if count >= frames:
                seen.set()

    async with VideoPipeline(
        cfg, ImageLoopCamera(photos), detector, lambda: POSE, None, Sink(), dock_id="dock-01"
    ) as video:
        video.set_sortie(SORTIE, None)
        async with asyncio.timeout(60):
            await seen.wait()
        video.clear_sortie()
    detector.close()
    return root / SORTIE


@pytest.fixture(scope="session")
def recorded_sortie(
    tmp_path_factory: pytest.TempPathFactory,
    model_path: Path,  # noqa: F811
    assets: Path,  # noqa: F811 - the fixtures imported above
) -> Path:
    """A sortie folder recorded once per session (people in every frame)."""
    root = tmp_path_factory.mktemp("recordings")
    photos = [assets / "zidane.jpg", assets / "bus.jpg"]
    return asyncio.run(record_sortie(root, model_path, photos, 16))


@pytest.fixture
def sortie_folder(recorded_sortie: Path, tmp_path: Path) -> Path:
    """A fresh copy of the recorded sortie for one test (uploads may delete files)."""
    folder = tmp_path / "recordings" / recorded_sortie.name
    shutil.copytree(recorded_sortie, folder)
    return folder


def manifest_of(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return data


def set_incident(folder: Path, incident_id: str) -> None:
    """Tag the recording with an incident, as the edge does when the sortie has one."""
    data = manifest_of(folder)
    data["incident_id"] = incident_id
    (folder / "manifest.json").write_text(json.dumps(data))


def uploader_for(
    service: RunningDispatch, folder: Path, *, url: str | None = None, chunk: int = 8192, **kw: Any
) -> tuple[EvidenceUploader, HttpUploadTransport]:
    transport = HttpUploadTransport(url or service.url, "dock-01", "edge-token", timeout_s=10)
    return EvidenceUploader(folder.parent, transport, chunk_bytes=chunk, **kw), transport


@pytest.fixture
def evidence_settings(
    make_settings: Callable[..., DispatchSettings],  # noqa: F811
    tmp_path: Path,
) -> Callable[..., DispatchSettings]:
    """Settings with the evidence store in the test's folder."""

    def make(**overrides: Any) -> DispatchSettings:
        evidence = {"dir": str(tmp_path / "evidence"), "track_interval_s": 0.1}
        evidence.update(overrides.pop("evidence", {}))
        return make_settings(evidence=evidence, **overrides)

    return make


@pytest.fixture
async def evidence_service(
    evidence_settings: Callable[..., DispatchSettings],
) -> AsyncIterator[RunningDispatch]:
    async with RunningDispatch(evidence_settings()) as service:
        yield service


SCENE = LatLon(51.5074, -0.1278)
DESCRIPTION = "Blue Ford Focus, driver Jane Doe, 07700 900123"


async def fly_incident(
    service: RunningDispatch,
    edges: Callable[..., Any],
    *,
    dock_id: str = "dock-01",
    metres: float = 2000.0,
    bearing: float = 0.0,
    sortie_s: float = 3.0,
    kind: str = "collision",
) -> str:
    """Raise an incident that a scripted edge flies to and back; its id once docked."""
    home = destination(SCENE, bearing, metres)
    async with edges(dock_id, home.lat, home.lon, fly=True, sortie_s=sortie_s):

        async def ready() -> bool:
            docks = (await service.http.get("/api/v1/docks")).json()
            return any(d["id"] == dock_id and d["ready"] and not d["stale"] for d in docks)

        await wait_for(ready)
        body = {"lat": SCENE.lat, "lon": SCENE.lon, "type": kind, "priority": 1,
                "description": DESCRIPTION, "cad_ref": f"CAD-{dock_id}-{kind}"}  # fmt: skip
        incident = (await service.http.post("/api/v1/incidents", json=body)).json()
        path = f"/api/v1/incidents/{incident['id']}"

        async def docked() -> bool:
            detail = (await service.http.get(path)).json()
            return any(line["type"] == "docked" for line in detail["timeline"])

        await wait_for(docked, limit_s=30)
    await service.runtime.drain()
    return str(incident["id"])
