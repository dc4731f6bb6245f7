"""``outrider bench NAME``: the one runner of Outrider's benchmarks (figures, not timed tests).

Each benchmark is one module of this package, named for what it measures, with a docstring
whose first line is its help, and three functions:

- ``add_arguments(parser)``: its options (the runner adds ``--json`` to every benchmark);
- ``measure(args) -> dict``: runs it and returns the figures (JSON-serialisable);
- ``report(figures) -> str``: the figures as readable lines.

Adding a benchmark is one module plus one line in :data:`BENCHES`. Benchmark modules may
import every package (they start brokers, sim vehicles and dispatch processes); nothing but
this runner imports them.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys

__all__ = ["BENCHES", "register", "run"]

BENCHES: dict[str, str] = {
    "dispatch": "outrider.bench.dispatch_load",
    "ingest": "outrider.bench.event_ingest",
    "video": "outrider.bench.video_throughput",
    "relay": "outrider.bench.video_cluster",
    "edge": "outrider.bench.edge_latency",
    "sim": "outrider.bench.sim_vehicles",
    "detection": "outrider.bench.detection_accuracy",
    "scene": "outrider.bench.scene_view",
}
"""Benchmark name on the command line -> its module."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``outrider bench NAME`` for every benchmark."""
    parser = sub.add_parser("bench", help="measure throughput and latency of a part")
    names = parser.add_subparsers(dest="bench", required=True, metavar="NAME")
    for name, module_name in BENCHES.items():
        module = importlib.import_module(module_name)
        bench = names.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(bench)
        bench.add_argument("--json", action="store_true", help="print the figures as JSON")
        bench.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark ``args.bench`` and print its figures (JSON with ``--json``)."""
    module = importlib.import_module(BENCHES[args.bench])
    with contextlib.redirect_stdout(sys.stderr):  # libraries' chatter stays off the report
        figures = module.measure(args)
    sys.stdout.write(json.dumps(figures, indent=2) + "\n" if args.json else module.report(figures))
    return 0
