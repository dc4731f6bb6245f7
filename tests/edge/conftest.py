"""Fixtures of the edge tests: a listener that records everything the docks publish."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiomqtt
import pytest

from sim.broker import LocalBroker

STUCK_S = 200.0


@dataclass
class Received:
    """One message as the listener saw it."""

    topic: str
    payload: bytes
    retain: bool

    @property
    def kind(self) -> str:
        return self.topic.rsplit("/", 1)[-1]

    @property
    def dock(self) -> str:
        return self.topic.split("/")[2]

    def json(self) -> Any:
        return json.loads(self.payload)


class Listener:
    """A control-room stand-in: a persistent MQTT session on ``dfr/v1/#`` that reconnects.

    Every message is kept in arrival order; ``wait`` blocks until a predicate holds.
    """

    def __init__(self, broker: LocalBroker, filter_: str = "dfr/v1/#") -> None:
        self.broker = broker
        self.filter = filter_
        self.messages: list[Received] = []
        self._changed = asyncio.Condition()
        self._client_id = f"listener-{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._up = asyncio.Event()

    async def __aenter__(self) -> Self:
        self._task = asyncio.get_running_loop().create_task(self._run())
        async with asyncio.timeout(10):
            await self._ready.wait()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    self.broker.host,
                    self.broker.port,
                    identifier=self._client_id,
                    clean_session=False,
                    keepalive=5,
                ) as client:
                    self._client = client
                    await client.subscribe(self.filter, qos=1)
                    self._ready.set()
                    self._up.set()
                    async for message in client.messages:
                        payload = message.payload
                        data = payload if isinstance(payload, bytes | bytearray) else b""
                        async with self._changed:
                            self.messages.append(
                                Received(str(message.topic), bytes(data), bool(message.retain))
                            )
                            self._changed.notify_all()
            except aiomqtt.MqttError:
                self._client = None
                self._up.clear()
                await asyncio.sleep(0.2)

    async def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        async with asyncio.timeout(10):
            await self._up.wait()
            assert self._client is not None
            await self._client.publish(topic, payload, qos=qos)

    def of(self, kind: str, dock: str | None = None) -> list[Received]:
        return [m for m in self.messages if m.kind == kind and (dock is None or m.dock == dock)]

    def events(self, dock: str | None = None) -> list[dict[str, Any]]:
        return [m.json() for m in self.of("events", dock)]

    def event_types(self, dock: str | None = None) -> list[str]:
        return [e["type"] for e in self.events(dock)]

    async def wait(self, predicate: Callable[[], Any], within: float, what: str = "") -> Any:
        """Wait until ``predicate()`` is truthy and return its value."""
        try:
            async with asyncio.timeout(within), self._changed:
                while not (value := predicate()):
                    await self._changed.wait()
                return value
        except TimeoutError:
            raise AssertionError(
                f"timed out after {within:g} s waiting for {what or predicate}; "
                f"events so far: {self.event_types()}"
            ) from None

    async def ack_for(self, cmd_id: str, within: float = 10.0) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for m in self.of("ack"):
                ack = m.json()
                if ack.get("cmd_id") == cmd_id:
                    return ack  # type: ignore[no-any-return]
            return None

        result: dict[str, Any] = await self.wait(find, within, f"ack of {cmd_id}")
        return result

    async def event(self, kind: str, within: float, dock: str | None = None) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            return next((e for e in self.events(dock) if e["type"] == kind), None)

        result: dict[str, Any] = await self.wait(find, within, f"event {kind}")
        return result


@pytest.fixture(autouse=True)
async def dump_tasks_when_stuck() -> AsyncIterator[None]:
    """Print every asyncio task's stack if a test is still running after STUCK_S seconds."""

    async def watch() -> None:
        await asyncio.sleep(STUCK_S)
        for task in asyncio.all_tasks():
            sys.stderr.write(f"--- task {task.get_name()}: {task.get_coro()}\n")
            task.print_stack(limit=15, file=sys.stderr)

    watcher = asyncio.get_running_loop().create_task(watch())
    yield
    watcher.cancel()


@pytest.fixture
async def listener(broker: LocalBroker) -> AsyncIterator[Listener]:
    async with Listener(broker) as lis:
        yield lis
