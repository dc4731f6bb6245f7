"""Two forces for mutual-aid tests: each with its own Mosquitto, store, keys and dispatch.

``north`` asks, ``south`` lends. Both services' ports are chosen before either starts, so
each can be configured with the other's URL and the agreement's shared key.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

from dispatch.config import DispatchSettings, load_settings
from dispatch.keys import init_keys
from sim.broker import MosquittoBroker
from sim.net import free_tcp_port
from tests.dispatch.conftest import TOKENS, RunningDispatch
from tests.keys import registered

AGREEMENT_KEY = "north-south-agreement-key-01234"


@dataclass
class Force:
    """One force: its broker, keys, settings and running dispatch."""

    name: str
    broker: MosquittoBroker
    keys: tuple[Path, Path]
    port: int
    dispatch: RunningDispatch | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service(self) -> RunningDispatch:
        assert self.dispatch is not None
        return self.dispatch


def force_settings(force: Force, tmp: Path, peer: dict[str, Any], dock: str) -> DispatchSettings:
    return load_settings(
        None,
        mqtt_url=force.broker.url,
        mqtt_client_id=f"dispatch-{force.name}",
        db_url=f"sqlite:///{tmp / force.name / 'dispatch.db'}",
        signing_key=force.keys[0],
        secret=f"{force.name}-secret-0123456789",
        log_format="text",
        public_url=force.url,
        dispatch={"ack_timeout_s": 3.0, "stale_after_s": 5.0},
        tokens=[{"name": f"{r}-1", "role": r, "token": t} for r, t in TOKENS.items()],
        docks=registered(dock),
        interop={"force": force.name, "peers": [peer], "webhooks": {"backoff_s": 0.1}},
    )


class TwoForces:
    """``north`` (asks ``south`` when none of its docks can go) and ``south`` (lends
    ``lent`` docks for ``types``, with ``video`` crossing)."""

    def __init__(
        self,
        tmp: Path,
        *,
        lent: list[str],
        types: list[str] | None = None,
        video: str = "redacted",
        ask_before_queue: bool = False,
    ) -> None:
        if not shutil.which("mosquitto"):
            pytest.skip("mutual-aid tests run two Mosquitto brokers")
        self.tmp = tmp
        self.lend = {"docks": lent, "incident_types": types or ["*"], "video": video}
        self.ask_before_queue = ask_before_queue
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Self:
        stack = self._stack
        forces = []
        for name in ("north", "south"):
            broker = await stack.enter_async_context(MosquittoBroker())
            forces.append(Force(name, broker, init_keys(self.tmp / name / "keys"), free_tcp_port()))
        self.north, self.south = forces
        north_peer = {
            "name": "south",
            "url": self.south.url,
            "secret": AGREEMENT_KEY,
            "ask": True,
            "ask_before_queue": self.ask_before_queue,
        }
        south_peer = {
            "name": "north",
            "url": self.north.url,
            "secret": AGREEMENT_KEY,
            "lend": self.lend,
        }
        for force, peer, dock in (
            (self.north, north_peer, "dock-n1"),
            (self.south, south_peer, "dock-s1"),
        ):
            settings = force_settings(force, self.tmp, peer, dock)
            force.dispatch = await stack.enter_async_context(RunningDispatch(settings, force.port))
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()
