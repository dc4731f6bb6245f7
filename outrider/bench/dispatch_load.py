"""Dispatch: fleet telemetry load, dock choice at scale, video fan-out; several instances.

Three parts, each its own module (:mod:`outrider.bench.fleet_telemetry`,
:mod:`outrider.bench.dock_choice`, :mod:`outrider.bench.video_fanout`); ``--only`` picks some.
``--instances 1,2,3`` instead measures 1, 2 and 3 instances on one PostgreSQL database
(:mod:`outrider.bench.dispatch_cluster`).
"""

from __future__ import annotations

import argparse
from typing import Any

from outrider.bench import dispatch_cluster

__all__ = ["add_arguments", "measure", "report"]

PARTS = ("telemetry", "choice", "video")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``outrider bench dispatch``."""
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts")
    parser.add_argument("--docks", type=int, default=1000, help="docks publishing telemetry")
    parser.add_argument("--rate-hz", type=float, default=2.0, help="telemetry rate per dock")
    parser.add_argument("--seconds", type=float, default=15.0, help="measurement window per part")
    parser.add_argument("--choice-docks", type=int, default=10_000, help="fleet size for choice")
    parser.add_argument("--viewers", type=int, default=50, help="video viewers")
    parser.add_argument("--fps", type=float, default=15.0, help="ingest frame rate")
    parser.add_argument(
        "--profile", action="store_true", help="video: run dispatch under cProfile, summarise"
    )
    dispatch_cluster.add_arguments(parser)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run the chosen parts; their figures by part (with ``--instances``, the figures of
    several instances, in one object)."""
    if args.instances:
        return dispatch_cluster.run(args)
    from outrider.bench import dock_choice, fleet_telemetry, video_fanout

    parts = args.only or list(PARTS)
    results: dict[str, Any] = {}
    if "choice" in parts:
        results["choice"] = dock_choice.run(args.choice_docks, samples=300)
    if "telemetry" in parts:
        results["telemetry"] = fleet_telemetry.run(args.docks, args.rate_hz, args.seconds)
    if "video" in parts:
        results["video"] = video_fanout.run(args.viewers, args.fps, args.seconds, args.profile)
    return results


def report(results: dict[str, Any]) -> str:
    """One line per part: ``name: key=value, ...``."""
    if "msgs_per_s" in results:
        return dispatch_cluster.report(results)
    return "".join(
        f"{name}: {', '.join(f'{k}={v}' for k, v in result.items())}\n"
        for name, result in results.items()
    )
