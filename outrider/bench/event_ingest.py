"""Dispatch's event ingest: events stored a second, one transaction each vs batched, and events
lost or stored twice across a SIGKILL.

Real Mosquitto, ``outrider dispatch`` as a process on SQLite, ten docks publishing signed QoS 1
events (:mod:`sim.flood`). The rate is measured on a backlog: the events are published while
dispatch is stopped, then it starts and stores them; the clock runs from the first stored to
the last. The crash: events published while dispatch runs, dispatch killed outright a third of
the way in and started again, then what it stored counted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.broker import MosquittoBroker


# as configs/mosquitto/mosquitto.conf: room for the whole backlog while dispatch is away
BROKER = "max_queued_messages 100000\n"
POLL_S = 0.02
LIMIT_S = 300.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=3000, help="events per run")
    parser.add_argument("--batch", type=int, default=200, help="store_batch_max of the batched run")


async def _until(predicate: Any) -> None:
    """Poll ``predicate`` (a count in another process's database: nothing to wait on)."""
    async with asyncio.timeout(LIMIT_S):
        while True:
            if predicate():
                return
            await asyncio.sleep(POLL_S)


async def _rate(broker: MosquittoBroker, n: int, batch: int) -> float:
    """Events stored a second from a backlog of ``n``, with ``batch`` a transaction."""
    from sim.flood import DispatchProcess, Fleet, publish, stored_events

    fleet = Fleet(10)
    with tempfile.TemporaryDirectory() as folder:
        dispatch = DispatchProcess(Path(folder), broker.url, fleet, batch_max=batch)
        async with dispatch:
            await dispatch.ready()  # subscribed: the broker keeps what follows for its session
            await dispatch.terminate()
            await publish(broker.url, fleet.events(n))
            await dispatch.start()
            await _until(lambda: stored_events(dispatch.db)[0] > 0)
            start, first = time.perf_counter(), stored_events(dispatch.db)[0]
            await _until(lambda: stored_events(dispatch.db)[0] >= n)
            return (n - first) / (time.perf_counter() - start)


async def _crash(broker: MosquittoBroker, n: int) -> dict[str, int]:
    """Events lost and stored twice when dispatch is SIGKILLed a third of the way in."""
    from sim.flood import DispatchProcess, Fleet, publish, stored_events

    fleet = Fleet(10)
    with tempfile.TemporaryDirectory() as folder:
        dispatch = DispatchProcess(Path(folder), broker.url, fleet)
        async with dispatch:
            await dispatch.ready()
            publishing = asyncio.create_task(publish(broker.url, fleet.events(n)))
            await _until(lambda: stored_events(dispatch.db)[0] >= n // 3)
            await dispatch.kill()
            at_kill = stored_events(dispatch.db)[0]
            await publishing
            await dispatch.start()
            await dispatch.ready()
            with contextlib.suppress(TimeoutError):  # what is missing then is lost
                await _until(lambda: stored_events(dispatch.db)[0] >= n)
            events, audited = stored_events(dispatch.db)
    return {
        "published": n,
        "stored_at_kill": at_kill,
        "events_lost_after_sigkill": n - events,
        "events_stored_twice": audited - events,
    }


async def _measure(n: int, batch: int) -> dict[str, Any]:
    from sim.broker import MosquittoBroker

    async with MosquittoBroker(extra_config=BROKER) as broker:
        single = await _rate(broker, n, 1)
        batched = await _rate(broker, n, batch)
        crash = await _crash(broker, n)
    return {
        "events": n,
        "stored_per_s_one_per_tx": round(single, 1),
        "stored_per_s_batched": round(batched, 1),
        "batch_max": batch,
        **crash,
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    return asyncio.run(_measure(args.events, args.batch))


def report(f: dict[str, Any]) -> str:
    return (
        f"events stored a second ({f['events']} queued at the broker):\n"
        f"  one transaction per event: {f['stored_per_s_one_per_tx']:.0f}/s\n"
        f"  batched (up to {f['batch_max']} a transaction): {f['stored_per_s_batched']:.0f}/s\n"
        f"dispatch SIGKILLed with {f['stored_at_kill']} of {f['published']} stored, restarted:\n"
        f"  events lost: {f['events_lost_after_sigkill']}\n"
        f"  events stored twice: {f['events_stored_twice']}\n"
    )
