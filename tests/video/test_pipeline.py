"""The whole pipeline with real parts: camera, detector, uplink to a real ingest, recording."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from edge.detect import AutoDetectorConfig, Detector, load_detector
from edge.geo import LatLon, destination, distance_m
from edge.geoproject import CameraPose, slant_range_m
from edge.protocol import Detections
from edge.protocol.video import unpack_frame
from edge.video import ImageLoopCamera, Uplink, VideoConfig, VideoPipeline
from edge.video.record import sha256_file
from tests.video.conftest import Receiver

pytestmark = pytest.mark.timeout(90)

HERE = LatLon(51.5079, -0.0877)
POSE = CameraPose(HERE.lat, HERE.lon, 30.0, 90.0, -45.0)


@pytest.fixture(scope="module")
def detector(model_path: Path) -> Detector:
    return load_detector(AutoDetectorConfig(model=model_path))


def config(**extra: object) -> VideoConfig:
    return VideoConfig.model_validate({"fps": 20, "detections_hz": 20, **extra})


class Sink:
    """Collects published detections; ``hang`` makes every publish block forever."""

    def __init__(self, hang: bool = False) -> None:
        self.hang = hang
        self.messages: list[Detections] = []
        self.arrived = asyncio.Event()

    async def __call__(self, message: Detections) -> None:
        if self.hang:
            await asyncio.Event().wait()
        self.messages.append(message)
        self.arrived.set()


class Frames:
    """An in-memory frame sink: counts the raw frames offered for each sortie."""

    link = None

    def __init__(self) -> None:
        self.counts: dict[str | None, int] = {}
        self.offered = asyncio.Event()

    def offer(self, rendition: str, data: bytes, t_capture_mono: float, key: bool) -> None:
        if rendition == "raw":
            header, _ = unpack_frame(data)
            self.counts[header.sortie_id] = self.counts.get(header.sortie_id, 0) + 1
            self.offered.set()

    async def wait_for(self, count: int, *, sortie_id: str | None) -> None:
        async with asyncio.timeout(30):
            while self.counts.get(sortie_id, 0) < count:
                self.offered.clear()
                await self.offered.wait()


async def test_frames_stream_raw_and_redacted_with_tracked_people_placed_on_the_ground(
    detector: Detector, assets: Path, receiver: Receiver
) -> None:
    sink = Sink()
    async with (
        Uplink(receiver.url, "dock-01", "secret", backoff_s=(0.05, 0.2)) as uplink,
        VideoPipeline(
            config(),
            ImageLoopCamera([assets / "bus.jpg"]),
            detector,
            lambda: POSE,
            sink,
            uplink,
            dock_id="dock-01",
        ) as video,
    ):
        video.set_sortie("S-1", "INC-7")
        await receiver.wait_for(len(receiver.frames) + 10)
    headers = [h for h, _ in receiver.frames[-6:]]
    assert {h.rendition for h in headers} == {"raw", "redacted"}  # type: ignore[attr-defined]
    last = headers[-1]
    assert last.sortie_id == "S-1" and last.incident_id == "INC-7"  # type: ignore[attr-defined]
    people = [o for o in last.objects if o.cls == "person"]  # type: ignore[attr-defined]
    assert len(people) >= 3 and all(o.track_id is not None and o.geo for o in people)
    assert sink.messages and sink.messages[-1].dock_id == "dock-01"
    ids = [{o.track_id for o in m.objects} for m in sink.messages[-3:]]
    assert ids[0] == ids[-1], "track ids changed on a still picture"
    assert video.stats.redaction_failed == 0


async def test_without_a_detector_only_the_raw_rendition_is_sent(
    assets: Path, receiver: Receiver
) -> None:
    async with (
        Uplink(receiver.url, "dock-01", "secret", backoff_s=(0.05, 0.2)) as uplink,
        VideoPipeline(
            config(),
            ImageLoopCamera([assets / "bus.jpg"]),
            None,
            lambda: POSE,
            None,
            uplink,
            dock_id="dock-01",
        ),
    ):
        await receiver.wait_for(8)
    assert {h.rendition for h, _ in receiver.frames} == {"raw"}  # type: ignore[attr-defined]


async def test_a_dead_detections_consumer_and_a_stalled_link_never_stall_capture(
    detector: Detector, assets: Path
) -> None:
    async with (
        Receiver(mode="stall") as stalled,
        Uplink(stalled.url, "dock-01", "secret", stall_timeout_s=0.5) as uplink,
        VideoPipeline(
            config(fps=60, codec="jpeg", jpeg_quality=100),  # big frames fill any buffer
            ImageLoopCamera([assets / "bus.jpg"]),
            detector,
            lambda: POSE,
            Sink(hang=True),
            uplink,
            dock_id="dock-01",
        ) as video,
    ):
        capture = video.capture
        assert capture is not None
        worst_lag, counts = 0.0, []
        for _ in range(6):
            t = time.monotonic()
            await asyncio.sleep(0.5)
            worst_lag = max(worst_lag, time.monotonic() - t - 0.5)
            counts.append((capture.stats.frames, video.stats.analysed))
    frames = [c[0] for c in counts]
    analysed = [c[1] for c in counts]
    assert all(b > a for a, b in itertools.pairwise(frames)), frames
    assert analysed[-1] > analysed[0]
    assert video.stats.publish_failures >= 1
    assert uplink.stats.dropped > 0
    assert worst_lag < 0.5


async def poses(pose: CameraPose) -> AsyncIterator[CameraPose]:
    """A pose stream as the agent might supply it: one update, then silence."""
    yield pose
    await asyncio.Event().wait()


async def test_the_sim_camera_pipeline_publishes_actors_where_they_stand(
    model_640: Path, tmp_path: Path
) -> None:
    heading = 60.0
    spots = [destination(HERE, heading + b, r) for b, r in ((0, 0), (90, 7), (270, 7))]
    scene = tmp_path / "scene.json"
    actors = [
        {"kind": "person", "lat": p.lat, "lon": p.lon, "variant": i} for i, p in enumerate(spots)
    ]
    scene.write_text(json.dumps({"actors": actors}))
    cam_at = destination(HERE, heading + 180, 35.0)
    pose = CameraPose(cam_at.lat, cam_at.lon, 20.0, heading, -math.degrees(math.atan2(20, 35)))
    cfg = config(camera={"type": "sim", "scene": str(scene)}, hfov_deg=40.0, fps=5)
    sink = Sink()
    detector = load_detector(AutoDetectorConfig(model=model_640))
    async with VideoPipeline(cfg, None, detector, poses(pose), sink, None, dock_id="dock-01"):
        while not sink.messages or len(sink.messages[-1].objects) < 3:
            sink.arrived.clear()
            await asyncio.wait_for(sink.arrived.wait(), 30)
    placed = [o.geo for o in sink.messages[-1].objects if o.cls == "person" and o.geo]
    for spot in spots:
        error = min(distance_m(LatLon(g.lat, g.lon), spot) for g in placed)
        assert error <= 5.0 + 0.05 * slant_range_m(pose, spot)


@pytest.mark.parametrize("codec", ["h264", "jpeg"])
async def test_a_sortie_is_recorded_in_mp4_segments_with_a_sha256_manifest(
    detector: Detector, assets: Path, tmp_path: Path, codec: str
) -> None:
    cfg = config(
        codec=codec,
        recording={"dir": str(tmp_path), "segment_s": 0.25, "renditions": ["raw", "redacted"]},
        h264={"keyframe_interval_s": 0.3},
        fps=20,
    )
    frames = Frames()
    async with VideoPipeline(
        cfg,
        ImageLoopCamera([assets / "zidane.jpg"]),
        detector,
        lambda: POSE,
        None,
        frames,
        dock_id="d",
    ) as video:
        video.set_sortie("S-9/x", "INC-1")
        await frames.wait_for(16, sortie_id="S-9/x")
        video.clear_sortie()
    folder = tmp_path / "S-9_x"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["sortie_id"] == "S-9/x" and manifest["incident_id"] == "INC-1"
    segments = manifest["segments"]
    assert {s["rendition"] for s in segments} == {"raw", "redacted"}
    assert {s["codec"] for s in segments} == {codec}
    assert len(segments) >= 4, "segments of 0.25 s (cut at keyframes) over more than a second"
    for s in segments:
        path = folder / s["file"]
        assert sha256_file(path) == s["sha256"] and path.stat().st_size == s["bytes"]
        meta = folder / s["metadata"]["file"]
        assert sha256_file(meta) == s["metadata"]["sha256"]
        lines = [json.loads(line) for line in meta.read_text().splitlines()]
        assert len(lines) == s["frames"] > 0 and lines[0]["key"] is True
        assert all(line["rendition"] == s["rendition"] for line in lines)
        frames_read, duration = read_back(path)
        assert frames_read == s["frames"]
        assert duration == pytest.approx(s["duration_s"], abs=0.002)
        spanned = (
            datetime.fromisoformat(s["end"]) - datetime.fromisoformat(s["start"])
        ).total_seconds()
        # capture times on the wall clock and the monotonic one agree within a few ms; the last
        # frame lasts one nominal frame
        assert duration - 1 / 20 == pytest.approx(spanned, abs=0.03)


def read_back(path: Path) -> tuple[int, float]:
    """Frames decoded from an MP4 file with PyAV, and the video stream's duration in seconds."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        assert stream.duration is not None and stream.time_base is not None
        return count, float(stream.duration * stream.time_base)


