"""``outrider demo``: its flags; the work is in :mod:`outrider.demo.app` (imported when run)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]

DEFAULT_CONFIG = Path("configs/demo.toml")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError("must be above 0 and at most 100")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``outrider demo`` to the command line."""
    p = sub.add_parser(
        "demo",
        help="run the whole system in simulation (live table, or a scenario and its report)",
        description="Broker, dispatch and per dock an edge agent, a sim dock, a vehicle and a "
        "synthetic camera, on this machine. Ctrl-C stops everything.",
    )
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="the demo city (TOML)")
    p.add_argument("--scenario", type=Path, metavar="FILE", help="scenario to play (TOML)")
    p.add_argument(
        "--headless", action="store_true", help="no live table: run the scenario, report"
    )
    p.add_argument("--json", action="store_true", help="write the report as JSON on stdout")
    p.add_argument("--speed-factor", type=_positive, metavar="K", help="sim time / wall time")
    p.add_argument("--docks", type=int, metavar="N", help="run the first N docks of the city")
    p.add_argument("--vehicle", choices=["sim", "px4"], default="sim", help="vehicle of each dock")
    p.add_argument("--px4-build", type=Path, metavar="DIR", help="PX4 SITL build directory")
    p.add_argument("--mqtt", metavar="URL", help="use this broker instead of the embedded one")
    p.add_argument("--port", type=int, metavar="P", help="dispatch HTTP port (0: any free one)")
    p.add_argument("--state-dir", type=Path, default=Path("state/demo"), metavar="DIR")
    p.add_argument("--no-video", action="store_true", help="fly without cameras and detector")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import os

    from outrider.demo.app import DemoOptions, run_demo

    px4_build = args.px4_build
    if px4_build is None and args.vehicle == "px4" and os.environ.get("OUTRIDER_PX4_BUILD"):
        px4_build = Path(os.environ["OUTRIDER_PX4_BUILD"])
    options = DemoOptions(
        config=args.config,
        scenario=args.scenario,
        headless=args.headless,
        json=args.json,
        speed_factor=args.speed_factor,
        docks=args.docks,
        vehicle=args.vehicle,
        px4_build=px4_build,
        mqtt=args.mqtt,
        port=args.port,
        state_dir=args.state_dir,
        video=not args.no_video,
    )
    return run_demo(options)
