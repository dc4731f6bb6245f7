"""Edge agent benchmark: command to ack and to arm, dispatch to airborne, time to scene vs ideal.

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

import argparse
import json
import statistics
import sys
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``outrider bench edge``."""
    parser.add_argument("--dispatches", type=int, default=50, help="dispatch cycles (>= 50)")
    parser.add_argument("--launches", type=int, default=5, help="launches with a 3 s lid")
    parser.add_argument("--distance-m", type=float, default=1000.0, help="transit distance")
    parser.add_argument("--speed-factor", type=float, default=20.0, help="sim speed, commands")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print its figures."""
    import asyncio

    from edge.benchrun import bench

    figures = asyncio.run(
        bench(
            dispatches=args.dispatches,
            launches=args.launches,
            distance_m=args.distance_m,
            speed_factor=args.speed_factor,
        )
    )
    if args.json:
        sys.stdout.write(json.dumps(figures, indent=2) + "\n")
    else:
        sys.stdout.write(report(figures))
    return 0


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
