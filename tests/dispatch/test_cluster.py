"""Three dispatch instances on one PostgreSQL database behind one address.

Real parts throughout: Mosquitto on a port of the test's own, a PostgreSQL database of the
test's own (created and dropped), three ``outrider dispatch`` processes taking events and acks
through one MQTT shared subscription, and a crowd of light docks that answer commands and fly
short sorties (a dock sent to a second incident while out on a first refuses and counts it).
"""

from __future__ import annotations

import asyncio
import random
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sim.broker import MosquittoBroker
from sim.cluster import Cluster, PgDatabase, counts, gather_limited
from sim.crowd import Crowd
from sim.flood import Fleet, publish
from tests.dispatch.conftest import wait_for

pytestmark = [
    pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs mosquitto"),
    pytest.mark.timeout(900),
]

SORTIE_EVENTS = ["accepted", "armed", "airborne", "on_scene", "returning", "landed", "docked"]
IN_FLIGHT = 24
BUSY = {"ack_timeout_s": 10.0}
"""Two cores carry three instances, PostgreSQL, the broker and the docks: acks take longer."""
SERVED = {"dispatched", "launching", "en_route", "on_scene", "returning", "completed"}


@pytest.fixture
async def database() -> Any:
    try:
        async with PgDatabase() as db:
            yield db
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}")


async def docks_known(cluster: Cluster, n: int) -> None:
    """Every instance knows ``n`` docks, none of them stale."""

    async def known() -> bool:
        for i in range(len(cluster.instances)):
            async with cluster.client(i) as http:
                docks = (await http.get("/api/v1/docks")).json()
            if len(docks) < n or any(d["stale"] or not d["ready"] for d in docks):
                return False
        return True

    await wait_for(known, limit_s=30, every=0.2)


def somewhere(crowd: Crowd, rng: random.Random) -> dict[str, Any]:
    lat, lon = crowd.center
    return {
        "lat": lat + rng.uniform(-0.02, 0.02),
        "lon": lon + rng.uniform(-0.04, 0.04),
        "type": "burglary",
        "priority": rng.randint(1, 3),
        "on_scene_s": 0,
    }


@pytest.mark.slow
async def test_200_incidents_raised_across_three_instances_on_20_docks_none_double_booked(
    tmp_path: Path, database: PgDatabase
) -> None:
    rng = random.Random(12)
    async with (
        MosquittoBroker() as broker,
        Crowd(broker.url, 20, telemetry_hz=1.0, sortie_s=1.0) as crowd,
        Cluster(tmp_path, broker.url, database, crowd, 3, dispatch=BUSY) as cluster,
    ):
        await docks_known(cluster, 20)
        clients = [cluster.client(i) for i in range(3)]
        try:

            async def raise_one(n: int) -> tuple[int, dict[str, Any]]:
                r = await clients[n % 3].post("/api/v1/incidents", json=somewhere(crowd, rng))
                return r.status_code, r.json()

            # all at once, as many in flight as a busy control room sends (the rest wait their
            # turn in the client, not in the service)
            answers = await gather_limited([raise_one(n) for n in range(200)], IN_FLIGHT)
        finally:
            for c in clients:
                await c.aclose()
        by_status = Counter(code for code, _ in answers)
        assert set(by_status) <= {201, 202, 409, 503}, by_status
        assert by_status[201] > 0
        for code, body in answers:
            if code == 409:  # refused: with every dock's reason
                assert body["code"] == "no_dock_available" and len(body["docks"]) == 20
            if code == 503:  # the broker did not take a command in time: said so, and the
                assert body["code"] == "mqtt_unavailable"  # cluster carries the incident on
        rows = await database.fetch("SELECT count(*) FROM incidents")
        assert rows[0][0] == 200

        # the queue is served as sorties end, by all three instances
        served_at_once = by_status[201]

        async def served_more() -> bool:
            rows = await database.fetch(
                "SELECT count(*) FROM incidents WHERE status = ANY($1::text[])", list(SERVED)
            )
            return rows[0][0] >= served_at_once + 20

        await wait_for(served_more, limit_s=180, every=0.5)

    assert crowd.double_booked == 0  # no dock was sent to an incident while out on another
    twice = await database.fetch(
        "SELECT incident_id FROM commands WHERE type = 'dispatch' AND ack_ok"
        " AND gave_up_at IS NULL GROUP BY incident_id HAVING count(*) > 1"
    )
    assert twice == []  # no incident got two docks
    # a dock that accepted after its sender had given up and sent the next one is recalled
    late = await database.fetch(
        "SELECT d.incident_id, d.dock_id FROM commands d WHERE d.type = 'dispatch' AND d.ack_ok"
        " AND d.gave_up_at IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM commands r WHERE r.type = 'recall' AND r.dock_id = d.dock_id"
        " AND r.incident_id = d.incident_id)"
    )
    assert late == []
    statuses = Counter(r["status"] for r in await database.fetch("SELECT status FROM incidents"))
    assert set(statuses) <= SERVED | {"queued", "unassigned", "dispatching"}, statuses

    # the dispatching was spread over the instances
    owners = await database.fetch("SELECT DISTINCT owner FROM dock_assignments")
    assert len(owners) == 3


