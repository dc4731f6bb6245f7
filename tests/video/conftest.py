"""Fixtures of the video suites: the offline model, the sample photographs, offline Ultralytics."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from edge.detect import MODEL_ENV

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "0")
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="outrider-yolo-"))


def model_or_skip() -> Path:
    """The offline model named by OUTRIDER_MODEL, or skip the test saying what is missing."""
    raw = os.environ.get(MODEL_ENV, "")
    if not raw:
        pytest.skip(f"{MODEL_ENV} is not set: point it at an offline YOLO .onnx (see the README)")
    path = Path(raw)
    if not path.is_file():
        pytest.skip(f"{MODEL_ENV}={raw} does not exist")
    return path


@pytest.fixture(scope="session")
def model_path() -> Path:
    """Path of the offline detection model (the 320 ONNX file in CI)."""
    return model_or_skip()


@pytest.fixture(scope="session")
def model_640() -> Path:
    """The 640 sibling of the offline model, or the model itself when there is none."""
    path = model_or_skip()
    sibling = path.with_name(path.name.replace("_320", "_640"))
    return sibling if sibling.is_file() else path


@pytest.fixture(scope="session")
def assets() -> Path:
    """The sample photographs that ship inside the ultralytics package."""
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("ultralytics is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "assets"


def decode_h264(packets: list[bytes]) -> list[NDArray[np.uint8]]:
    """Decode H.264 access units in order with PyAV (FFmpeg's decoder), as BGR pictures."""
    from dispatch.video_snapshot import decode

    return [picture.to_ndarray(format="bgr24") for picture in decode(packets)]


def read_image(path: Path) -> NDArray[np.uint8]:
    """A photograph as a BGR array."""
    image = cv2.imread(str(path))
    assert image is not None, path
    return image


class Receiver:
    """A real WebSocket ingest on a free port, like dispatch's: checks the token, keeps frames.

    ``mode`` is ``read`` (unpack every frame) or ``stall`` (accept, then never read).
    """

    def __init__(self, token: str = "secret", mode: str = "read") -> None:
        from sim.net import free_tcp_port

        self.port = free_tcp_port()
        self.token = token
        self.mode = mode
        self.frames: list[tuple[object, bytes]] = []
        self.arrived: list[float] = []  # wall-clock arrival of each frame
        self.paths: list[str] = []
        self.refused = 0
        self.connections = 0
        self._server: object = None
        self._wanted: tuple[int, asyncio.Event] | None = None
        self._refusal = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        from websockets.asyncio.server import serve

        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            process_request=self._check,
            max_size=None,
            close_timeout=0.5,
        )

    async def stop(self) -> None:
        server = self._server
        if server is not None:
            server.close()  # type: ignore[attr-defined]
            await server.wait_closed()  # type: ignore[attr-defined]
            self._server = None

    async def __aenter__(self) -> Receiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_for(self, count: int, within_s: float = 20.0) -> None:
        """Wait until ``count`` frames have arrived in total."""
        event = asyncio.Event()
        self._wanted = (count, event)
        if len(self.frames) >= count:
            return
        await asyncio.wait_for(event.wait(), within_s)

    async def wait_refused(self, count: int, within_s: float = 20.0) -> None:
        """Wait until ``count`` connections have been refused."""
        async with asyncio.timeout(within_s):
            while self.refused < count:
                self._refusal.clear()
                await self._refusal.wait()

    def _check(self, connection, request):  # type: ignore[no-untyped-def]
        from http import HTTPStatus

        self.paths.append(request.path)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            self.refused += 1
            self._refusal.set()
            return connection.respond(HTTPStatus.UNAUTHORIZED, "bad token\n")
        return None

    async def _handle(self, ws) -> None:  # type: ignore[no-untyped-def]
        from edge.protocol.video import unpack_frame

        self.connections += 1
        if self.mode == "stall":
            await ws.wait_closed()
            return
        async for message in ws:
            self.frames.append(unpack_frame(message))
            self.arrived.append(time.time())
            if self._wanted and len(self.frames) >= self._wanted[0]:
                self._wanted[1].set()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A running ingest that reads every frame."""
    async with Receiver() as r:
        yield r
