"""Sim vehicle: vehicles one core sustains at PX4's telemetry rates, and 1 km sortie wall times.

Capacity: N vehicles run in one process (so on one core at most) while a thread of this
process counts every datagram they send; N grows until the rate delivered falls below 95 % of
PX4's. Sortie: one vehicle flown through MAVSDK, take-off to 40 m, a 500 m
leg at 10 m/s, RTL at 10 m/s (MPC_XY_CRUISE), landing and auto-disarm: 1 km over the ground.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import selectors
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["add_arguments", "measure", "report"]

COUNTS = (1, 10, 20, 40, 60, 80, 120)
SUSTAINED_SHARE = 0.95


@dataclass
class Capacity:
    """One capacity run: N vehicles in one process."""

    vehicles: int
    msgs_per_vehicle_s: float
    expected_per_vehicle_s: float
    cpu_pct: float

    @property
    def sustained(self) -> bool:
        return self.msgs_per_vehicle_s >= SUSTAINED_SHARE * self.expected_per_vehicle_s


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``outrider bench sim``."""
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring window per run")
    parser.add_argument("--quick", action="store_true", help="skip the real-time sortie")


class _Receiver:
    """Counts datagrams on many UDP sockets from a thread of its own (cheaper than asyncio)."""

    def __init__(self, n: int) -> None:
        self.sockets = []
        for _ in range(n):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            self.sockets.append(sock)
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)

    @property
    def ports(self) -> str:
        return ",".join(str(s.getsockname()[1]) for s in self.sockets)

    def _drain(self) -> None:
        with selectors.DefaultSelector() as sel:
            for sock in self.sockets:
                sel.register(sock, selectors.EVENT_READ, data=sock)
            while not self._stop.is_set():
                for key, _ in sel.select(0.1):
                    ready: socket.socket = key.data
                    with contextlib.suppress(BlockingIOError):
                        while True:
                            ready.recv(2048)
                            self.count += 1

    def __enter__(self) -> _Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _expected_rate() -> float:
    from sim.vehicle.mavlink.messages import MSG
    from sim.vehicle.mavlink.streams import PX4_RATES_HZ

    return sum(hz for mid, hz in PX4_RATES_HZ.items() if mid != MSG.ORBIT_EXECUTION_STATUS)


async def _capacity(n: int, seconds: float) -> Capacity:
    with _Receiver(n) as receiver:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sim.vehicle", "--count", str(n), "--port", receiver.ports,
            "--local-port", "0", "--control-port", "0", "--exit-on-stdin-eof",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            for _ in range(n):
                await asyncio.wait_for(proc.stdout.readline(), 60)
            await asyncio.sleep(1.0)  # let every stream settle into its rate
            start_count, start_cpu = receiver.count, _cpu_seconds(proc.pid)
            start = time.monotonic()
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - start
            cpu = _cpu_seconds(proc.pid) - start_cpu
            sent = receiver.count - start_count
        finally:
            proc.terminate()
            await proc.wait()
    return Capacity(n, sent / elapsed / n, _expected_rate(), 100.0 * cpu / elapsed)


async def _sortie(speed_factor: float) -> dict[str, float]:
    from edge.geo import LatLon, destination
    from sim.mavsdk_pilot import Pilot, Waypoint, mission_items
    from sim.vehicle.launch import launch

    params = {"MPC_XY_CRUISE": 10.0}
    async with launch(speed_factor=speed_factor, params=params) as vehicle:
        truth = await vehicle.truth()
        home = LatLon(truth["lat"], truth["lon"])
        far = destination(home, 45.0, 500.0)
        async with Pilot(vehicle.url, timeout_s=120) as pilot:
            await pilot.wait_healthy()
            await pilot.upload(mission_items([Waypoint(far.lat, far.lon, 40.0, 10.0)]))
            await asyncio.sleep(1.5)  # PX4 takes a moment to accept a first mission
            start, sim_start = time.monotonic(), (await vehicle.truth())["sim_time_s"]
            await pilot.arm()
            await pilot.start_mission()
            await pilot.wait_mission_done(timeout_s=1200)
            await pilot.call("rtl", pilot.action.return_to_launch())
            await pilot.wait_landed_and_disarmed(timeout_s=1200)
            end = await vehicle.truth()
    return {
        "speed_factor": speed_factor,
        "wall_s": round(time.monotonic() - start, 1),
        "sim_s": round(end["sim_time_s"] - sim_start, 1),
        "battery_used_pct": round(100.0 - end["battery_pct"], 1),
        "landed_from_home_m": round(end["home_dist_m"], 2),
    }


async def _bench(args: argparse.Namespace) -> dict[str, Any]:
    runs: list[Capacity] = []
    for n in COUNTS:
        result = await _capacity(n, args.seconds)
        runs.append(result)
        if not result.sustained:
            break
    sustained = max((r.vehicles for r in runs if r.sustained), default=0)
    ten = next((r for r in runs if r.vehicles == 10), runs[-1])
    sorties = [await _sortie(10.0)] + ([] if args.quick else [await _sortie(1.0)])
    per_vehicle = ten.cpu_pct / ten.vehicles
    return {
        "telemetry_msgs_per_vehicle_s": round(ten.expected_per_vehicle_s, 1),
        "cpu_pct_of_a_core_per_vehicle": round(per_vehicle, 2),
        "vehicles_per_core_by_cpu": int(100.0 / per_vehicle),
        "vehicles_sustained_on_one_core": sustained,
        "capacity_runs": [
            {**asdict(r), "sustained": r.sustained, "cpu_pct": round(r.cpu_pct, 1)} for r in runs
        ],
        "sortie_1km": sorties,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Capacity runs until one core falls behind, then the 1 km sorties."""
    return asyncio.run(_bench(args))


def report(results: dict[str, Any]) -> str:
    """The figures as readable lines."""
    lines = [
        f"telemetry per vehicle: {results['telemetry_msgs_per_vehicle_s']} msg/s (PX4's rates)",
        f"CPU per vehicle: {results['cpu_pct_of_a_core_per_vehicle']} % of one core "
        f"(a whole core would carry {results['vehicles_per_core_by_cpu']})",
        f"vehicles sustained by one process here: {results['vehicles_sustained_on_one_core']}"
        f" (load average {results['load_average']:.1f} on {results['cpus']} cores)",
    ]
    for r in results["capacity_runs"]:
        lines.append(
            f"  {r['vehicles']:4d} vehicles: {r['msgs_per_vehicle_s']:6.1f} msg/s each, "
            f"{r['cpu_pct']:5.1f} % CPU{'' if r['sustained'] else '  (falls behind)'}"
        )
    for s in results["sortie_1km"]:
        lines.append(
            f"1 km sortie at speed factor {s['speed_factor']:g}: {s['wall_s']} s wall "
            f"({s['sim_s']} s simulated, {s['battery_used_pct']} % battery)"
        )
    return "\n".join(lines) + "\n"
