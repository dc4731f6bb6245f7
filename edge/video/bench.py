"""Video: detector frames/s per runtime vs Ultralytics PyTorch, full pipeline fps and latency.

Every figure comes from one run on this machine, so the ratios (pipeline ÷ bare detector,
default runtime ÷ Ultralytics PyTorch predict) compare like with like even when the CPU is
shared. Frames are the sample photographs scaled to the pipeline's resolution.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``outrider bench video``."""
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--model", type=Path, help="model file (default $OUTRIDER_MODEL)")
    parser.add_argument("--frames", type=int, default=100, help="frames per bare-detector run")
    parser.add_argument("--seconds", type=float, default=10.0, help="pipeline measuring time")
    parser.add_argument("--threads", type=int, help="detector CPU threads (default cores - 1)")
    parser.add_argument(
        "--camera-fps", type=float, default=60.0, help="camera rate, above the detector's"
    )
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print the figures."""
    import asyncio

    from edge.video.benchrun import measure

    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    with contextlib.redirect_stdout(sys.stderr):  # libraries' chatter stays off the report
        report = asyncio.run(measure(args))
    if args.json:
        sys.stdout.write(json.dumps(report, indent=1) + "\n")
    else:
        _print(report)
    return 0


def _print(r: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"video on {r['cores']} cores: {Path(r['model']).name}, {r['frame']}")
    table.add_column("what")
    table.add_column("figure", justify="right")
    for key, fps in r["bare_fps"].items():
        note = " (its predictor, own threads)" if key in r["notes"] else ""
        table.add_row(f"bare detector, {key}{note}", f"{fps:.1f} fps")
    torch = r["ultralytics_torch_fps"]
    table.add_row("Ultralytics PyTorch predict", f"{torch:.1f} fps" if torch else "n/a")
    table.add_row(
        f"pipeline ({r['default_runtime']}, {r['threads']} threads)", f"{r['pipeline_fps']:.1f} fps"
    )
    table.add_row("pipeline ÷ bare detector", f"{r['pipeline_over_bare']:.2f}")
    if r["default_over_torch"]:
        table.add_row("default runtime ÷ PyTorch", f"{r['default_over_torch']:.2f}")
    table.add_row(
        "capture → sent p50 / p95", f"{r['latency_ms_p50']:.0f} / {r['latency_ms_p95']:.0f} ms"
    )
    table.add_row("CPU while streaming", f"{r['cpu_percent']:.0f} % of one core")
    Console().print(table)
