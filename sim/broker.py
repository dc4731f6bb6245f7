"""A real MQTT broker on a port of its own: Mosquitto when installed, else embedded amqtt.

Tests and the demo start one per run so that they never share a broker with anything else.
Both kinds can be stopped and started again on the same port, to rehearse broker outages.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from sim.net import free_tcp_port

__all__ = ["EmbeddedBroker", "LocalBroker", "MosquittoBroker", "local_broker"]

logger = logging.getLogger(__name__)


class LocalBroker:
    """Base of the two broker kinds: an async context manager with stop/start/restart."""

    kind: str = "broker"

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_tcp_port(host)
        self.running = False

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def restart(self, down_s: float = 0.0, *, lose_store: bool = False) -> None:
        """Stop, stay down for ``down_s`` seconds, start again on the same port; with
        ``lose_store``, without the sessions, queued messages and retained ones it kept."""
        await self.stop()
        if lose_store:
            self.forget_store()
        await asyncio.sleep(down_s)
        await self.start()

    def forget_store(self) -> None:
        """Lose what the stopped broker kept (as a machine lost with its disk would)."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _wait_listening(self) -> None:
        try:
            async with asyncio.timeout(10.0):
                while True:
                    try:
                        _, writer = await asyncio.open_connection(self.host, self.port)
                    except OSError:
                        await asyncio.sleep(0.05)
                        continue
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
                    return
        except TimeoutError:
            raise TimeoutError(f"{self.kind} did not listen on {self.url}") from None


class MosquittoBroker(LocalBroker):
    """A ``mosquitto`` process with its own config and persistence directory."""

    kind = "mosquitto"

    def __init__(
        self, port: int | None = None, host: str = "127.0.0.1", extra_config: str = ""
    ) -> None:
        super().__init__(port, host)
        self._dir = Path(tempfile.mkdtemp(prefix="outrider-mosquitto-"))
        self._extra = extra_config
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        conf = self._dir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            # as root, Mosquitto would drop to its own user, which cannot write the persistence
            # file here: it would come back from a restart with no sessions or queued messages
            f"user {getpass.getuser()}\n"
            "persistence true\n"
            f"persistence_location {self._dir}/\n"
            "max_queued_messages 10000\n"
            # as in service: dispatch acknowledges events once stored, a batch at a time
            "max_inflight_messages 1000\n"
            f"log_dest file {self._dir}/mosquitto.log\n" + self._extra
        )
        binary = shutil.which("mosquitto")
        assert binary is not None
        self._proc = await asyncio.create_subprocess_exec(
            binary,
            "-c",
            str(conf),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await self._wait_listening()
        self.running = True

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        self.running = False
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def forget_store(self) -> None:
        for kept in self._dir.glob("*.db"):
            kept.unlink()


class EmbeddedBroker(LocalBroker):
    """The amqtt broker inside this process's event loop."""

    kind = "amqtt"

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        super().__init__(port, host)
        self._broker: Any = None

    async def start(self) -> None:
        from amqtt.broker import Broker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        self._broker = Broker(config)
        await self._broker.start()
        await self._wait_listening()
        self.running = True

    async def stop(self) -> None:
        broker, self._broker = self._broker, None
        self.running = False
        if broker is not None:
            await broker.shutdown()


def local_broker(
    port: int | None = None, prefer: Literal["mosquitto", "amqtt"] = "mosquitto"
) -> LocalBroker:
    """A broker of the preferred kind, falling back to amqtt when Mosquitto is not installed."""
    if prefer == "mosquitto" and shutil.which("mosquitto"):
        return MosquittoBroker(port)
    return EmbeddedBroker(port)
