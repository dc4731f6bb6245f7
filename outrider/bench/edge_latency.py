"""Edge agent: command to ack and to arm, dispatch to airborne, time to scene vs ideal.

Runs a real broker, a sim vehicle (child process) and one edge agent with a sim dock, and a
control-room client that times what it sees:

1. **commands**: ``--dispatches`` dispatch cycles (dispatch, then recall once armed): command
   published → ack received by the client, and command received → arm sent (the edge's own
   measure, in the ``armed`` event); the same for pings;
2. **launch**: ``--launches`` dispatches with a 3 s lid at speed factor 1: dispatch published →
   ``airborne`` event received;
3. **transit**: one sortie at speed factor 1: take-off command → ``on_scene``, divided by the
   kinematic ideal at the same climb and cruise speed (climb to transit altitude, then the
   route to the orbit at cruise speed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import socket
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.flight.mission import orbit_entry
from edge.geo import LatLon, destination, distance_m
from edge.protocol import parse_command
from edge.protocol.signing import sign

if TYPE_CHECKING:
    import argparse

    import aiomqtt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from sim.broker import LocalBroker
    from sim.dock import SimDock
    from sim.vehicle import SimVehicleProcess

__all__ = ["add_arguments", "bench", "measure", "percentiles", "report"]

logger = logging.getLogger(__name__)

DOCK = "bench-01"
HOME = LatLon(51.5045, -0.0865)
HOME_AMSL = 31.0
ALT, CRUISE, CLIMB, RADIUS = 40.0, 15.0, 3.0, 30.0


def _broker() -> LocalBroker:
    """Mosquitto with Nagle off (``set_tcp_nodelay``), as a latency-minded service runs it."""
    from sim.broker import MosquittoBroker, local_broker

    if shutil.which("mosquitto"):
        return MosquittoBroker(extra_config="set_tcp_nodelay true\n")
    return local_broker()


class ControlRoom:
    """A dispatch stand-in: publishes signed commands and timestamps every ack and event."""

    def __init__(self, client: aiomqtt.Client, key: Ed25519PrivateKey) -> None:
        self.client = client
        self.key = key
        self.acks: dict[str, float] = {}
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.ready = False
        self.state: dict[str, Any] = {}
        self._seen = asyncio.Condition()

    async def pump(self) -> None:
        loop = asyncio.get_running_loop()
        async for message in self.client.messages:
            now = loop.time()
            kind = str(message.topic).rsplit("/", 1)[-1]
            payload = message.payload if isinstance(message.payload, bytes) else b"{}"
            async with self._seen:
                if kind == "ack":
                    self.acks[json.loads(payload)["cmd_id"]] = now
                elif kind == "events":
                    self.events.append((now, json.loads(payload)))
                elif kind == "state":
                    self.state = json.loads(payload)
                    self.ready = bool(self.state.get("ready"))
                self._seen.notify_all()

    async def send(self, kind: str, body: dict[str, Any] | None = None) -> tuple[str, float]:
        now = datetime.now(UTC)
        cmd_id = uuid.uuid4().hex
        cmd = {
            "v": 1,
            "id": cmd_id,
            "type": kind,
            "dock_id": DOCK,
            "issued_at": now.isoformat(),
            "expires_at": (now + timedelta(seconds=60)).isoformat(),
            "body": body or {},
        }
        payload = sign(parse_command(json.dumps(cmd).encode()), self.key).model_dump_json()
        sent = asyncio.get_running_loop().time()
        await self.client.publish(f"dfr/v1/{DOCK}/cmd", payload, qos=1, timeout=10)
        return cmd_id, sent

    async def ping(self) -> tuple[str, float]:
        return await self.send("ping")

    async def dispatch(self, target: LatLon, duration_s: float = 1.0) -> tuple[str, float]:
        return await self.send(
            "dispatch",
            {
                "incident_id": "BENCH",
                "target": {"lat": target.lat, "lon": target.lon},
                "alt_rel_m": ALT,
                "on_scene": {"pattern": "orbit", "radius_m": RADIUS, "duration_s": duration_s},
            },
        )

    async def until(self, what: str, predicate: Any, within: float = 300.0) -> Any:
        try:
            async with asyncio.timeout(within), self._seen:
                while not (value := predicate()):
                    await self._seen.wait()
                return value
        except TimeoutError:
            last = [e["type"] for _, e in self.events[-12:]]
            raise TimeoutError(
                f"no {what} within {within:g} s; phase {self.state.get('phase')}, "
                f"not ready: {self.state.get('not_ready')}, last events {last}"
            ) from None

    async def ack(self, cmd_id: str) -> float:
        result: float = await self.until("ack", lambda: self.acks.get(cmd_id))
        return result

    async def event(self, kind: str, after: int) -> tuple[float, dict[str, Any]]:
        def find() -> tuple[float, dict[str, Any]] | None:
            return next((e for e in self.events[after:] if e[1]["type"] == kind), None)

        result: tuple[float, dict[str, Any]] = await self.until(kind, find)
        return result

    async def settled(self) -> None:
        """Wait for the dock to be docked and ready again."""
        await self.until("ready", lambda: self.ready)


@contextlib.asynccontextmanager
async def _setup(
    speed_factor: float,
) -> AsyncIterator[tuple[ControlRoom, SimDock, SimVehicleProcess]]:
    import aiomqtt

    from dispatch.keys import dock_keys, init_keys
    from edge.agent import EdgeAgent
    from edge.config import load_config
    from edge.protocol.signing import load_private_key
    from sim.dock import SimDock
    from sim.vehicle import launch

    async with contextlib.AsyncExitStack() as stack:
        broker = await stack.enter_async_context(_broker())
        vehicle = await stack.enter_async_context(
            launch(home=(HOME.lat, HOME.lon, HOME_AMSL), speed_factor=speed_factor)
        )

        async def charge(pct: float) -> None:
            await vehicle.charge(pct)

        dock = SimDock(lid_time_s=0.0, charge_pct_per_s=50.0, charge=charge)
        state = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="outrider-bench-")))
        private, public = init_keys(state / "keys")
        dock_key, _ = dock_keys(state / "keys", DOCK)
        config = load_config(
            None,
            dock={"id": DOCK, "home": {"lat": HOME.lat, "lon": HOME.lon, "alt_amsl_m": HOME_AMSL}},
            mqtt={"url": broker.url},
            vehicle={"url": vehicle.url, "params": {"MPC_TKO_RAMP_T": 1.0}},
            flight={"transit_alt_m": ALT, "cruise_mps": CRUISE, "climb_mps": CLIMB},
            signing={"public_key": public, "key": dock_key},
            state_dir=state,
        )
        agent = EdgeAgent(config, dock=dock)
        client = await stack.enter_async_context(
            aiomqtt.Client(
                broker.host,
                broker.port,
                identifier=f"bench-{uuid.uuid4().hex[:6]}",
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            )
        )
        await client.subscribe(f"dfr/v1/{DOCK}/#", qos=1)
        room = ControlRoom(client, load_private_key(private))
        tasks = await stack.enter_async_context(asyncio.TaskGroup())
        running = [tasks.create_task(room.pump()), tasks.create_task(agent.run())]
        try:
            await room.settled()
            yield room, dock, vehicle
        finally:
            for task in running:
                task.cancel()


async def _commands(room: ControlRoom, n: int) -> dict[str, Any]:
    to_ack, to_arm, pings = [], [], []
    target = destination(HOME, 200.0, 1000.0)
    for _ in range(n):
        cmd_id, sent = await room.ping()
        pings.append(await room.ack(cmd_id) - sent)
        after = len(room.events)
        cmd_id, sent = await room.dispatch(target)
        to_ack.append(await room.ack(cmd_id) - sent)
        _, armed = await room.event("armed", after)
        to_arm.append(float(armed["detail"]["since_command_s"]))
        await room.send("recall")
        await room.event("ready", after)
        await room.settled()
        logger.info(
            "dispatch cycle %d: ack %.1f ms, arm %.1f ms",
            len(to_ack),
            1e3 * to_ack[-1],
            1e3 * to_arm[-1],
        )
    return {
        "dispatch_to_ack": percentiles(to_ack),
        "ping_to_ack": percentiles(pings),
        "command_to_arm": percentiles(to_arm),
    }


async def _launches(room: ControlRoom, n: int) -> list[float]:
    times = []
    target = destination(HOME, 200.0, 1000.0)
    for _ in range(n):
        after = len(room.events)
        _, sent = await room.dispatch(target)
        airborne, _ = await room.event("airborne", after)
        times.append(round(airborne - sent, 3))
        logger.info("launch %d: airborne after %.2f s", len(times), times[-1])
        await room.send("recall")
        await room.event("ready", after)
        await room.settled()
    return times


async def _transit(room: ControlRoom, distance: float) -> dict[str, Any]:
    target = destination(HOME, 200.0, distance)
    after = len(room.events)
    await room.dispatch(target, duration_s=1.0)
    armed, _ = await room.event("armed", after)
    arrived, _ = await room.event("on_scene", after)
    await room.event("ready", after)
    route = distance_m(HOME, orbit_entry(target, RADIUS, HOME))
    ideal = ALT / CLIMB + route / CRUISE
    measured = arrived - armed
    return {
        "measured_s": round(measured, 2),
        "ideal_s": round(ideal, 2),
        "route_m": round(route, 1),
        "ratio": round(measured / ideal, 4),
    }


async def bench(
    *, dispatches: int, launches: int, distance_m: float, speed_factor: float
) -> dict[str, Any]:
    """All three measurements; figures keyed as :func:`report` prints them."""
    figures: dict[str, Any] = {"speed_factor_commands": speed_factor}
    async with _setup(speed_factor) as (room, dock, vehicle):
        figures.update(await _commands(room, dispatches))
        dock.lid_time_s = 3.0
        await vehicle.set_speed_factor(1.0)
        figures["dispatch_to_airborne_s"] = await _launches(room, launches)
        figures["time_to_scene"] = await _transit(room, distance_m)
    return figures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``outrider bench edge``."""
    parser.add_argument("--dispatches", type=int, default=50, help="dispatch cycles (>= 50)")
    parser.add_argument("--launches", type=int, default=5, help="launches with a 3 s lid")
    parser.add_argument("--distance-m", type=float, default=1000.0, help="transit distance")
    parser.add_argument("--speed-factor", type=float, default=20.0, help="sim speed, commands")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run the three measurements with the command line's counts."""
    return asyncio.run(
        bench(
            dispatches=args.dispatches,
            launches=args.launches,
            distance_m=args.distance_m,
            speed_factor=args.speed_factor,
        )
    )


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p99 and max of ``samples`` in milliseconds (from seconds)."""
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p99_ms": round(1000 * p99, 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def report(figures: dict[str, Any]) -> str:
    """The figures as a few readable lines."""
    lines = ["outrider bench edge"]
    for key, title in (
        ("dispatch_to_ack", "dispatch published -> ack received"),
        ("ping_to_ack", "ping published -> ack received"),
        ("command_to_arm", "command received -> arm sent"),
    ):
        p = figures.get(key, {})
        if p.get("n"):
            lines.append(
                f"  {title:38s} n={p['n']:3d}  p50 {p['p50_ms']:7.1f} ms  "
                f"p99 {p['p99_ms']:7.1f} ms  max {p['max_ms']:7.1f} ms"
            )
    airborne = figures.get("dispatch_to_airborne_s", [])
    if airborne:
        lines.append(
            f"  {'dispatch -> airborne (3 s lid)':38s} n={len(airborne):3d}  "
            f"median {statistics.median(airborne):.2f} s  max {max(airborne):.2f} s"
        )
    scene = figures.get("time_to_scene")
    if scene:
        lines.append(
            f"  {'time to scene / kinematic ideal':38s} {scene['ratio']:.3f}  "
            f"({scene['measured_s']:.1f} s vs {scene['ideal_s']:.1f} s, "
            f"{scene['route_m']:.0f} m)"
        )
    return "\n".join(lines) + "\n"
