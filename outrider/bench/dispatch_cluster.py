"""Several dispatch instances on one PostgreSQL: messages, latency, incidents, a kill under load.

For each instance count: a PostgreSQL database of its own, Mosquitto, that many ``outrider
dispatch`` processes in one shared subscription group (:mod:`sim.cluster`), and a crowd of
light docks (:mod:`sim.crowd`) whose telemetry reaches every instance. Measured:

- ``msgs_per_s``: signed QoS 1 events stored a second by the cluster from a backlog published
  as fast as the broker takes it (each handled by one instance), telemetry running meanwhile;
- ``p99_ms``: 99th percentile of an event's handling latency, published to stored (committed,
  acknowledged), at a steady ``--rate`` of events a second;
- ``incidents_per_s``: incidents raised at once over HTTP across the instances, answered
  (dispatched, queued or refused) a second, with ``double_booked`` the docks sent to an
  incident while out on another (each dock refuses and counts such a command);
- with the most instances, a kill under load: events published while one instance is
  SIGKILLed and started again; ``events_lost_after_sigkill`` is those published minus those
  stored, ``stored_twice`` those stored more than once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "measure", "report", "run"]

LIMIT_S = 300.0
POLL_S = 0.1
BROKER = "max_queued_messages 100000\nmax_inflight_messages 1000\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``outrider bench dispatch --instances``."""
    parser.add_argument(
        "--instances", help="several instances: comma-separated counts, e.g. 1,2,3 (only this)"
    )
    parser.add_argument("--crowd", type=int, default=200, help="docks sending telemetry")
    parser.add_argument("--crowd-hz", type=float, default=1.0, help="telemetry rate per dock")
    parser.add_argument("--events", type=int, default=4000, help="backlog of events per count")
    parser.add_argument("--rate", type=float, default=200.0, help="steady events/s for p99")
    parser.add_argument("--incidents", type=int, default=100, help="incidents raised at once")
    parser.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server"
    )


class _Docks:
    """The docks the instances accept: the crowd and the event publishers."""

    def __init__(self, *fleets: Any) -> None:
        self.fleets = fleets

    def registered(self) -> list[dict[str, str]]:
        return [entry for fleet in self.fleets for entry in fleet.registered()]


