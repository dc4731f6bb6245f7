"""Dispatch benchmarks: fleet telemetry load, dock choice at scale, video fan-out."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_arguments", "run"]

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
    parser.add_argument("--json", action="store_true", help="print results as JSON")


def _line(name: str, result: dict[str, Any]) -> str:
    figures = ", ".join(f"{k}={v}" for k, v in result.items())
    return f"{name}: {figures}\n"


def run(args: argparse.Namespace) -> int:
    """Run the chosen parts and print their figures."""
    from dispatch.bench import choice, telemetry, video

    parts = args.only or list(PARTS)
    results: dict[str, dict[str, Any]] = {}
    if "choice" in parts:
        results["choice"] = choice.run(args.choice_docks, samples=300)
    if "telemetry" in parts:
        results["telemetry"] = telemetry.run(args.docks, args.rate_hz, args.seconds)
    if "video" in parts:
        results["video"] = video.run(args.viewers, args.fps, args.seconds)
    if args.json:
        sys.stdout.write(json.dumps(results, indent=2) + "\n")
    else:
        for name, result in results.items():
            sys.stdout.write(_line(name, result))
    return 0
