"""``python -m sim.vehicle``: the same as ``outrider sim vehicle``, for the launcher's child."""

from __future__ import annotations

import argparse
import logging
import sys

from edge.errors import OutriderError
from sim.cli import add_vehicle_arguments, config_from_args
from sim.vehicle.serve import run_vehicles


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.vehicle")
    add_vehicle_arguments(parser)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        configs = [config_from_args(args, i) for i in range(max(1, args.count))]
    except OutriderError as exc:
        sys.stderr.write(f"sim vehicle: {exc}\n")
        return 2
    return run_vehicles(configs, exit_on_stdin_eof=args.exit_on_stdin_eof)


if __name__ == "__main__":
    sys.exit(main())