async def test_a_missing_scene_file_is_a_clear_error_and_the_pipeline_can_start_again(
    detector: Detector, tmp_path: Path, assets: Path
) -> None:
    from edge.errors import ConfigError

    cfg = config(camera={"type": "sim", "scene": str(tmp_path / "nowhere.toml")})
    video = VideoPipeline(cfg, None, detector, lambda: POSE, None, None, dock_id="d")
    with pytest.raises(ConfigError) as err:
        async with video:
            pass
    assert "nowhere.toml" in err.value.reason
    video._camera = ImageLoopCamera([assets / "bus.jpg"])
    async with video:
        assert video.capture is not None and video.capture.alive


async def test_a_failing_pose_source_leaves_objects_unplaced_but_the_video_flowing(
    detector: Detector, assets: Path, receiver: Receiver
) -> None:
    def broken_pose() -> CameraPose | None:
        raise RuntimeError("telemetry not ready")

    async with (
        Uplink(receiver.url, "dock-01", "secret", backoff_s=(0.05, 0.2)) as uplink,
        VideoPipeline(
            config(),
            ImageLoopCamera([assets / "bus.jpg"]),
            detector,
            broken_pose,
            None,
            uplink,
            dock_id="dock-01",
        ),
    ):
        await receiver.wait_for(10)  # tracks are reported once seen in three frames
    header = receiver.frames[-1][0]
    assert header.objects and all(o.geo is None for o in header.objects)  # type: ignore[attr-defined]
