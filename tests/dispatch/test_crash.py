"""Dispatch killed outright (SIGKILL) while docks report: every event stored, none twice.

A real Mosquitto, ``outrider dispatch`` as a process of its own on SQLite, and a fleet of docks
publishing signed events at QoS 1 as fast as the broker takes them.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from sim.broker import MosquittoBroker
from sim.flood import DispatchProcess, Fleet, publish, stored_events
from tests.dispatch.conftest import wait_for

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs mosquitto")

EVENTS = 3000


async def test_events_published_while_dispatch_is_killed_and_restarted_are_stored_exactly_once(
    tmp_path: Path,
) -> None:
    async with MosquittoBroker() as broker:
        fleet = Fleet(10)
        dispatch = DispatchProcess(tmp_path, broker.url, fleet)
        async with dispatch:
            await dispatch.ready()
            publishing = asyncio.create_task(publish(broker.url, fleet.events(EVENTS)))
            # killed mid-stream: some stored, some taken and not yet stored, some not yet sent
            await wait_for(lambda: stored_events(dispatch.db)[0] >= EVENTS // 6, limit_s=60)
            await dispatch.kill()
            killed_with = stored_events(dispatch.db)[0]
            await publishing
            assert killed_with < EVENTS

            await dispatch.start()
            await wait_for(lambda: stored_events(dispatch.db)[0] >= EVENTS, limit_s=60)

        # none lost; none stored twice (a second store would have added an audit row)
        assert stored_events(dispatch.db) == (EVENTS, EVENTS)


async def test_a_dispatch_stopped_with_sigterm_drains_and_loses_nothing(tmp_path: Path) -> None:
    async with MosquittoBroker() as broker:
        fleet = Fleet(10)
        dispatch = DispatchProcess(tmp_path, broker.url, fleet)
        async with dispatch:
            await dispatch.ready()
            publishing = asyncio.create_task(publish(broker.url, fleet.events(EVENTS)))
            await wait_for(lambda: stored_events(dispatch.db)[0] >= EVENTS // 6, limit_s=60)
            await dispatch.terminate()
            await publishing

            log = (tmp_path / "dispatch.log").read_text()
            assert "draining: taking no new messages" in log
            assert "not stored" not in log  # everything taken was stored before the exit

            await dispatch.start()
            await wait_for(lambda: stored_events(dispatch.db)[0] >= EVENTS, limit_s=60)

        assert stored_events(dispatch.db) == (EVENTS, EVENTS)
