"""``outrider bench``: benchmarks of each part, figures for the README (not timed tests)."""

from __future__ import annotations

import argparse
import importlib

# area -> module with ``add_arguments(parser)`` and ``run(args) -> int``.
BENCHES: dict[str, str] = {
    "dispatch": "dispatch.bench",
    "video": "edge.video.bench",
    "edge": "edge.bench",
    "sim": "sim.bench",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``outrider bench <area>`` for every area that has a benchmark."""
    parser = sub.add_parser("bench", help="measure throughput and latency of a part")
    areas = parser.add_subparsers(dest="area", required=True, metavar="AREA")
    for area, module_name in BENCHES.items():
        module = importlib.import_module(module_name)
        area_parser = areas.add_parser(area, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(area_parser)
        area_parser.set_defaults(func=module.run)
