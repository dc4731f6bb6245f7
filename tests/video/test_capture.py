"""Capture: newest frame wins, nobody downstream can stall it, lost streams are reopened."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.video import ImageLoopCamera, LatestSlot, StreamCamera, VideoFileCamera
from edge.video.capture import CaptureThread
from edge.video.frames import Frame
from edge.video.h264 import H264Encoder
from edge.video.mp4 import Mp4Writer
from sim.net import free_tcp_port

pytestmark = pytest.mark.timeout(60)


def wait_until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A five-frame H.264 MP4 as the recorder writes them, each frame a different shade."""
    path = tmp_path / "clip.mp4"
    encoder = H264Encoder(160, 120, fps=10.0, kbps=500, crf=18)
    writer = Mp4Writer(path, "h264", 160, 120, 10.0)
    for shade in range(5):
        image = np.full((120, 160, 3), 40 * shade, dtype=np.uint8)
        packet = encoder.encode(image, shade / 10)
        assert packet is not None
        writer.add(packet.data, packet.key, shade / 10)
    writer.close()
    return path


def test_the_slot_keeps_only_the_newest_item_and_counts_what_it_dropped() -> None:
    slot: LatestSlot[int] = LatestSlot()
    for i in range(100):
        slot.put(i)
    assert slot.get(timeout=0) == 99
    assert slot.get(timeout=0.01) is None
    assert slot.dropped == 99


def test_a_waiting_reader_is_woken_by_close() -> None:
    slot: LatestSlot[int] = LatestSlot()
    got: list[int | None] = []
    reader = threading.Thread(target=lambda: got.append(slot.get(timeout=30)))
    reader.start()
    slot.close()
    reader.join(2)
    assert not reader.is_alive() and got == [None]


def test_capture_runs_on_when_nobody_takes_frames(assets: Path) -> None:
    slot: LatestSlot[Frame] = LatestSlot()
    capture = CaptureThread(ImageLoopCamera([assets / "bus.jpg"]), slot, size=(320, 240))
    capture.start()
    try:
        wait_until(lambda: capture.stats.frames >= 200)
    finally:
        capture.stop()
    newest = slot.get(timeout=0)
    assert newest is not None and newest.seq == capture.stats.frames
    assert newest.image.shape == (240, 320, 3)
    assert slot.dropped == capture.stats.frames - 1


def test_a_video_file_plays_in_a_loop_at_the_configured_rate(clip: Path) -> None:
    slot: LatestSlot[Frame] = LatestSlot()
    capture = CaptureThread(VideoFileCamera(clip), slot, fps=50.0)
    started = time.monotonic()
    capture.start()
    try:
        wait_until(lambda: capture.stats.frames >= 12)
    finally:
        capture.stop()
    assert time.monotonic() - started >= 11 / 50
    assert capture.stats.reconnects == 0


def test_a_lost_stream_is_reopened_and_frames_keep_coming(clip: Path) -> None:
    slot: LatestSlot[Frame] = LatestSlot()
    camera = StreamCamera(str(clip), live=True, loop=False)  # ends after five frames
    capture = CaptureThread(camera, slot, backoff_s=(0.01, 0.05))
    capture.start()
    try:
        wait_until(lambda: capture.stats.reconnects >= 2 and capture.stats.frames >= 12)
    finally:
        capture.stop()
    assert "stream lost" in capture.stats.last_error


def test_a_source_that_cannot_be_opened_is_retried_without_killing_the_thread() -> None:
    slot: LatestSlot[Frame] = LatestSlot()
    camera = StreamCamera(f"http://127.0.0.1:{free_tcp_port()}/video.mjpg", timeout_s=1.0)
    capture = CaptureThread(camera, slot, backoff_s=(0.01, 0.05))
    capture.start()
    try:
        wait_until(lambda: capture.stats.errors >= 2)
        assert capture.alive and not capture.stats.connected
    finally:
        capture.stop()
    assert not capture.alive


def test_the_mp4_recording_format_opens_in_opencv_with_every_frame(clip: Path) -> None:
    cap = cv2.VideoCapture(str(clip))
    shades = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        shades.append(int(image.mean()))
    cap.release()
    assert len(shades) == 5 and shades == sorted(shades)