class _Publisher:
    """Events of the flood docks, each made (timestamped) as it is published."""

    def __init__(self, fleet: Any) -> None:
        self.fleet = fleet
        self.docks = list(fleet.keys)
        self.sorties = {d: f"S-{uuid.uuid4().hex[:12]}" for d in self.docks}
        self.sent = 0

    def message(self, run: str) -> tuple[str, bytes]:
        from edge.protocol import Event, EventType, Kind, topic
        from edge.protocol.signing import sign_message

        dock = self.docks[self.sent % len(self.docks)]
        self.sent += 1
        ev = Event(
            id=uuid.uuid4().hex,
            dock_id=dock,
            sortie_id=self.sorties[dock],
            type=EventType.EN_ROUTE,
            detail={"run": run},
        )
        return topic(dock, Kind.EVENTS), sign_message(ev, self.fleet.keys[dock])

    async def publish(self, url: str, n: int, run: str, rate: float | None = None) -> None:
        """``n`` events at QoS 1 from three connections, paced at ``rate`` a second if given."""
        from edge.comms.mqtt import make_client, parse_mqtt_url

        async def one(share: int) -> None:
            client = make_client(
                parse_mqtt_url(url),
                client_id=f"bench-{uuid.uuid4().hex[:8]}",
                persistent=False,
                keepalive_s=30,
                timeout_s=60.0,
            )
            start = time.perf_counter()
            async with client:
                for i in range(share):
                    if rate:
                        due = start + i * 3 / rate
                        await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    name, payload = self.message(run)
                    await client.publish(name, payload, qos=1)

        await asyncio.gather(*(one(n // 3 + (1 if k < n % 3 else 0)) for k in range(3)))


async def _until(predicate: Any, limit_s: float = LIMIT_S) -> None:
    async with asyncio.timeout(limit_s):
        while True:
            if await predicate():
                return
            await asyncio.sleep(POLL_S)  # counting rows another process writes: nothing to await


async def _stored(db: Any, run: str) -> int:
    rows = await db.fetch("SELECT count(*) FROM events WHERE detail->>'run' = $1", run)
    return int(rows[0][0])


async def _docks_known(cluster: Any, n: int) -> None:
    async def known() -> bool:
        for i in range(len(cluster.instances)):
            async with cluster.client(i) as http:
                docks = (await http.get("/api/v1/docks")).json()
            if sum(not d["stale"] and d["ready"] for d in docks) < n:
                return False
        return True

    await _until(known, 120)


async def _incidents(cluster: Any, crowd: Any, n: int) -> dict[str, Any]:
    rng = random.Random(n)
    lat, lon = crowd.center
    clients = [cluster.client(i) for i in range(len(cluster.instances))]
    try:

        async def one(k: int) -> int:
            body = {
                "lat": lat + rng.uniform(-0.03, 0.03),
                "lon": lon + rng.uniform(-0.06, 0.06),
                "type": "bench",
                "on_scene_s": 0,
            }
            r = await clients[k % len(clients)].post("/api/v1/incidents", json=body)
            return int(r.status_code)

        start = time.perf_counter()
        codes = await asyncio.gather(*(one(k) for k in range(n)))
        took = time.perf_counter() - start
    finally:
        for c in clients:
            await c.aclose()
    return {
        "incidents_per_s": round(n / took, 1),
        "dispatched": codes.count(201),
        "queued": codes.count(202),
        "refused": codes.count(409),
        "failed": sum(c not in (201, 202, 409) for c in codes),
    }


async def _double_booked(db: Any, crowd: Any) -> int:
    """Commands that reached a dock out on another sortie, and incidents with two docks that
    accepted in time (a dock accepting after its sender gave up is recalled, and not counted)."""
    rows = await db.fetch(
        "SELECT count(*) FROM (SELECT incident_id FROM commands WHERE type = 'dispatch'"
        " AND ack_ok AND gave_up_at IS NULL GROUP BY incident_id HAVING count(*) > 1) AS twice"
    )
    return int(crowd.double_booked) + int(rows[0][0])


async def _one_count(args: argparse.Namespace, n: int, kill: bool) -> dict[str, Any]:
    from sim.broker import MosquittoBroker
    from sim.cluster import Cluster, PgDatabase, counts
    from sim.crowd import Crowd
    from sim.flood import Fleet

    out: dict[str, Any] = {}
    flood = Fleet(12)
    publisher = _Publisher(flood)
    with tempfile.TemporaryDirectory() as folder:
        async with (
            PgDatabase(args.pg) as db,
            MosquittoBroker(extra_config=BROKER) as broker,
            Crowd(broker.url, args.crowd, telemetry_hz=args.crowd_hz, sortie_s=3.0) as crowd,
            Cluster(Path(folder), broker.url, db, _Docks(crowd, flood), n) as cluster,
        ):
            await _docks_known(cluster, args.crowd)
            # throughput: a backlog, as fast as the broker takes it
            run = f"backlog-{n}"
            start = time.perf_counter()
            await publisher.publish(broker.url, args.events, run)
            await _until(lambda: _at_least(db, run, args.events))
            out["msgs_per_s"] = round(args.events / (time.perf_counter() - start), 1)
            # latency at a steady rate
            run = f"steady-{n}"
            steady = max(1, int(args.rate * 10))
            await publisher.publish(broker.url, steady, run, rate=args.rate)
            await _until(lambda: _at_least(db, run, steady))
            rows = await db.fetch(
                "SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY"
                " extract(epoch FROM received_at - at)) FROM events WHERE detail->>'run' = $1",
                run,
            )
            out["p99_ms"] = round(float(rows[0][0]) * 1000, 1)
            out.update(await _incidents(cluster, crowd, args.incidents))
            out["double_booked"] = await _double_booked(db, crowd)
            if kill:
                run = "kill"
                total = 3000
                publishing = asyncio.create_task(
                    publisher.publish(broker.url, total, run, rate=args.rate * 2)
                )
                await _until(lambda: _at_least(db, run, total // 3))
                await cluster.instances[-1].kill()
                await asyncio.sleep(1.0)
                await cluster.restart(len(cluster.instances) - 1)
                await publishing
                with contextlib.suppress(TimeoutError):  # what is missing then is lost
                    await _until(lambda: _at_least(db, run, total), 120)
                stored = await _stored(db, run)
                events, audited = await counts(db)
                out["events_lost_after_sigkill"] = total - stored
                out["stored_twice"] = audited - events
    return out


async def _at_least(db: Any, run: str, n: int) -> bool:
    return await _stored(db, run) >= n


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    counts = sorted({int(c) for c in str(args.instances).split(",") if c.strip()})
    per: dict[int, dict[str, Any]] = {}
    for n in counts:
        per[n] = await _one_count(args, n, kill=n == counts[-1] and n > 1)
    most = per[counts[-1]]
    return {
        "cores": _cores(),
        "crowd_docks": args.crowd,
        "telemetry_per_s": args.crowd * args.crowd_hz,
        "msgs_per_s": {str(n): per[n]["msgs_per_s"] for n in counts},
        "p99_ms": {str(n): per[n]["p99_ms"] for n in counts},
        "incidents_per_s": {str(n): per[n]["incidents_per_s"] for n in counts},
        "incidents": {
            str(n): {k: per[n][k] for k in ("dispatched", "queued", "refused", "failed")}
            for n in counts
        },
        "double_booked": sum(per[n]["double_booked"] for n in counts),
        "events_lost_after_sigkill": most.get("events_lost_after_sigkill"),
        "stored_twice": most.get("stored_twice"),
    }


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The figures of ``outrider bench dispatch --instances``."""
    return asyncio.run(_measure(args))


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Same as :func:`run` (the bench runner's name)."""
    return run(args)


def report(figures: dict[str, Any]) -> str:
    """A few lines for people."""
    lines = [f"{figures['cores']} cores, {figures['crowd_docks']} docks' telemetry at "
             f"{figures['telemetry_per_s']:g}/s to every instance"]  # fmt: skip
    for n, rate in figures["msgs_per_s"].items():
        lines.append(
            f"{n} instance(s): {rate} events/s stored, p99 {figures['p99_ms'][n]} ms, "
            f"{figures['incidents_per_s'][n]} incidents/s answered {figures['incidents'][n]}"
        )
    lines.append(
        f"double_booked={figures['double_booked']}, "
        f"events_lost_after_sigkill={figures['events_lost_after_sigkill']}, "
        f"stored_twice={figures['stored_twice']}"
    )
    return "\n".join(lines) + "\n"