async def test_an_instance_killed_mid_sortie_and_restarted_loses_no_event_and_stores_none_twice(
    tmp_path: Path, database: PgDatabase
) -> None:
    rng = random.Random(7)
    async with (
        MosquittoBroker() as broker,
        Crowd(broker.url, 12, telemetry_hz=2.0, sortie_s=6.0) as crowd,
        Cluster(tmp_path, broker.url, database, crowd, 3) as cluster,
    ):
        await docks_known(cluster, 12)
        incidents = []
        for n in range(9):
            async with cluster.client(n % 3) as http:
                r = await http.post("/api/v1/incidents", json=somewhere(crowd, rng))
            assert r.status_code == 201, r.text
            incidents.append(r.json()["id"])

        async def airborne() -> bool:
            rows = await database.fetch("SELECT count(*) FROM events WHERE type = 'airborne'")
            return rows[0][0] >= 5

        await wait_for(airborne, limit_s=30)
        await cluster.instances[1].kill()  # mid-sortie: events of its share wait in its session
        await asyncio.sleep(1.5)  # sorties go on meanwhile
        await cluster.restart(1)

        async def docked() -> bool:
            rows = await database.fetch("SELECT count(*) FROM events WHERE type = 'docked'")
            return rows[0][0] >= len(incidents)

        await wait_for(docked, limit_s=60)
        await asyncio.sleep(0.5)

    for incident_id in incidents:
        rows = await database.fetch(
            "SELECT seq, type, at FROM events WHERE incident_id = $1 ORDER BY seq", incident_id
        )
        kinds = [r["type"] for r in rows]
        assert [r["seq"] for r in rows] == list(range(1, 8)), (incident_id, kinds)
        assert kinds == SORTIE_EVENTS
        assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
        # each once on the timeline; an event held in the killed instance's session is stored
        # when it comes back, after later ones, and takes its place by its time
        timeline = await database.fetch(
            "SELECT type FROM timeline WHERE incident_id = $1 AND kind = 'event' ORDER BY at, seq",
            incident_id,
        )
        assert [r["type"] for r in timeline] == SORTIE_EVENTS
        [status] = await database.fetch("SELECT status FROM incidents WHERE id = $1", incident_id)
        assert status[0] == "completed"
    stored, audited = await counts(database)
    assert stored == audited == 7 * len(incidents)


async def test_an_instance_that_dies_waiting_for_an_ack_leaves_its_incident_to_another(
    tmp_path: Path, database: PgDatabase
) -> None:
    async with (
        MosquittoBroker() as broker,
        Crowd(broker.url, 1, telemetry_hz=2.0, sortie_s=30.0, ack_delay_s=2.0) as crowd,
        Cluster(tmp_path, broker.url, database, crowd, 3) as cluster,
    ):
        await docks_known(cluster, 1)
        (dock,) = crowd.docks.values()
        async with cluster.client(0) as http:
            raising = asyncio.create_task(
                http.post("/api/v1/incidents", json=somewhere(crowd, random.Random(1)))
            )

            async def sent() -> bool:
                rows = await database.fetch("SELECT count(*) FROM commands")
                return rows[0][0] >= 1

            await wait_for(sent, limit_s=20)
            await cluster.instances[0].kill()  # waiting for the ack, which comes later
            with pytest.raises(Exception):  # noqa: B017 - its connection dies with it
                await raising

        async def taken_over() -> list[Any]:
            rows = await database.fetch("SELECT id, status, dock_id FROM incidents")
            return [r for r in rows if r["status"] in SERVED]

        [incident] = await wait_for(taken_over, limit_s=60)
        assert incident["dock_id"] == dock.dock_id
        lines = await database.fetch(
            "SELECT text FROM timeline WHERE incident_id = $1 ORDER BY seq", incident["id"]
        )
        assert any("taken over from dispatch-0" in r["text"] for r in lines)
    assert dock.incidents == [incident["id"]]  # sent once, not again by the instance taking over
    assert crowd.double_booked == 0


async def test_3000_events_published_while_an_instance_is_killed_and_restarted_stored_once(
    tmp_path: Path, database: PgDatabase
) -> None:
    events = 3000
    fleet = Fleet(10)
    async with (
        MosquittoBroker() as broker,
        Cluster(tmp_path, broker.url, database, fleet, 3) as cluster,
    ):
        messages = fleet.events(events)
        # three publishers, as docks publish side by side
        shares = [messages[i::3] for i in range(3)]
        publishing = asyncio.gather(*(publish(broker.url, share) for share in shares))

        async def some_stored() -> bool:
            return (await counts(database))[0] >= events // 6

        await wait_for(some_stored, limit_s=60)
        await cluster.instances[2].kill()
        killed_with = (await counts(database))[0]
        await asyncio.sleep(1.0)
        await cluster.restart(2)
        await publishing
        assert killed_with < events

        async def all_stored() -> bool:
            return (await counts(database))[0] >= events

        await wait_for(all_stored, limit_s=120, every=0.25)
        await asyncio.sleep(0.5)
    assert await counts(database) == (events, events)
